"""Serving throughput: `modelward serve` vs `mlflow models serve`, the model a user trains.

    python benchmarks/serving.py [--config examples/heart-disease/configs/logreg.yml]
        [--duration 15] [--rounds 3] [--connections 16] [--batch 100] [--token]

Makes the model as a user does: `modelward init --policy` (the example's policy.yml),
`modelward train --config CONFIG`, `transition --to testing`, and `deploy --force` (as the
heart demo does: the staging gate wants a complete validation, which this benchmark does
not pay for; the deploy still proves and caches the ONNX conversion, its time is printed).
It serves that version with `modelward serve` (prediction log on) and the very same fitted
pipeline (the registry's artifact, saved as an MLflow model answering predict_proba) with
`mlflow models serve` from benchmarks/.venv-mlflow (created on the first run, MLflow
pinned to MLFLOW_VERSION). Before any load both servers answer the same rows of the
config's data (missing values included) and the answers are compared: the same class on
every row, and the probabilities' largest difference (<= 1e-6 is printed as such).

The load is single-row requests (or ``--batch N`` rows a request), from wrk (Debian
package) when installed, else from modelward's async load generator. The sides alternate
A B A B over ``--rounds``; the ratio is printed per round with the median, beside the
agreement check. Also printed: p50/p99 latency, RSS after the load, the start time (the
first start after the deploy, and a restart), which path the version serves on, and the
targets of issue 17 (single rows: >= 30x MLflow's requests/s, p99 <= 5 ms at that rate,
RSS <= 200 MB, start <= 1 s; batches: >= 10x MLflow's rows/s). The saturated rounds'
p99 is the queue of ``--connections`` requests always in flight (p50 there is about
connections / rate whatever the server does), so each single-row round ends with our
side *paced* at the target multiple of MLflow's rate of that round (wrk with a pause
between a connection's requests): the latency clients see at that rate, which the p99
check reads. It starts once MLflow's processes are idle (:func:`settle`): at its
saturation MLflow still works off its queue for a while after the client stops, and our
paced round would otherwise share the two cores with that work. ``--pipeline-path``
serves the pipeline itself (micro-batched), as for a model without an ONNX conversion
(target: >= 10x).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bytecode import compile_sources

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-mlflow"
WORK = HERE / ".work" / "serving"
PY = sys.executable
SRC_ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
MLFLOW_VERSION = "3.17.2"
DEFAULT_CONFIG = ROOT / "examples" / "heart-disease" / "configs" / "logreg.yml"
AGREEMENT_ROWS = 100

sys.path.insert(0, str(ROOT / "src"))


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Side:
    """One server under test: how to reach it and what it measured."""

    name: str
    url: str
    proc: subprocess.Popen
    path: str
    body: dict
    headers: dict = field(default_factory=dict)
    start_s: float = 0.0
    warmup: dict = field(default_factory=dict)
    rounds: list[dict] = field(default_factory=list)


# -- the model a user has ----------------------------------------------------------------


def modelward(*args: str, env: dict) -> str:
    done = subprocess.run(
        [PY, "-m", "modelward.cli.main", *args], env=env, capture_output=True, text=True
    )
    if done.returncode:
        raise SystemExit(f"modelward {' '.join(args)} failed:\n{done.stderr[-2000:]}")
    return done.stdout


def train_and_deploy(config_path: Path, ws_root: Path) -> dict:
    """The workspace, trained and deployed as a user does; the seconds each step took."""
    from modelward.training.config import load_config

    config = load_config(config_path)
    env = {**SRC_ENV, "MODELWARD_HOME": str(ws_root)}
    policy = config_path.resolve().parent.parent / "policy.yml"
    init = ["init", str(ws_root)] + (["--policy", str(policy)] if policy.exists() else [])
    modelward(*init, env=env)
    took = {}
    for step, args in (
        ("train", ["train", "--config", str(config_path)]),
        ("transition", ["transition", config.name, "1", "--to", "testing", "--reason", "bench"]),
        ("deploy", ["deploy", config.name, "--version", "1", "--force", "--reason", "bench"]),
    ):
        say(f"modelward {' '.join(args)}…")
        began = time.perf_counter()
        modelward(*args, env=env)
        took[step] = round(time.perf_counter() - began, 2)
    return {"config": config, "env": env, "took": took}


def without_onnx(ws_root: Path) -> None:
    """Replace the proven conversions by the note of a failed one: the server then serves
    the pipeline (micro-batched), as it does a model that cannot convert."""
    for proven in (ws_root / "cache" / "onnx").glob("*.json"):
        proven.with_suffix(".onnx").unlink()
        proven.unlink()
        proven.with_suffix(".pipeline").write_text("benchmark --pipeline-path\n")


def request_rows(config: Any, n: int) -> list[dict]:
    """The config's data rows as a client sends them: JSON numbers, null where missing."""
    from modelward.data import read_data

    frame = read_data(config.data_ref())[config.features.all].head(n)
    return [
        {k: (None if v != v else v) for k, v in row.items()} for row in frame.to_dict("records")
    ]


def fitted_pipeline(ws_root: Path, name: str) -> Any:
    from modelward import Workspace

    ws = Workspace.open(ws_root)
    try:
        loaded = ws.load_model(name, 1)  # the sklearn flavor; its pipeline is .model
        return getattr(loaded, "model", loaded)
    finally:
        ws.close()


def make_token(ws_root: Path) -> str:
    """A predict-scoped token (the server then requires one on every request)."""
    from modelward import Workspace
    from modelward.http.tokens import create_token

    ws = Workspace.open(ws_root)
    try:
        return create_token(ws.db, "benchmark", ["predict"])[1]
    finally:
        ws.close()


# -- MLflow ------------------------------------------------------------------------------


def ensure_mlflow() -> Path:
    python = VENV / "bin" / "python"
    if (VENV / "bin" / "mlflow").exists():
        return python
    import sklearn
    import skops

    say(f"creating {VENV} with mlflow {MLFLOW_VERSION} (first run only)…")
    subprocess.run([PY, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [
            str(python), "-m", "pip", "install", "-q", f"mlflow=={MLFLOW_VERSION}",
            f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}",
        ],
        check=True,
    )  # fmt: skip
    return python


def save_mlflow_model(python: Path, model: Any, example: list[dict]) -> Path:
    """The same fitted pipeline as an MLflow model whose pyfunc answers predict_proba."""
    import skops.io as sio

    skops_file = WORK / "model.skops"
    sio.dump(model, skops_file)
    target = WORK / "mlflow-model"
    script = f"""
import pandas as pd, skops.io as sio, mlflow.sklearn
data = open({str(skops_file)!r}, "rb").read()
model = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
example = pd.DataFrame({json.dumps(example)}).astype("float64")
mlflow.sklearn.save_model(model, {str(target)!r}, input_example=example,
    pyfunc_predict_fn="predict_proba", serialization_format="pickle")
"""
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"saving the MLflow model failed:\n{done.stderr[-2000:]}")
    return target


# -- servers -----------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_ready(url: str, proc: subprocess.Popen, timeout: float = 120) -> float:
    import httpx

    started = time.perf_counter()
    while time.perf_counter() - started < timeout:
        if proc.poll() is not None:
            raise SystemExit(f"server exited early ({proc.returncode}) for {url}")
        try:
            if httpx.get(url, timeout=1).status_code == 200:
                return time.perf_counter() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.01)
    raise SystemExit(f"{url} not ready after {timeout}s")


def start_ours(ws_root: Path) -> tuple[subprocess.Popen, str, list[float]]:
    """``modelward serve`` started, stopped and started again: the process, its base URL
    and both start times."""
    env = {**SRC_ENV, "MODELWARD_HOME": str(ws_root)}
    starts = []
    for attempt in ("first", "restart"):
        port = free_port()
        log = (WORK / f"ours-{attempt}.log").open("wb")
        cmd = [PY, "-m", "modelward.cli.main", "serve", "--port", str(port)]
        proc = subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT)
        base = f"http://127.0.0.1:{port}"
        starts.append(wait_ready(base + "/readyz", proc))
        if attempt == "first":
            stop(proc)
    return proc, base, starts


def start_mlflow(model_dir: Path) -> tuple[subprocess.Popen, str, float]:
    port = free_port()
    log = (WORK / "mlflow.log").open("wb")
    cmd = [
        str(VENV / "bin" / "mlflow"), "models", "serve", "-m", str(model_dir),
        "-p", str(port), "-h", "127.0.0.1", "--env-manager", "local",
    ]  # fmt: skip
    env = {
        **os.environ,
        "MLFLOW_TRACKING_URI": f"file://{WORK / 'mlruns'}",
        "PATH": f"{VENV / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    env.pop("PYTHONPATH", None)
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, env=env, start_new_session=True
    )
    base = f"http://127.0.0.1:{port}"
    return proc, base, wait_ready(base + "/ping", proc)


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def stop_group(proc: subprocess.Popen) -> None:
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)


def tree_rss_mb(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20


# -- agreement ---------------------------------------------------------------------------


def agreement(ours: Side, theirs: Side, name: str, rows: list[dict], classes: list) -> dict:
    """Both servers' answers on the same rows: classes equal, probabilities' largest gap."""
    import httpx

    mine = httpx.post(
        f"{ours.url}/v1/models/{name}/predict", json={"inputs": rows}, headers=ours.headers,
        timeout=60,
    )  # fmt: skip
    peer = httpx.post(f"{theirs.url}/invocations", json={"dataframe_records": rows}, timeout=60)
    if mine.status_code != 200 or peer.status_code != 200:
        raise SystemExit(
            f"agreement rows refused: modelward {mine.status_code} {mine.text[:300]}; "
            f"mlflow {peer.status_code} {peer.text[:300]}"
        )
    ours_p = [[p[str(c)] for c in classes] for p in mine.json()["probabilities"]]
    ours_labels = [str(v) for v in mine.json()["predictions"]]
    theirs_p = peer.json()["predictions"]
    theirs_labels = [str(classes[row.index(max(row))]) for row in theirs_p]
    gap = max(
        abs(a - b) for x, y in zip(ours_p, theirs_p, strict=True) for a, b in zip(x, y, strict=True)
    )
    same = sum(a == b for a, b in zip(ours_labels, theirs_labels, strict=True))
    return {
        "rows": len(rows),
        "missing_values": sum(v is None for row in rows for v in row.values()),
        "same_class": same,
        "max_probability_gap": gap,
        "agree": same == len(rows),
        "within_1e-6": gap <= 1e-6,
    }


# -- load --------------------------------------------------------------------------------


def wrk_run(
    url: str, body: dict, connections: int, duration: int, headers: dict, pause_ms: int = 0
) -> dict:
    """wrk's figures; ``pause_ms``: each connection waits that long after an answer before
    its next request (a paced load: the rate a client population offers, not the most the
    server can take)."""
    script = WORK / f"post-{abs(hash(url))}-{pause_ms}.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}"]
    for key, value in {"Content-Type": "application/json", **headers}.items():
        lines.append(f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}")
    if pause_ms:
        lines.append(f"function delay() return {int(pause_ms)} end")
    script.write_text("\n".join(lines) + "\n")
    out = subprocess.run(
        [
            "wrk", "-t1", f"-c{connections}", f"-d{duration}s", "--latency",
            "-s", str(script), url,
        ],
        capture_output=True, text=True, check=True,
    ).stdout  # fmt: skip

    def ms(text: str) -> float:
        value, unit = re.match(r"([\d.]+)(us|ms|s)", text).groups()  # type: ignore[union-attr]
        return float(value) * {"us": 0.001, "ms": 1.0, "s": 1000.0}[unit]

    pct = dict(re.findall(r"^\s+(50|99)%\s+(\S+)", out, flags=re.MULTILINE))
    non2xx = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": ms(pct["50"]),
        "p99_ms": ms(pct["99"]),
        "errors": int(non2xx.group(1)) if non2xx else 0,
    }


def load(side: Side, connections: int, duration: int, pause_ms: int = 0) -> dict:
    if shutil.which("wrk"):
        return wrk_run(
            side.url + side.path, side.body, connections, duration, side.headers, pause_ms
        )
    if pause_ms:
        raise SystemExit("the paced load needs wrk (apt-get install wrk)")
    from modelward.serving.loadgen import run_load

    result = run_load(
        side.url + side.path, side.body, connections=connections, seconds=duration,
        headers=side.headers,
    )  # fmt: skip
    return result.summary()


def alternate(sides: list[Side], args: argparse.Namespace) -> list[dict]:
    """Warm each side, then A B A B… over the rounds: the machine's load shifts over
    minutes, so each round's ratio compares neighbours in time. With single rows and a
    peer, each round ends with our side paced at the target multiple of the peer's rate
    just measured (:func:`paced`); those runs are returned."""
    for side in sides:
        say(f"{side.name}: warm-up 2 s")
        side.warmup = load(side, args.connections, 2)
    paced_runs = []
    for number in range(1, args.rounds + 1):
        for side in sides:
            say(f"round {number}/{args.rounds}: {side.name} {args.duration} s…")
            side.rounds.append(load(side, args.connections, args.duration))
        if len(sides) == 2 and args.batch == 1:
            target = target_factor(args) * sides[1].rounds[-1]["requests_per_s"]
            waited = settle(sides[1])
            say(
                f"round {number}/{args.rounds}: {sides[0].name} paced at {target:.0f} req/s "
                f"(after {waited:.1f} s for {sides[1].name} to finish its backlog)…"
            )
            paced_runs.append({**paced(sides[0], args, target), "settled_s": waited})
    return paced_runs


def settle(side: Side, most_s: float = 10.0) -> float:
    """Wait until ``side``'s processes are idle (under 5 % of a core over 0.2 s): a peer
    that answers at its saturation still works off the requests in its queue after the
    client stops, and a paced round measured beside that work measures the two sharing
    the machine's cores. The seconds waited (at most ``most_s``)."""
    import psutil

    started = time.monotonic()
    top = psutil.Process(side.proc.pid)
    tree = [top, *top.children(recursive=True)]

    def busy() -> float:
        return sum(sum(p.cpu_times()[:2]) for p in tree if p.is_running())

    before = busy()
    while time.monotonic() - started < most_s:
        time.sleep(0.2)
        now = busy()
        if now - before < 0.01:
            break
        before = now
    return time.monotonic() - started


def target_factor(args: argparse.Namespace) -> int:
    return 10 if args.pipeline_path else 30


def paced(side: Side, args: argparse.Namespace, target: float) -> dict:
    """Latency at a given rate rather than at saturation: at saturation every connection
    always waits, so p50 is the queue (``connections / rate``) whatever the server does.
    Each connection pauses between its requests so the clients offer about ``target``
    requests/s (whole ms, rounded down: somewhat more than asked; the check wants at
    least the target)."""
    cycle_ms = args.connections * 1000 / target
    pause = max(0, int(cycle_ms) - 2)  # ~1-2 ms of a cycle is the answer and wrk's timer
    found = load(side, args.connections, args.duration, pause_ms=pause)
    return {**found, "target_per_s": target, "pause_ms": pause}


# -- report ------------------------------------------------------------------------------


def median(values: list[float]) -> float:
    return statistics.median(values) if values else float("nan")


def summary(ours: Side, theirs: Side | None, batch: int) -> dict:
    def side(s: Side) -> dict:
        rates = [r["requests_per_s"] for r in s.rounds]
        return {
            "rounds": s.rounds,
            "requests_per_s": median(rates),
            "rows_per_s": median(rates) * batch,
            "p50_ms": median([r["p50_ms"] for r in s.rounds]),
            "p99_ms": median([r["p99_ms"] for r in s.rounds]),
            "errors": sum(r["errors"] for r in s.rounds),
        }

    out = {"modelward": side(ours), "mlflow": side(theirs) if theirs else None}
    if theirs:
        out["ratios"] = [
            a["requests_per_s"] / b["requests_per_s"]
            for a, b in zip(ours.rounds, theirs.rounds, strict=True)
        ]
        out["ratio_median"] = median(out["ratios"])
    return out


def checks(result: dict, batch: int, pipeline: bool = False) -> dict[str, bool]:
    ours = result["modelward"]
    ratio = result.get("ratio_median")
    agreed = result.get("agreement") is None or result["agreement"]["agree"]
    found = {
        "answers agree with MLflow's (same class on every row)": agreed,
        "no errors": ours["errors"] + sum(r["errors"] for r in result.get("paced", [])) == 0,
        "every answered row logged": result["logged_rows"] >= result["answered_rows"],
    }
    if batch == 1:
        factor = 10 if pipeline else 30
        found[f">= {factor}x mlflow requests/s (median of rounds)"] = (
            ratio is not None and ratio >= factor
        )
        if not pipeline:
            paced_runs = result["paced"]
            found.update(
                {
                    f"p99 <= 5 ms at {factor}x mlflow's requests/s (paced, every round)": bool(
                        paced_runs
                    )
                    and all(
                        r["p99_ms"] <= 5 and r["requests_per_s"] >= r["target_per_s"]
                        for r in paced_runs
                    ),
                    "RSS <= 200 MB": result["rss_mb"]["modelward"] <= 200,
                    "start <= 1 s (first after deploy, and restart)": max(result["start_s"]) <= 1,
                }
            )
    else:
        found[">= 10x mlflow rows/s (median of rounds)"] = ratio is not None and ratio >= 10
    return found


def print_report(result: dict, args: argparse.Namespace) -> None:
    ours, theirs = result["modelward"], result["mlflow"]
    unit = "single-row" if args.batch == 1 else f"{args.batch} rows a request"
    print(
        f"model: {result['model']} from {result['config']} (path: {result['path']}); load: "
        f"{args.connections} connections, {args.rounds} rounds x {args.duration} s each side, "
        f"alternating, {unit}, {result['tool']}, auth: {'token' if args.token else 'none'}"
    )
    print(f"loadavg before: {result['loadavg'][0]}   after: {result['loadavg'][1]}")
    agreed = result.get("agreement")
    if agreed:
        print(
            f"agreement on {agreed['rows']} rows ({agreed['missing_values']} missing values): "
            f"same class {agreed['same_class']}/{agreed['rows']}, largest probability gap "
            f"{agreed['max_probability_gap']:.2g}"
            f" ({'within' if agreed['within_1e-6'] else 'NOT within'} 1e-6)"
        )
    head = f"{'round':8}{'modelward req/s':>16}{'p50':>8}{'p99':>8}"
    if theirs:
        head += f"{'mlflow req/s':>14}{'p50':>8}{'p99':>8}{'ratio':>8}"
    print(head)
    for i, mine in enumerate(ours["rounds"]):
        line = (
            f"{i + 1:<8}{mine['requests_per_s']:>16.0f}{mine['p50_ms']:>8.2f}{mine['p99_ms']:>8.2f}"
        )
        if theirs:
            peer = theirs["rounds"][i]
            line += (
                f"{peer['requests_per_s']:>14.0f}{peer['p50_ms']:>8.2f}{peer['p99_ms']:>8.2f}"
                f"{result['ratios'][i]:>7.1f}x"
            )
        print(line)
    line = (
        f"{'median':<8}{ours['requests_per_s']:>16.0f}{ours['p50_ms']:>8.2f}{ours['p99_ms']:>8.2f}"
    )
    if theirs:
        line += (
            f"{theirs['requests_per_s']:>14.0f}{theirs['p50_ms']:>8.2f}{theirs['p99_ms']:>8.2f}"
            f"{result['ratio_median']:>7.1f}x"
        )
    print(line)
    for i, run in enumerate(result["paced"]):
        print(
            f"paced {i + 1}: modelward at {run['requests_per_s']:.0f} req/s (asked "
            f"{run['target_per_s']:.0f}: {target_factor(args)}x mlflow's round {i + 1}; each "
            f"connection pauses {run['pause_ms']} ms; MLflow idle after {run['settled_s']:.1f} s): "
            f"p50 {run['p50_ms']:.2f} ms, p99 {run['p99_ms']:.2f} ms, errors {run['errors']}"
        )
    if args.batch > 1:
        peer = f", mlflow {theirs['rows_per_s']:.0f}" if theirs else ""
        print(f"rows/s (median): modelward {ours['rows_per_s']:.0f}{peer}")
    rss, starts = result["rss_mb"], result["start_s"]
    print(
        f"RSS MB: modelward {rss['modelward']:.0f}, mlflow {rss.get('mlflow') or 0:.0f}; start s: "
        f"modelward {starts[0]:.2f} (first after deploy), {starts[1]:.2f} (restart), "
        f"mlflow {result.get('mlflow_start_s') or 0:.2f}"
    )
    took = result["took"]
    print(
        f"modelward: train {took['train']:.1f} s, deploy {took['deploy']:.2f} s (proves the "
        f"ONNX conversion); logged {result['logged_rows']} rows of {result['answered_rows']} "
        f"answered; exit code on SIGTERM {result['exit_code']}"
    )
    for name, ok in result["checks"].items():
        print(f"  {'PASS' if ok else 'FAIL'}  {name}")


def _cells(figures: dict) -> str:
    return f"{figures['requests_per_s']:>16.0f}{figures['p50_ms']:>8.2f}{figures['p99_ms']:>8.2f}"


# -- main --------------------------------------------------------------------------------


def served_path(side: Side, name: str) -> str:
    """The path the deployed version serves on, as ``GET /v1/models/NAME`` says."""
    import httpx

    info = httpx.get(f"{side.url}/v1/models/{name}", headers=side.headers, timeout=10).json()
    versions = {v: about for d in info["deployments"] for v, about in d["versions"].items()}
    return ", ".join(
        f"v{v} {about['path']}" + (f" ({about['path_reason']})" if about["path_reason"] else "")
        for v, about in versions.items()
    )


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--config", type=Path, default=DEFAULT_CONFIG, help="training config")
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per round")
    parser.add_argument("--rounds", type=int, default=3, help="alternating rounds per side")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--batch", type=int, default=1, help="rows a request")
    parser.add_argument("--skip-mlflow", action="store_true", help="only measure modelward")
    parser.add_argument(
        "--pipeline-path",
        action="store_true",
        help="serve the pipeline itself (as for a model without an ONNX conversion)",
    )
    parser.add_argument(
        "--token", action="store_true", help="serve with a bearer token required (as production)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    return parser.parse_args()


def main() -> int:
    args = parse_args()
    compile_sources(ROOT / "src")  # as pip compiles MLflow's (benchmarks/bytecode.py)
    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    tempfile.tempdir = str(WORK)
    loadavg = [Path("/proc/loadavg").read_text().split()[:3]]
    ws_root = WORK / "ws"
    made = train_and_deploy(args.config, ws_root)
    config = made["config"]
    name = config.name
    if args.pipeline_path:
        without_onnx(ws_root)
    rows = request_rows(config, max(AGREEMENT_ROWS, args.batch))
    batch_rows = rows[: args.batch] if args.batch > 1 else None
    headers = {"Authorization": f"Bearer {make_token(ws_root)}"} if args.token else {}
    proc, base, starts = start_ours(ws_root)
    predict = f"/v1/models/{name}/predict"
    ours = Side("modelward serve", base, proc, predict, {"inputs": batch_rows or rows[0]}, headers)
    sides = [ours]
    theirs = None
    try:  # our server is stopped whatever happens next (MLflow failing to start too)
        if not args.skip_mlflow:
            model = fitted_pipeline(ws_root, name)
            mlflow_dir = save_mlflow_model(ensure_mlflow(), model, rows[:5])
            mproc, mbase, mstart = start_mlflow(mlflow_dir)
            theirs = Side(
                "mlflow models serve", mbase, mproc, "/invocations",
                {"dataframe_records": batch_rows or [rows[0]]}, start_s=mstart,
            )  # fmt: skip
            sides.append(theirs)
        result: dict[str, Any] = {"model": name, "config": str(args.config)}
        result["path"] = served_path(ours, name)
        if theirs:
            classes = [c.item() if hasattr(c, "item") else c for c in model.classes_]
            result["agreement"] = agreement(ours, theirs, name, rows[:AGREEMENT_ROWS], classes)
        paced_runs = alternate(sides, args)
        result.update(summary(ours, theirs, args.batch))
        result["paced"] = paced_runs
        result["rss_mb"] = {s.name.split()[0]: round(tree_rss_mb(s.proc.pid), 1) for s in sides}
    finally:
        exit_code = stop(ours.proc)
        if theirs:
            stop_group(theirs.proc)
    loadavg.append(Path("/proc/loadavg").read_text().split()[:3])
    from modelward.predlog import predictions

    counted = [*ours.rounds, ours.warmup, *result["paced"]]
    result.update(
        loadavg=[" ".join(x) for x in loadavg],
        tool="wrk" if shutil.which("wrk") else "modelward loadgen",
        took=made["took"],
        start_s=[round(s, 3) for s in starts],
        mlflow_start_s=theirs.start_s if theirs else None,
        exit_code=exit_code,
        answered_rows=sum(r["requests"] for r in counted) * args.batch,
        logged_rows=predictions(str(ws_root / "logs"), name).count("*").fetchall()[0][0],
    )
    result["checks"] = checks(result, args.batch, args.pipeline_path)
    if args.json:
        print(json.dumps(result, default=str))
    else:
        print_report(result, args)
    return 0 if all(result["checks"].values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
