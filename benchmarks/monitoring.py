"""Benchmark: the full daily monitoring check against Evidently, side by side.

    python benchmarks/monitoring.py                  # 1M rows vs Evidently, then 1M/3M/10M ours
    python benchmarks/monitoring.py --no-scale --repeat 5
    python benchmarks/monitoring.py --skip-evidently

A synthetic prediction log is sampled from the four UCI hospitals with jitter (continuous
features get Gaussian noise of 2 % of their spread), scored by a logistic-regression
pipeline trained on Cleveland, and written in the serving contract's layout as
``modelward logs compact`` leaves a closed day (one file per day, the log's Parquet
options, row groups of ``ROW_GROUP_ROWS``) with every label as feedback, as the server
writes rows: uuid4-hex request ids, nulls for missing inputs. Both tools then run "the
daily check":
5 classification metrics + drift on 13 features (+ data quality for modelward) over that
day, against the Cleveland reference.

- modelward: ``Monitor.metrics`` + ``Monitor.drift`` + ``Monitor.quality`` on the log,
  in place (DuckDB), results stored in the workspace;
- Evidently 0.7.23 (``DataDriftPreset`` + ``ClassificationPreset``) in its own virtual
  environment (benchmarks/.venv-evidently, created on first run with pandas 2.3, which
  it needs), reading the same Parquet files with pandas and joining the labels.

Each side runs in a fresh process, ``--repeat`` times (default 3), alternating; the
figures are the median run's wall time of the work (reading included, interpreter start
and imports excluded) and its process's peak RSS, and the ratio is that of the medians
(this machine's timings vary by ~10 % run to run: fresh memory is slow to touch). The
line ``agreement:`` says whether both sides computed the same metrics and distances.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
PEER_VENV = HERE / ".venv-evidently"
PEER_PINS = ["evidently==0.7.23", "pandas>=2.3,<3", "pyarrow", "scikit-learn"]
FEATURES = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
]  # fmt: skip
NUMERIC = ["age", "trestbps", "chol", "thalach", "oldpeak"]
CATEGORICAL = [f for f in FEATURES if f not in NUMERIC]
DAY = "2026-11-02"
CHUNK = 1_000_000


def _peak_mb() -> float:
    """This process's peak RSS. Linux's ``ru_maxrss`` keeps the peak of the process that
    forked it across ``exec`` (a child started after building a 10 M-row log reported the
    builder's gigabyte), so read the memory map's own high-water mark where there is one."""
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- data ---------------------------------------------------------------------------------


def build(rows: int) -> Path:
    """A workspace with the Cleveland model and a log of ``rows`` predictions (cached)."""
    folder = WORK / f"day-{rows}-v4"
    if (folder / "ready").exists():
        return folder
    import shutil

    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    from modelward import Workspace
    from modelward.data import read_data
    from modelward.predlog.compact import ROW_GROUP_ROWS
    from modelward.predlog.layout import parquet_options

    shutil.rmtree(folder, ignore_errors=True)
    heart = read_data(ROOT / "examples" / "heart-disease" / "heart.yml")
    cleveland = heart[heart.site == "cleveland"].drop(columns="site").reset_index(drop=True)
    model = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    )
    model.fit(cleveland[FEATURES], cleveland["target"])
    ws = Workspace.init(folder / "ws")
    ws.register("heart", model, data=cleveland, target="target")
    reference = cleveland.copy()
    proba = model.predict_proba(reference[FEATURES])[:, 1]
    reference["prediction"] = (proba >= 0.5).astype(int)
    reference["score"] = proba
    reference.to_parquet(folder / "reference.parquet")
    rng = np.random.default_rng(0)
    pool = heart.drop(columns="site").reset_index(drop=True)
    spread = {f: float(pool[f].std()) for f in NUMERIC}
    logs = Path(ws.logs_url)
    start = pd.Timestamp(f"{DAY}T00:00:00", tz="UTC")
    step = 86_400_000_000 // rows  # microseconds between predictions
    writers: dict[str, pq.ParquetWriter] = {}

    def write(kind: str, table: pa.Table) -> None:
        if kind not in writers:
            part = logs / kind / "model=heart" / f"date={DAY}"
            part.mkdir(parents=True, exist_ok=True)
            writers[kind] = pq.ParquetWriter(
                part / "compacted-bench.parquet",
                table.schema,
                **parquet_options(table),
            )
        writers[kind].write_table(table, row_group_size=ROW_GROUP_ROWS)

    done = 0
    while done < rows:
        n = min(CHUNK, rows - done)
        sample = pool.iloc[rng.integers(0, len(pool), n)].reset_index(drop=True)
        for f in NUMERIC:
            sample[f] = sample[f] + rng.normal(0, 0.02 * spread[f], n)
        proba = model.predict_proba(sample[FEATURES])[:, 1]
        # the server's request ids (uuid4 hex) and its nulls for missing inputs
        raw = rng.bytes(16 * n).hex()
        ids = np.array([raw[i : i + 32] for i in range(0, 32 * n, 32)], dtype=object)
        ts = start + pd.to_timedelta(np.arange(done, done + n) * step, unit="us")
        table = pa.table(
            {
                "request_id": ids,
                "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
                "version": np.ones(n, "int64"),
                "environment": np.full(n, "production", object),
                "status": np.full(n, "ok", object),
                "error": pa.nulls(n, pa.string()),
                "latency_ms": rng.gamma(2.0, 3.0, n),
                "prediction": np.where(proba >= 0.5, "1", "0").astype(object),
                "score": proba,
                "proba": pa.nulls(n, pa.string()),
                **{
                    f"in_{f}": pa.array(sample[f].to_numpy("float64"), from_pandas=True)
                    for f in FEATURES
                },
            }
        )
        write("predictions", table)
        feedback = pa.table(
            {
                "request_id": ids,
                "ts": pa.array(ts + pd.Timedelta(minutes=30), pa.timestamp("us", tz="UTC")),
                "label": sample["target"].astype(str).to_numpy(object),
            }
        )
        write("feedback", feedback)
        done += n
    for writer in writers.values():
        writer.close()
    ws.close()
    (folder / "ready").write_text("ok")
    return folder


# -- the two sides --------------------------------------------------------------------------


def run_ours(folder: Path) -> dict:
    import sqlite3  # noqa: F401 - imports are outside the timing, as for Evidently

    import duckdb  # noqa: F401
    import fsspec  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.parquet  # noqa: F401
    import scipy.stats  # noqa: F401
    import sklearn.metrics  # noqa: F401

    # the checks' own modules, as Evidently's presets are imported before its timing
    import modelward.data.profile  # noqa: F401
    import modelward.monitoring.checks  # noqa: F401
    import modelward.monitoring.metrics  # noqa: F401
    import modelward.monitoring.samples  # noqa: F401
    import modelward.predlog.reader  # noqa: F401 - its listing reads compaction marks
    import modelward.stats  # noqa: F401
    from modelward import Workspace

    ws = Workspace.open(folder / "ws")
    monitor = ws.monitor
    monitor.alert = False
    until = f"{DAY}T23:59:59.999999+00:00"
    started = time.perf_counter()
    metrics = monitor.metrics("heart", last="24h", until=until)
    drift = monitor.drift("heart", last="24h", until=until)
    quality = monitor.quality("heart", last="24h", until=until)
    seconds = time.perf_counter() - started
    values = metrics.results["versions"]["v1"]["metrics"]
    scores = {f: entry.score for f, entry in drift.features.items() if entry.score is not None}
    return {
        "seconds": seconds,
        "peak_mb": _peak_mb(),
        "accuracy": values["accuracy"]["value"],
        "roc_auc": values["roc_auc"]["value"],
        "drifted": sorted(drift.results["drifted"]),
        "drift": {f: [s.method, s.statistic] for f, s in scores.items()},
        "quality_breaches": len(quality.breaches),
    }


def run_evidently(folder: Path) -> dict:
    import warnings

    warnings.filterwarnings("ignore")
    import pandas as pd
    from evidently import BinaryClassification, DataDefinition, Dataset, Report
    from evidently.presets import ClassificationPreset, DataDriftPreset

    logs = folder / "ws" / "logs"
    started = time.perf_counter()
    columns = ["request_id", "prediction", "score", *(f"in_{f}" for f in FEATURES)]
    current = pd.read_parquet(logs / "predictions" / "model=heart", columns=columns)
    feedback = pd.read_parquet(logs / "feedback" / "model=heart", columns=["request_id", "label"])
    current = current.merge(feedback, on="request_id", how="left").drop(columns="request_id")
    current = current.rename(columns={f"in_{f}": f for f in FEATURES})
    current["target"] = current.pop("label").astype(int)
    current["prediction"] = current["prediction"].astype(int)
    reference = pd.read_parquet(folder / "reference.parquet")
    definition = DataDefinition(
        numerical_columns=NUMERIC + ["score"],
        categorical_columns=CATEGORICAL,
        classification=[
            BinaryClassification(
                target="target",
                prediction_labels="prediction",
                prediction_probas="score",
                pos_label=1,
            )
        ],
    )
    report = Report([DataDriftPreset(columns=FEATURES), ClassificationPreset()])
    snapshot = report.run(
        Dataset.from_pandas(current, data_definition=definition),
        Dataset.from_pandas(reference, data_definition=definition),
    )
    body = snapshot.dict()
    seconds = time.perf_counter() - started
    found: dict[str, Any] = {"drift": {}, "drifted": []}
    for metric in body.get("metrics", []):
        config = metric.get("config", {})
        kind = str(config.get("type", "")).rpartition(":")[2]
        if kind in ("Accuracy", "RocAuc"):
            found["accuracy" if kind == "Accuracy" else "roc_auc"] = float(metric["value"])
        elif kind == "ValueDrift":
            column, method, value = config["column"], config["method"], float(metric["value"])
            found["drift"][column] = [method, value]
            crossed = (
                value < config["threshold"]
                if "p_value" in method
                else (value >= config["threshold"])
            )
            if crossed:
                found["drifted"].append(column)
    found["drifted"].sort()
    return {"seconds": seconds, "peak_mb": _peak_mb(), **found}


def agreement(ours: dict, peer: dict) -> str:
    """Whether the two sides computed the same thing: our metrics come from a consistent
    hash sample of about 100 000 requests (docs/monitor.md: a rate's standard error is at
    most 0.0011), so they must agree with Evidently's over every row within three standard
    errors; and per feature, whether both call it drifted (the tests may differ: on a
    large window Evidently uses Jensen-Shannon for categories, we a z-test / chi-square)."""
    bound = 3 * 0.0011
    lines = []
    for metric in ("accuracy", "roc_auc"):
        gap = abs(ours[metric] - peer[metric])
        verdict = "agrees" if gap <= bound else "DIFFERS"
        lines.append(f"{metric} {verdict} (|Δ| {gap:.1e}, bound {bound:.4f})")
    features = sorted(set(ours["drift"]) | set(peer["drift"]))
    differ = [
        f"{f} (ours {ours['drift'].get(f, ['-'])[0]}: "
        f"{'drifted' if f in ours['drifted'] else 'not'}; Evidently "
        f"{peer['drift'].get(f, ['-'])[0]}: {'drifted' if f in peer['drifted'] else 'not'})"
        for f in features
        if (f in ours["drifted"]) != (f in peer["drifted"])
    ]
    lines.append(
        f"drift verdicts agree on {len(features) - len(differ)} of {len(features)} features"
        + (f"; differ on {', '.join(differ)}" if differ else "")
    )
    return "; ".join(lines)


# -- orchestration --------------------------------------------------------------------------


def _child(python: str, mode: str, folder: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [python, __file__, mode, str(folder)], capture_output=True, text=True, env=env, check=False
    )
    if done.returncode != 0:
        raise SystemExit(f"{mode} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _median(runs: list[dict]) -> dict:
    """The run with the median time (its figures, so they belong together)."""
    return sorted(runs, key=lambda r: r["seconds"])[(len(runs) - 1) // 2]


def _spread(runs: list[dict]) -> str:
    times = sorted(r["seconds"] for r in runs)
    return f"{times[0]:.2f}-{times[-1]:.2f} s"


def ensure_peer() -> str:
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        print(f"creating {PEER_VENV} with {' '.join(PEER_PINS)} …", file=sys.stderr)
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(python), "-m", "pip", "install", "-q", *PEER_PINS], check=True)
    return str(python)


def main() -> None:
    if len(sys.argv) == 3 and sys.argv[1] in ("--ours", "--evidently"):
        folder = Path(sys.argv[2])
        result = run_ours(folder) if sys.argv[1] == "--ours" else run_evidently(folder)
        print(json.dumps(result))
        return
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000, help="rows for the comparison")
    parser.add_argument(
        "--sizes",
        default="1000000,3000000,10000000",
        help="modelward alone at these sizes (linear scaling)",
    )
    parser.add_argument("--no-scale", action="store_true", help="skip the scaling runs")
    parser.add_argument("--skip-evidently", action="store_true")
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of each side, alternating (the medians are compared; default 3)",
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    folder = build(args.rows)
    peer_python = None if args.skip_evidently else ensure_peer()
    ours_runs: list[dict] = []
    peer_runs: list[dict] = []
    for _ in range(args.repeat):  # alternating, so a busy moment of the machine hits both
        ours_runs.append(_child(sys.executable, "--ours", folder))
        if peer_python is not None:
            peer_runs.append(_child(peer_python, "--evidently", folder))
    ours = _median(ours_runs)
    print(
        f"modelward  {args.rows:>10,} rows: {ours['seconds']:7.2f} s, peak {ours['peak_mb']:6.0f}"
        f" MB (median of {len(ours_runs)}: {_spread(ours_runs)}; accuracy "
        f"{ours['accuracy']:.4f}, auc {ours['roc_auc']:.4f}, drifted "
        f"{', '.join(ours['drifted']) or '-'})"
    )
    if peer_runs:
        peer = _median(peer_runs)
        print(
            f"Evidently  {args.rows:>10,} rows: {peer['seconds']:7.2f} s, peak "
            f"{peer['peak_mb']:6.0f} MB (median of {len(peer_runs)}: {_spread(peer_runs)})"
        )
        print(
            f"ratio: modelward is {peer['seconds'] / ours['seconds']:.1f}x faster (run by run "
            + ", ".join(
                f"{p['seconds'] / o['seconds']:.1f}x"
                for o, p in zip(ours_runs, peer_runs, strict=True)
            )
            + f") and uses {peer['peak_mb'] / ours['peak_mb']:.1f}x less memory "
            "(target: >= 50x faster)"
        )
        print(f"agreement: {agreement(ours, peer)}")
    if not args.no_scale:
        sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
        base = None
        for size in sizes:
            result = _child(sys.executable, "--ours", build(size))
            per_m = result["seconds"] / (size / 1e6)
            base = base or per_m
            print(
                f"scale      {size:>10,} rows: {result['seconds']:7.2f} s, peak "
                f"{result['peak_mb']:6.0f} MB, {per_m:.2f} s per million "
                f"({per_m / base:.2f}x the first)"
            )


if __name__ == "__main__":
    main()
