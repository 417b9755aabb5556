"""Benchmark: how long a command takes as a user runs it, start-up included.

    python benchmarks/commands.py                 # 7 runs of each command, medians
    python benchmarks/commands.py --runs 15
    python benchmarks/commands.py --compare /path/to/other/checkout/src   # A/B, alternating
    python benchmarks/commands.py --only "monitor drift"   # the commands containing it

A workspace is built once in ``benchmarks/.work/commands`` as a user builds one: ``modelward
init``, ``modelward train --config examples/heart-disease/configs/logreg.yml`` (one
registered version), then a small prediction log (the model's own predictions on
``--rows`` Hungarian patients drawn at random (seed 0), written by the server's writer,
with their labels as feedback). Each command then runs in a fresh
``python -m modelward.cli.main`` process, ``--runs`` times after one warm-up; the figure
is the median wall time of the whole process (interpreter start, imports, the work, the
output), with its CPU time (user + system, from the OS) beside it, since on a loaded
machine CPU time moves less than wall time. With ``--compare SRC`` each command alternates
between this tree's ``src`` and ``SRC`` (another checkout's ``src``), run by run, and the
ratio is that of the medians.

Targets (issue 17): read commands (``models list``, ``versions list/show``, ``history``,
``runs``) <= 0.3 s; each monitoring check on a small log <= 0.5 s. The machine's load and
cores are printed first: on a busy machine every figure is slower, the interpreter's own
start (``python -c pass``, printed too) gives the scale. Each tree is compiled to bytecode
first, as pip compiles an installed package (``benchmarks/bytecode.py``).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import time
from pathlib import Path

from bytecode import compile_sources

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
WORK = HERE / ".work" / "commands"
MODEL = "heart-disease"
READ_TARGET = 0.3
CHECK_TARGET = 0.5
COMMANDS: list[tuple[str, float]] = [
    ("models list", READ_TARGET),
    ("versions list " + MODEL, READ_TARGET),
    ("versions show " + MODEL + " 1", READ_TARGET),
    ("history " + MODEL, READ_TARGET),
    ("runs list", READ_TARGET),
    ("monitor metrics " + MODEL, CHECK_TARGET),
    ("monitor drift " + MODEL, CHECK_TARGET),
    ("monitor quality " + MODEL, CHECK_TARGET),
    ("monitor predictions " + MODEL, CHECK_TARGET),
]
LOG_ROWS = """
import json, sys
from datetime import UTC, datetime, timedelta
from modelward import LogWriter, Workspace, read_data

home, spec, count, model = sys.argv[1:5]
ws = Workspace.open(home)
rows = read_data(spec).sample(int(count), random_state=0)  # both classes
flavor = ws.load_model(model, 1)
names = list(flavor.input_names)
proba = flavor.predict_proba(rows[names])
classes = [str(c) for c in flavor.classes]
start = datetime.now(UTC) - timedelta(hours=1)
logged = []
for i, (_, row) in enumerate(rows.iterrows()):
    p = proba[i]
    item = {
        "request_id": f"r{i:05d}", "ts": start + timedelta(seconds=i), "version": 1,
        "environment": "production", "status": "ok", "latency_ms": 2.0,
        "prediction": classes[int(p.argmax())], "score": float(p[-1]),
        "proba": json.dumps(dict(zip(classes, map(float, p)))),
    }
    item.update({f"in_{n}": None if row[n] != row[n] else float(row[n]) for n in names})
    logged.append(item)
with LogWriter(ws.logs_url, wal_dir=ws.root / "wal") as writer:
    writer.log_predictions(model, logged, {f"in_{n}": "float64" for n in names})
    for i, (_, row) in enumerate(rows.iterrows()):
        writer.log_feedback(model, f"r{i:05d}", str(int(row["target"])))
"""


def _env(src: Path | None, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["MODELWARD_HOME"] = str(home)
    env.pop("MODELWARD_DB_URL", None)
    if src is not None:
        env["PYTHONPATH"] = str(src)
    return env


def build(home: Path, rows: int) -> None:
    """The workspace a user has after training one model and serving a few requests."""
    if home.exists():
        shutil.rmtree(home)
    env = _env(ROOT / "src", home)
    cli = [sys.executable, "-m", "modelward.cli.main"]
    config = ROOT / "examples" / "heart-disease" / "configs" / "logreg.yml"
    for args in (["init"], ["train", "--config", str(config)]):
        subprocess.run(cli + args, env=env, check=True, capture_output=True)
    spec = f"{ROOT / 'examples' / 'heart-disease' / 'heart.yml'}#hungarian"
    subprocess.run(
        [sys.executable, "-c", LOG_ROWS, str(home), spec, str(rows), MODEL],
        env=env,
        check=True,
        capture_output=True,
    )


def run_once(argv: list[str], env: dict[str, str]) -> tuple[float, float, int]:
    """Wall and CPU seconds of one whole process, and its exit code."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    code = subprocess.run(
        argv, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False
    ).returncode
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu, code


def measure(
    argv: list[str], envs: list[dict[str, str]], runs: int
) -> list[tuple[float, float, set[int]]]:
    """For each env: median wall, median CPU, the exit codes seen (runs alternate envs)."""
    for env in envs:  # warm-up: bytecode caches, the OS's file cache
        run_once(argv, env)
    seen: list[list[tuple[float, float, int]]] = [[] for _ in envs]
    for _ in range(runs):
        for i, env in enumerate(envs):
            seen[i].append(run_once(argv, env))
    return [
        (
            statistics.median(w for w, _, _ in one),
            statistics.median(c for _, c, _ in one),
            {code for *_, code in one},
        )
        for one in seen
    ]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7, help="runs of each command (median)")
    parser.add_argument("--rows", type=int, default=50, help="predictions in the small log")
    parser.add_argument("--compare", type=Path, help="another checkout's src, run alternately")
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    parser.add_argument("--only", default="", help="run only the commands containing this")
    args = parser.parse_args()

    home = WORK / "ws"
    build(home, args.rows)
    envs = [_env(ROOT / "src", home)]
    if args.compare is not None:
        envs.append(_env(args.compare.resolve(), home))
    # both trees run from bytecode, as an installed copy does (benchmarks/bytecode.py)
    compile_sources(ROOT / "src", *([args.compare.resolve()] if args.compare else []))
    load = os.getloadavg()
    print(
        f"load average {load[0]:.2f} {load[1]:.2f} {load[2]:.2f} on {os.cpu_count()} cores; "
        f"{args.runs} runs each, medians; log of {args.rows} predictions",
        file=sys.stderr,
    )
    floor = measure([sys.executable, "-c", "pass"], envs[:1], args.runs)[0]
    print(f"{'python -c pass':32} {floor[0]:7.3f} s  cpu {floor[1]:.3f} s", file=sys.stderr)
    figures = []
    for command, target in COMMANDS:
        if args.only not in command:
            continue
        argv = [sys.executable, "-m", "modelward.cli.main", *command.split()]
        results = measure(argv, envs, args.runs)
        wall, cpu, codes = results[0]
        row = {"command": command, "wall_s": wall, "cpu_s": cpu, "target_s": target}
        row["exit_codes"] = sorted(codes)
        line = f"modelward {command:34} {wall:7.3f} s  cpu {cpu:.3f} s  target {target} s"
        line += "  ok" if wall <= target else "  OVER"
        if len(results) > 1:
            other_wall, other_cpu, _ = results[1]
            row.update(compare_wall_s=other_wall, compare_cpu_s=other_cpu)
            line += f"  | compared: {other_wall:.3f} s cpu {other_cpu:.3f} s"
            line += f"  ratio {wall / other_wall:.2f} (cpu {cpu / other_cpu:.2f})"
        if codes - {0, 1}:
            line += f"  exit {sorted(codes)}"
        print(line, file=sys.stderr)
        figures.append(row)
    end = os.getloadavg()
    print(f"load average at the end {end[0]:.2f}", file=sys.stderr)
    if args.json:
        print(json.dumps({"load": [load, end], "floor": floor[:2], "commands": figures}))


if __name__ == "__main__":
    main()
