"""Serving throughput: `modelward serve` vs `mlflow models serve`, same model, same load.

    python benchmarks/serving.py [--duration 15] [--connections 16]

Serves the Cleveland logistic-regression pipeline (examples/heart-disease) with the
prediction log on, and the very same fitted pipeline (loaded from its skops file) with
MLflow in benchmarks/.venv-mlflow (created with pip on the first run). Both get the same
single-row load, one after the other, from wrk (Debian package) when installed, else
from modelward's async load generator. Prints requests/s, p50/p99 latency, the ratio,
our start time (the first start after the deploy, and a restart; the deploy itself
proves and caches the ONNX conversion, its time is printed too) and memory, and checks the
targets of issue 4: >= 10x MLflow's throughput, p99 <= 10 ms, start <= 1.5 s, memory
<= 250 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
VENV = HERE / ".venv-mlflow"
WORK = HERE / ".work" / "serving"
PY = sys.executable
SRC_ENV = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
FEATURES = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
]  # fmt: skip


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def ensure_mlflow() -> Path:
    python = VENV / "bin" / "python"
    mlflow = VENV / "bin" / "mlflow"
    if mlflow.exists():
        return python
    import sklearn
    import skops

    say(f"creating {VENV} with mlflow (first run only)…")
    subprocess.run([PY, "-m", "venv", str(VENV)], check=True)
    subprocess.run(
        [
            str(python), "-m", "pip", "install", "-q", "mlflow",
            f"scikit-learn=={sklearn.__version__}", f"skops=={skops.__version__}",
        ],
        check=True,
    )  # fmt: skip
    return python


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


def tree_rss_mb(pid: int) -> float:
    import psutil

    proc = psutil.Process(pid)
    procs = [proc, *proc.children(recursive=True)]
    return sum(p.memory_info().rss for p in procs if p.is_running()) / 2**20


def prepare() -> tuple[Path, dict, Path, float]:
    """A workspace serving heart v1 in production; the skops file; one request row; the
    seconds the deploy took."""
    import skops.io as sio

    if WORK.exists():
        shutil.rmtree(WORK)
    WORK.mkdir(parents=True)
    model, cleveland, deploy_s = deployed_heart(WORK / "ws")
    skops_file = WORK / "model.skops"
    sio.dump(model, skops_file)
    row = {k: (None if v != v else v) for k, v in cleveland[FEATURES].iloc[0].to_dict().items()}
    return WORK / "ws", row, skops_file, deploy_s


def deployed_heart(root: Path) -> tuple[Any, Any, float]:
    """A new workspace at ``root`` serving the Cleveland logistic-regression pipeline as
    heart v1 in production: the fitted pipeline, the Cleveland frame, the deploy's
    seconds (it proves and caches the ONNX conversion)."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    sys.path.insert(0, str(ROOT / "src"))
    from modelward import Workspace
    from modelward.data import read_data

    heart = read_data(ROOT / "examples" / "heart-disease" / "heart.yml")
    cleveland = heart[heart.site == "cleveland"].drop(columns="site")
    model = Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("model", LogisticRegression(max_iter=1000)),
        ]
    ).fit(cleveland[FEATURES], cleveland["target"])
    ws = Workspace.init(root)
    ws.register("heart", model, data=cleveland[[*FEATURES, "target"]], target="target")
    ws.registry.record_run(
        "validation", model="heart", version=1, inputs={}, results={}, verdict="pass"
    )
    ws.transition("heart", 1, "testing", reason="benchmark")
    began = time.perf_counter()
    ws.deployments.deploy("heart", 1, "production", reason="benchmark")
    deploy_s = time.perf_counter() - began
    ws.close()
    return model, cleveland, deploy_s


def make_token(ws_root: Path) -> str:
    """A predict-scoped token (the server then requires one on every request)."""
    from modelward import Workspace
    from modelward.http.tokens import create_token

    ws = Workspace.open(ws_root)
    try:
        return create_token(ws.db, "benchmark", ["predict"])[1]
    finally:
        ws.close()


def save_mlflow_model(python: Path, skops_file: Path, row: dict) -> Path:
    target = WORK / "mlflow-model"
    script = f"""
import pandas as pd, skops.io as sio, mlflow.sklearn
data = open({str(skops_file)!r}, "rb").read()
model = sio.loads(data, trusted=sio.get_untrusted_types(data=data))
kwargs = {{}}
import inspect
if "skops_trusted_types" in inspect.signature(mlflow.sklearn.save_model).parameters:
    kwargs["skops_trusted_types"] = sio.get_untrusted_types(data=data) + ["numpy.dtype"]
mlflow.sklearn.save_model(model, {str(target)!r},
    input_example=pd.DataFrame([{json.dumps(row)}]).astype("float64"), **kwargs)
"""
    done = subprocess.run([str(python), "-c", script], capture_output=True, text=True)
    if done.returncode:
        raise SystemExit(f"saving the MLflow model failed:\n{done.stderr[-2000:]}")
    return target


def wrk_run(url: str, body: dict, connections: int, duration: int, headers: dict) -> dict:
    script = WORK / "post.lua"
    lines = ['wrk.method = "POST"', f"wrk.body = {json.dumps(json.dumps(body))}"]
    for key, value in {"Content-Type": "application/json", **headers}.items():
        lines.append(f"wrk.headers[{json.dumps(key)}] = {json.dumps(value)}")
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
    errors = re.search(r"Socket errors: (.*)", out)
    return {
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
        "requests_per_s": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50_ms": ms(pct["50"]),
        "p99_ms": ms(pct["99"]),
        "errors": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": errors.group(1) if errors else "",
        "tool": "wrk",
    }


def load(
    url: str, body: dict, connections: int, duration: int, headers: dict | None = None
) -> dict:
    if shutil.which("wrk"):
        return wrk_run(url, body, connections, duration, headers or {})
    sys.path.insert(0, str(ROOT / "src"))
    from modelward.serving.loadgen import run_load

    result = run_load(url, body, connections=connections, seconds=duration, headers=headers)
    return {**result.summary(), "tool": "modelward loadgen"}


def stop(proc: subprocess.Popen) -> int:
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout=60)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def bench_ours(ws_root: Path, row: dict, args: argparse.Namespace) -> dict:
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
    say(f"modelward serve on {base}: load {args.duration}s x {args.connections} connections…")
    url = base + "/v1/models/heart/predict"
    headers = {"Authorization": f"Bearer {args.token_secret}"} if args.token else {}
    warm = load(url, {"inputs": row}, args.connections, 2, headers)
    result = load(url, {"inputs": row}, args.connections, args.duration, headers)
    result["auth"] = "bearer token" if args.token else "none"
    result["warmup_requests"] = warm["requests"]
    result["rss_mb"] = round(tree_rss_mb(proc.pid), 1)
    result["exit_code"] = stop(proc)
    result["start_first_s"], result["start_restart_s"] = round(starts[0], 3), round(starts[1], 3)
    sys.path.insert(0, str(ROOT / "src"))
    from modelward.predlog import predictions

    result["logged_rows"] = predictions(str(ws_root / "logs"), "heart").count("*").fetchall()[0][0]
    return result


def bench_mlflow(row: dict, skops_file: Path, args: argparse.Namespace) -> dict:
    python = ensure_mlflow()
    model_dir = save_mlflow_model(python, skops_file, row)
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
    start = wait_ready(base + "/ping", proc)
    say(f"mlflow models serve on {base}: load {args.duration}s x {args.connections} connections…")
    body = {"dataframe_records": [row]}
    load(base + "/invocations", body, args.connections, 2)
    result = load(base + "/invocations", body, args.connections, args.duration)
    result["rss_mb"] = round(tree_rss_mb(proc.pid), 1)
    result["start_s"] = round(start, 3)
    os.killpg(proc.pid, signal.SIGTERM)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
    return result


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=int, default=15, help="seconds of load per server")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--skip-mlflow", action="store_true", help="only measure modelward")
    parser.add_argument(
        "--token", action="store_true", help="serve with a bearer token required (as production)"
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    tempfile.tempdir = str(WORK)
    ws_root, row, skops_file, deploy_s = prepare()
    args.token_secret = make_token(ws_root) if args.token else None
    ours = bench_ours(ws_root, row, args)
    ours["deploy_s"] = round(deploy_s, 3)
    theirs = None if args.skip_mlflow else bench_mlflow(row, skops_file, args)
    ratio = ours["requests_per_s"] / theirs["requests_per_s"] if theirs else None
    checks = {
        "throughput >= 10x mlflow": ratio is not None and ratio >= 10,
        "p99 <= 10 ms": ours["p99_ms"] <= 10,
        "start <= 1.5 s (first after deploy, and restart)": max(
            ours["start_first_s"], ours["start_restart_s"]
        )
        <= 1.5,
        "memory <= 250 MB": ours["rss_mb"] <= 250,
        # wrk may close connections with requests in flight: those are served and logged
        # but not counted, so the log holds at least every request wrk saw answered.
        "every answered request logged": ours["logged_rows"]
        >= ours["requests"] + ours["warmup_requests"],
        "no errors": ours["errors"] == 0,
    }
    if args.json:
        print(json.dumps({"modelward": ours, "mlflow": theirs, "ratio": ratio, "checks": checks}))
    else:
        print(
            f"load: {args.connections} connections, {args.duration}s, single-row, "
            f"{ours['tool']}, auth: {ours['auth']}"
        )
        print(f"{'':22}{'req/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'RSS MB':>9}{'start s':>9}")
        print(
            f"{'modelward serve':22}{ours['requests_per_s']:>10.0f}{ours['p50_ms']:>9.2f}"
            f"{ours['p99_ms']:>9.2f}{ours['rss_mb']:>9.0f}{ours['start_first_s']:>9.2f}"
        )
        if theirs:
            print(
                f"{'mlflow models serve':22}{theirs['requests_per_s']:>10.0f}"
                f"{theirs['p50_ms']:>9.2f}{theirs['p99_ms']:>9.2f}{theirs['rss_mb']:>9.0f}"
                f"{theirs['start_s']:>9.2f}"
            )
            print(f"ratio: {ratio:.1f}x")
        print(
            f"modelward: deploy {ours['deploy_s']:.2f}s (proves the ONNX conversion), "
            f"restart {ours['start_restart_s']:.2f}s, "
            f"logged {ours['logged_rows']} rows, exit code on SIGTERM {ours['exit_code']}"
        )
        for name, ok in checks.items():
            print(f"  {'PASS' if ok else 'FAIL'}  {name}")
    return 0 if all(checks.values()) else 1


if __name__ == "__main__":
    raise SystemExit(main())
