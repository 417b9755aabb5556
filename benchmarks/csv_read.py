"""What checking every CSV line's field count costs: modelward's reader vs plain pandas.

A 1 M-row CSV of the heart-disease columns (14 fields, ~52 MB) is written to a temporary
folder and read alternately by ``modelward.data.read_table`` (pyarrow counts the fields,
then pandas reads) and by ``pandas.read_csv`` alone; the medians of the runs are printed.

    PYTHONPATH=src .venv/bin/python benchmarks/csv_read.py [--rows 1000000] [--runs 7]
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

from modelward.data import read_table

COLUMNS = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal", "target",
]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=7)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    frame = pd.DataFrame({c: rng.integers(0, 300, args.rows) for c in COLUMNS})
    frame["oldpeak"] = rng.random(args.rows).round(2)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "data.csv"
        frame.to_csv(path, index=False)
        times: dict[str, list[float]] = {"modelward read_table": [], "pandas read_csv": []}
        for _ in range(args.runs):
            for name, read in (
                ("modelward read_table", read_table),
                ("pandas read_csv", pd.read_csv),
            ):
                start = time.perf_counter()
                read(path)
                times[name].append(time.perf_counter() - start)
        size = path.stat().st_size / 1e6
    print(f"{args.rows:,} rows, {size:.0f} MB, median of {args.runs} alternating runs:")
    for name, values in times.items():
        print(f"  {name}: {statistics.median(values):.3f} s ({min(values):.3f}-{max(values):.3f})")
    ours, theirs = (statistics.median(v) for v in times.values())
    print(f"  field check costs {ours - theirs:+.3f} s ({ours / theirs - 1:+.0%})")


if __name__ == "__main__":
    main()
