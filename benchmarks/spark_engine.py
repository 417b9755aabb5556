"""Benchmark: the daily checks (metrics, drift, quality) on DuckDB and on Spark, same log.

    python benchmarks/spark_engine.py                       # 10 M rows, local[*]
    python benchmarks/spark_engine.py --rows 1000000 --repeat 3
    python benchmarks/spark_engine.py --master spark://HOST:7077

The log is :mod:`monitoring`'s (``build(rows)``: one day of the heart-disease model's
predictions, every one labelled, compacted as ``modelward logs compact`` leaves a day;
cached in benchmarks/.work). Each engine runs in a fresh process, ``--repeat`` times,
alternating: ``Monitor.metrics`` + ``Monitor.drift`` + ``Monitor.quality`` over the day,
not stored, no alerts. The figures are the median run's wall time of the three checks
(reading included; Spark's session start, a JVM, timed apart, as a long-lived process
or a cluster pays it once) and its process's peak RSS (the driver's: Spark's executors
are the JVM's, reported as the JVM's RSS). ``agreement:`` says whether both engines gave
the same results, verdicts, breaches and warnings, value for value.

On one machine DuckDB wins: it reads Parquet in process, vectorised, where Spark plans
each statement, ships tasks to executors and pays a JVM. Spark is for a log that one
machine cannot read in time: docs/monitor.md ("Engines: DuckDB and Spark") says where
that begins.
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
sys.path.insert(0, str(HERE))

from monitoring import DAY, NAME, _peak_mb, build  # noqa: E402 - beside this file

CHECKS = ("metrics", "drift", "quality")


def _jvm_mb() -> float | None:
    """The RSS of this process's Spark JVM (its child ``java``), from /proc."""
    me = str(os.getpid())
    for status in Path("/proc").glob("[0-9]*/status"):
        try:
            fields = dict(
                line.split(":", 1) for line in status.read_text().splitlines() if ":" in line
            )
        except OSError:
            continue
        if fields.get("PPid", "").strip() == me and fields.get("Name", "").strip() == "java":
            return int(fields.get("VmHWM", "0 kB").split()[0]) / 1024
    return None


def run(engine: str, folder: Path, master: str) -> dict[str, Any]:
    """The daily checks of ``folder``'s log on ``engine``, timed (a child's work)."""
    import modelward.monitoring.checks  # noqa: F401 - imports are outside the timing
    from modelward import Workspace
    from modelward.monitoring import Monitor

    ws = Workspace.open(folder / "ws")
    options = {"spark_master": master} if engine == "spark" else {}
    monitor = Monitor(ws, alert=False, engine=engine, **options)
    started = time.perf_counter()
    if engine == "spark":
        from modelward.predlog.engines.spark import session

        session(master)
    start_seconds = time.perf_counter() - started
    until = f"{DAY}T23:59:59.999999+00:00"
    started = time.perf_counter()
    found = {
        check: getattr(monitor, check)(NAME, last="24h", until=until, record=False)
        for check in CHECKS
    }
    seconds = time.perf_counter() - started
    outcomes = {
        check: {
            "results": r.results,
            "verdict": r.verdict,
            "breaches": r.breaches,
            "warnings": r.warnings,
        }
        for check, r in found.items()
    }
    monitor.log.close()
    ws.close()
    return {
        "seconds": seconds,
        "start_seconds": start_seconds,
        "peak_mb": _peak_mb(),
        "jvm_mb": _jvm_mb(),
        "outcomes": json.loads(json.dumps(outcomes, default=str)),
    }


def _child(engine: str, folder: Path, master: str) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--child", engine, "--folder", str(folder), "--master", master],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise SystemExit(f"{engine} failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def _differences(a: Any, b: Any, path: str = "") -> list[str]:
    """Where two JSON values differ (key paths), exactly."""
    if isinstance(a, dict) and isinstance(b, dict):
        keys = sorted(set(a) | set(b))
        return [d for k in keys for d in _differences(a.get(k), b.get(k), f"{path}.{k}")]
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differences(x, y, f"{path}[{i}]")
        ]
    return [] if a == b else [path or "."]


def _load() -> str:
    return "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--master", default="local[*]", help="Spark's master URL")
    parser.add_argument("--child", choices=("duckdb", "spark"), help=argparse.SUPPRESS)
    parser.add_argument("--folder", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        print(json.dumps(run(args.child, args.folder, args.master)))
        return
    print(f"building (or reusing) a {args.rows:,}-row day ...", flush=True)
    folder = build(args.rows)
    print(f"load average at the start: {_load()} ({os.cpu_count()} cores)")
    runs: dict[str, list[dict[str, Any]]] = {"duckdb": [], "spark": []}
    for _ in range(args.repeat):
        for engine in runs:
            runs[engine].append(_child(engine, folder, args.master))
    print(f"daily checks ({', '.join(CHECKS)}) on {args.rows:,} rows, median of {args.repeat}:")
    for engine, done in runs.items():
        median = sorted(done, key=lambda r: r["seconds"])[len(done) // 2]
        start = f", session start {median['start_seconds']:.1f} s" if engine == "spark" else ""
        jvm = f", JVM {median['jvm_mb']:.0f} MB" if median.get("jvm_mb") else ""
        where = args.master if engine == "spark" else "in process"
        print(
            f"  {engine:<6} {median['seconds']:7.2f} s{start}  "
            f"(peak RSS {median['peak_mb']:.0f} MB{jvm}; {where})"
        )
    differ = _differences(runs["duckdb"][0]["outcomes"], runs["spark"][0]["outcomes"])
    print(
        "agreement:", "identical results" if not differ else f"differ at {', '.join(differ[:10])}"
    )
    print(f"load average at the end: {_load()}")


if __name__ == "__main__":
    main()
