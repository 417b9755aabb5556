"""Benchmark: the full daily monitoring check against Evidently, side by side.

    python benchmarks/monitoring.py                  # 1M rows vs Evidently, then 1M/3M/10M ours
    python benchmarks/monitoring.py --no-scale --repeat 5
    python benchmarks/monitoring.py --skip-evidently
    python benchmarks/monitoring.py --no-scale --repeat 2 --cases compacted,today

Two logs of the same rows (``--cases``):

- ``compacted``: the day as ``modelward logs compact`` leaves it (below);
- ``today``: the day as the server writes it before any compaction, through the real
  :class:`~modelward.predlog.writer.LogWriter` with its write-ahead folder: ``--replicas``
  writers (as ``serve --workers``) each publish a Parquet file per partition when a
  segment reaches the writer's default age (``ROLL_MS``) or rows (``ROLL_ROWS``), the
  rows spread evenly over the day, and the freshest rows stay in the write-ahead
  segments (never published: the writers are not closed), which the checks read too.
  Evidently reads the same Parquet files and the segments' JSON lines.

Besides the in-process timing of the work, each case prints the time **as commands**:
the three ``modelward monitor metrics/drift/quality`` commands, one process each, and
``modelward runbook daily --no-plots`` running the same three in one process (the
workspace's ``monitoring.daily`` set to them; its report written without figures, as
Evidently's side draws none), against Evidently's whole process (interpreter start
and imports included on both sides).

A synthetic prediction log is sampled from the four UCI hospitals with jitter (continuous
features get Gaussian noise of 2 % of their spread), scored by the model a user has:
the one ``modelward train --config examples/heart-disease/configs/logreg.yml`` makes
(Cleveland, its training split registered as the reference), and written in the serving
contract's layout as ``modelward logs compact`` leaves a closed day (one file per day,
the log's Parquet options, row groups of ``ROW_GROUP_ROWS``) with every label as
feedback, as the server writes rows: uuid4-hex request ids, their sample hashes, nulls for
missing inputs.
Both tools then run "the daily check":
5 classification metrics + drift on 13 features (+ data quality for modelward) over that
day, against the Cleveland reference.

- modelward: ``Monitor.metrics`` + ``Monitor.drift`` + ``Monitor.quality`` on the log,
  in place (DuckDB), results stored in the workspace;
- Evidently 0.7.23 (``DataDriftPreset`` + ``ClassificationPreset``) in its own virtual
  environment (benchmarks/.venv-evidently, created on first run with pandas 2.3, which
  it needs), reading the same Parquet files with pandas and joining the labels.

Both sides run from compiled bytecode (``benchmarks/bytecode.py``). Each side runs in a
fresh process, ``--repeat`` times (default 3), alternating; the
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

from bytecode import compile_sources

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work"
PEER_VENV = HERE / ".venv-evidently"
PEER_PINS = ["evidently==0.7.23", "pandas>=2.3,<3", "pyarrow", "scikit-learn"]
FEATURES = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
]  # fmt: skip
#: The model a user trains: ``modelward train --config`` this file (Cleveland, logistic
#: regression with the config's preprocessing), and the feature kinds that config declares.
CONFIG = ROOT / "examples" / "heart-disease" / "configs" / "logreg.yml"
NAME = "heart-disease"
NUMERIC = ["age", "trestbps", "chol", "thalach", "oldpeak", "ca"]
CATEGORICAL = [f for f in FEATURES if f not in NUMERIC]
#: Continuous features, jittered in the synthetic log (``ca`` is a count: left whole).
NOISY = ["age", "trestbps", "chol", "thalach", "oldpeak"]
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
    """A workspace with the model ``modelward train`` makes from :data:`CONFIG` and a log
    of ``rows`` predictions it scored (cached)."""
    folder = WORK / f"day-{rows}-v7"
    if (folder / "ready").exists():
        return folder
    import shutil

    import numpy as np
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq
    from sklearn.model_selection import train_test_split

    from modelward import Workspace
    from modelward.data import read_data
    from modelward.predlog.compact import ROW_GROUP_ROWS
    from modelward.predlog.derive import with_request_columns
    from modelward.predlog.layout import REQUEST_COLUMNS, parquet_options
    from modelward.training.config import load_config
    from modelward.training.train import prepare_data, train_model

    shutil.rmtree(folder, ignore_errors=True)
    config = load_config(CONFIG)
    if (list(config.features.numeric), sorted(config.features.all)) != (NUMERIC, sorted(FEATURES)):
        raise SystemExit(f"{CONFIG} declares other features than this benchmark's")
    ws = Workspace.init(folder / "ws")
    train_model(ws, CONFIG)  # as `modelward train --config CONFIG` does
    model = ws.load_model(NAME, 1).model
    # Evidently's reference: the rows train registered as the reference (its training split)
    data = prepare_data(config, read_data(config.data_ref()), "binary-classification")
    reference, _ = train_test_split(
        data, test_size=config.split.test_size, stratify=data[config.target],
        random_state=config.seed,
    )  # fmt: skip
    reference = reference.reset_index(drop=True)
    proba = model.predict_proba(reference[FEATURES])[:, 1]
    reference["prediction"] = (proba >= 0.5).astype(int)
    reference["score"] = proba
    reference.to_parquet(folder / "reference.parquet")
    heart = read_data(ROOT / "examples" / "heart-disease" / "heart.yml")
    rng = np.random.default_rng(0)
    pool = heart.drop(columns="site").reset_index(drop=True)
    spread = {f: float(pool[f].std()) for f in NOISY}
    logs = Path(ws.logs_url)
    start = pd.Timestamp(f"{DAY}T00:00:00", tz="UTC")
    step = 86_400_000_000 // rows  # microseconds between predictions
    writers: dict[str, pq.ParquetWriter] = {}

    def write(kind: str, table: pa.Table) -> None:
        if kind not in writers:
            part = logs / kind / f"model={NAME}" / f"date={DAY}"
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
        for f in NOISY:
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
        table = with_request_columns(table)  # as the publisher writes them
        write("predictions", table)
        feedback = pa.table(
            {
                "request_id": ids,
                "ts": pa.array(ts + pd.Timedelta(minutes=30), pa.timestamp("us", tz="UTC")),
                "label": sample["target"].astype(str).to_numpy(object),
                **{c: table[c] for c in REQUEST_COLUMNS},
            }
        )
        write("feedback", feedback)
        done += n
    for writer in writers.values():
        writer.close()
    ws.close()
    (folder / "ready").write_text("ok")
    return folder


def build_today(rows: int, replicas: int) -> Path:
    """The same rows as :func:`build`, logged through ``replicas`` real log writers (the
    server's write-ahead folder, its file names and ids, nulls for missing inputs): the
    day is not compacted and each writer's last segment is not published (cached)."""
    folder = WORK / f"today-{rows}-{replicas}-v6"
    if (folder / "ready").exists():
        return folder
    import shutil

    import pyarrow as pa
    import pyarrow.compute as pc
    import pyarrow.parquet as pq

    from modelward import Workspace
    from modelward.predlog.layout import REQUEST_COLUMNS
    from modelward.predlog.writer import ROLL_MS, ROLL_ROWS, LogWriter

    compacted = build(rows)
    shutil.rmtree(folder, ignore_errors=True)
    shutil.copytree(compacted / "ws", folder / "ws", ignore=shutil.ignore_patterns("logs", "wal"))
    shutil.copy(compacted / "reference.parquet", folder / "reference.parquet")
    ws = Workspace.open(folder / "ws")
    Path(ws.logs_url).mkdir(parents=True, exist_ok=True)
    logs = compacted / "ws" / "logs"
    name = "compacted-bench.parquet"
    # the rows as the server receives them: the writer derives its request columns itself
    predictions = pq.read_table(logs / "predictions" / f"model={NAME}" / f"date={DAY}" / name)
    predictions = predictions.drop_columns(list(REQUEST_COLUMNS))
    feedback = pq.read_table(logs / "feedback" / f"model={NAME}" / f"date={DAY}" / name)
    feedback = feedback.drop_columns(list(REQUEST_COLUMNS))
    at = predictions.schema.get_field_index("ts"), feedback.schema.get_field_index("ts")
    # a segment is published when it is ROLL_MS old, or holds ROLL_ROWS rows first
    per_roll = min(ROLL_ROWS, max(1, rows * ROLL_MS // 86_400_000 // replicas))
    writers = [
        LogWriter(ws.logs_url, wal_dir=ws.layout.wal, writer_id=f"bench-{n}", flush_ms=10**9)
        for n in range(replicas)
    ]
    types = {f"in_{f}": "float64" for f in FEATURES}
    logged = [0] * replicas
    batch = 500  # rows appended at once (the writer's lines are the same one by one)
    for start in range(0, rows, batch):
        n = (start // batch) % replicas
        chunk = predictions.slice(start, batch)
        chunk = chunk.set_column(at[0], "ts", pc.cast(chunk["ts"], pa.int64()))
        labels = feedback.slice(start, batch)
        labels = labels.set_column(at[1], "ts", pc.cast(labels["ts"], pa.int64()))
        served = chunk.to_pylist()
        writers[n].log_predictions(NAME, served, types)
        for row in labels.to_pylist():
            writers[n].log_feedback(NAME, row["request_id"], row["label"], row["ts"])
        logged[n] += len(served)
        if logged[n] >= per_roll and start + batch < rows - replicas * per_roll:
            writers[n].flush()  # the segment's age reached ROLL_MS: published
            logged[n] = 0
    # the writers are not closed: their open segments stay in the write-ahead folder (this
    # process holds their locks, as a live server does, until it exits)
    _later_in_the_day(Path(ws.logs_url), [f"bench-{n}" for n in range(replicas)])
    ws.close()
    (folder / "ready").write_text("ok")
    return folder


def _later_in_the_day(logs: Path, writers: list[str]) -> None:
    """The log as a day of serving leaves it: a writer's merge keeps the files it replaced
    for ``MERGE_KEEP_S`` and a later publishing's merge deletes them; this build publishes
    a day's segments within a minute, so it runs that later merge itself."""
    from modelward.predlog.compact import MERGE_KEEP_S, merge_own

    for folder in logs.glob("*/model=*/date=*"):
        for path in folder.glob("compacted-*.parquet"):
            when = path.stat().st_mtime - MERGE_KEEP_S - 1
            os.utime(path, (when, when))
        for writer in writers:
            merge_own(folder, writer)


def _census(folder: Path) -> str:
    """What a case's log holds: Parquet files, write-ahead segments and their rows."""
    logs, wal = folder / "ws" / "logs", folder / "ws" / "wal"
    files = len(list(logs.rglob("*.parquet")))
    segments = sorted(wal.glob("*.wal")) if wal.is_dir() else []
    lines = sum(p.read_bytes().count(b"\n") for p in segments)
    return f"{files} Parquet files, {len(segments)} write-ahead segments ({lines} lines)"


# -- the two sides --------------------------------------------------------------------------


def run_ours(folder: Path) -> dict:
    import sqlite3  # noqa: F401 - imports are outside the timing, as for Evidently

    import duckdb  # noqa: F401
    import fsspec  # noqa: F401
    import pandas  # noqa: F401
    import pyarrow.json  # noqa: F401 - which reads them
    import pyarrow.parquet  # noqa: F401
    import scipy.stats  # noqa: F401
    import sklearn.metrics  # noqa: F401

    # the checks' own modules, as Evidently's presets are imported before its timing
    import modelward.data.profile  # noqa: F401
    import modelward.monitoring.checks  # noqa: F401
    import modelward.monitoring.metrics  # noqa: F401
    import modelward.monitoring.samples  # noqa: F401
    import modelward.predlog.reader  # noqa: F401 - its listing reads compaction marks
    import modelward.predlog.unpublished  # noqa: F401 - today's rows not yet published
    import modelward.stats  # noqa: F401
    from modelward import Workspace

    ws = Workspace.open(folder / "ws")
    monitor = ws.monitor
    monitor.alert = False
    until = f"{DAY}T23:59:59.999999+00:00"
    started = time.perf_counter()
    metrics = monitor.metrics(NAME, last="24h", until=until)
    drift = monitor.drift(NAME, last="24h", until=until)
    quality = monitor.quality(NAME, last="24h", until=until)
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
    current = pd.read_parquet(logs / "predictions" / f"model={NAME}", columns=columns)
    feedback = pd.read_parquet(logs / "feedback" / f"model={NAME}", columns=["request_id", "label"])
    segments = sorted((folder / "ws" / "wal").glob("*.wal"))
    if segments:  # today's freshest rows: the server's write-ahead JSON lines
        lines = pd.concat([pd.read_json(p, lines=True, dtype=False) for p in segments])
        lines = lines[lines["m"] == NAME]
        fresh = lines[lines["k"] == "predictions"]
        fresh = fresh.assign(prediction=fresh["prediction"].astype(str))
        labels = lines[lines["k"] == "feedback"][["request_id", "label"]].astype(str)
        current = pd.concat([current, fresh[columns]], ignore_index=True)
        feedback = pd.concat([feedback, labels], ignore_index=True)
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


#: ``modelward ARGV…`` in a child that prints its peak RSS (kB) last on stderr, run as
#: the console script runs it (``run``: its exit included).
_PEAK_RSS = (
    "import atexit, sys; from modelward.cli.main import run; sys.argv[0] = 'modelward'\n"
    "atexit.register(lambda: print(open('/proc/self/status').read()"
    ".split('VmHWM:')[1].split()[0], file=sys.stderr))\n"
    "run()"
)


def _commands(folder: Path) -> dict:
    """Our three daily checks as commands, one process each: their total wall time and
    the largest peak RSS among them."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TYPER_USE_RICH": "0"}
    until = f"{DAY}T23:59:59.999999+00:00"
    started = time.perf_counter()
    peak = 0.0
    for check in ("metrics", "drift", "quality"):
        argv = ["-w", str(folder / "ws"), "monitor", check, NAME, "--last", "24h"]
        done = subprocess.run(
            [sys.executable, "-c", _PEAK_RSS, *argv, "--until", until, "--json"],
            capture_output=True, text=True, env=env, check=False,
        )  # fmt: skip
        if done.returncode not in (0, 1):  # 1: a check that breaches its threshold
            raise SystemExit(f"modelward monitor {check} failed:\n{done.stderr[-3000:]}")
        peak = max(peak, int(done.stderr.strip().splitlines()[-1]) / 1024)
    return {"seconds": time.perf_counter() - started, "peak_mb": peak}


def _runbook(folder: Path) -> dict:
    """The same three checks as ``modelward runbook daily --no-plots`` runs them, one
    process (``monitoring.daily`` set to metrics, drift, quality): wall time, peak RSS."""
    import yaml

    policy_file = folder / "ws" / "policy.yml"
    policy = yaml.safe_load(policy_file.read_text()) or {}
    policy.setdefault("monitoring", {})["daily"] = ["metrics", "drift", "quality"]
    policy_file.write_text(yaml.safe_dump(policy, sort_keys=False))
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "TYPER_USE_RICH": "0"}
    until = f"{DAY}T23:59:59.999999+00:00"
    argv = ["-w", str(folder / "ws"), "runbook", "daily", NAME, "--until", until, "--json"]
    argv.append("--no-plots")  # the report's tables, not its figures: Evidently draws none
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", _PEAK_RSS, *argv], capture_output=True, text=True, env=env,
        check=False,
    )  # fmt: skip
    seconds = time.perf_counter() - started
    if done.returncode not in (0, 1):  # 1: a check that breaches its threshold
        raise SystemExit(f"modelward runbook daily failed:\n{done.stderr[-3000:]}")
    return {"seconds": seconds, "peak_mb": int(done.stderr.strip().splitlines()[-1]) / 1024}


def _timed_child(python: str, mode: str, folder: Path) -> dict:
    """A side's child process, with its whole wall time (start and imports included)."""
    started = time.perf_counter()
    result = _child(python, mode, folder)
    return {**result, "process_s": time.perf_counter() - started}


def compare(folder: Path, rows: int, repeat: int, peer_python: str | None) -> None:
    ours_runs: list[dict] = []
    peer_runs: list[dict] = []
    command_runs: list[dict] = []
    runbook_runs: list[dict] = []
    for _ in range(repeat):  # alternating, so a busy moment of the machine hits both
        ours_runs.append(_child(sys.executable, "--ours", folder))
        command_runs.append(_commands(folder))
        runbook_runs.append(_runbook(folder))
        if peer_python is not None:
            peer_runs.append(_timed_child(peer_python, "--evidently", folder))
    ours = _median(ours_runs)
    print(
        f"modelward  {rows:>10,} rows: {ours['seconds']:7.2f} s, peak {ours['peak_mb']:6.0f}"
        f" MB (median of {len(ours_runs)}: {_spread(ours_runs)}; accuracy "
        f"{ours['accuracy']:.4f}, auc {ours['roc_auc']:.4f}, drifted "
        f"{', '.join(ours['drifted']) or '-'})"
    )
    commands = _median(command_runs)
    print(
        f"  as 3 commands: {commands['seconds']:7.2f} s, peak {commands['peak_mb']:6.0f} MB "
        f"(median of {len(command_runs)}: {_spread(command_runs)})"
    )
    runbook = _median(runbook_runs)
    print(
        f"  as `runbook daily` (one process): {runbook['seconds']:7.2f} s, peak "
        f"{runbook['peak_mb']:6.0f} MB (median of {len(runbook_runs)}: {_spread(runbook_runs)})"
    )
    if not peer_runs:
        return
    peer = _median(peer_runs)
    process = sorted(r["process_s"] for r in peer_runs)[(len(peer_runs) - 1) // 2]
    print(
        f"Evidently  {rows:>10,} rows: {peer['seconds']:7.2f} s, peak "
        f"{peer['peak_mb']:6.0f} MB (median of {len(peer_runs)}: {_spread(peer_runs)}); "
        f"its whole process {process:.2f} s"
    )
    print(
        f"ratio: modelward is {peer['seconds'] / ours['seconds']:.1f}x faster (run by run "
        + ", ".join(
            f"{p['seconds'] / o['seconds']:.1f}x" for o, p in zip(ours_runs, peer_runs, strict=True)
        )
        + f") and uses {peer['peak_mb'] / ours['peak_mb']:.1f}x less memory "
        "(target: >= 50x faster)"
    )
    print(
        f"ratio as commands: {process / commands['seconds']:.1f}x faster (run by run "
        + ", ".join(
            f"{p['process_s'] / c['seconds']:.1f}x"
            for c, p in zip(command_runs, peer_runs, strict=True)
        )
        + ") (each check a process of its own; the targets are the runbook's, below)"
    )
    print(
        f"ratio as `runbook daily`: {process / runbook['seconds']:.1f}x faster (run by run "
        + ", ".join(
            f"{p['process_s'] / r['seconds']:.1f}x"
            for r, p in zip(runbook_runs, peer_runs, strict=True)
        )
        + ") (target: >= 30x compacted, >= 20x today)"
    )
    print(f"agreement: {agreement(ours, peer)}")


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
    parser.add_argument(
        "--cases",
        default="compacted,today",
        help="the logs compared: compacted (one file a day) and/or today (as the server "
        "writes it, with write-ahead segments)",
    )
    parser.add_argument(
        "--replicas", type=int, default=2, help="log writers of today's log (serve --workers)"
    )
    args = parser.parse_args()
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    cases = [c.strip() for c in args.cases.split(",") if c.strip()]
    if not cases or set(cases) - {"compacted", "today"}:
        parser.error("--cases takes compacted and/or today")
    peer_python = None if args.skip_evidently else ensure_peer()
    compile_sources(ROOT / "src")  # as pip compiles Evidently's (benchmarks/bytecode.py)
    load = " ".join(f"{v:.2f}" for v in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} cores")
    for case in cases:
        folder = build(args.rows) if case == "compacted" else build_today(args.rows, args.replicas)
        print(f"-- {case}: {_census(folder)}")
        compare(folder, args.rows, args.repeat, peer_python)
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
    print(f"load average at the end {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
