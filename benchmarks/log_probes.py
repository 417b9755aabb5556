"""Probes of the prediction log under failure, against real `modelward serve` processes.

    sudo .venv/bin/python benchmarks/log_probes.py [--rows 500] [--only NAME ...]

Each probe breaks something for real on 127.0.0.1 (issue 13, items 5-10 and 13), sends
requests through it, lets it recover, stops the server with SIGTERM and reads the Parquet
log back. It prints one Markdown row per probe: requests tried, requests answered 200
(those the log must hold: "survived" counts them in Parquet exactly once with status
ok), refused ones (422 / 503: none may be in the log as ok), and lost = answered but
not in the log, or there twice. The full-disk probes mount a small tmpfs (root only;
without it they are skipped, saying so).
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import re
import resource
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path[:0] = [str(ROOT / "src"), str(HERE)]
FEATURES = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
]  # fmt: skip


def say(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Tally:
    probe: str
    answered: list[str] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    note: str = ""

    def row(self, logs: str) -> str:
        from modelward.predlog import predictions

        rel = predictions(logs, "heart").filter("status = 'ok'").select("request_id")
        counts = collections.Counter(r[0] for r in rel.fetchall())
        survived = sum(1 for rid in self.answered if counts[rid] == 1)
        refused_ok = sum(1 for rid in self.refused if counts[rid])
        tried = len(self.answered) + len(self.refused)
        lost = len(self.answered) - survived
        return (
            f"| {self.probe} | {tried} | {len(self.answered)} | {survived} | "
            f"{len(self.refused)} ({refused_ok} in the log as ok) | {lost} | {self.note} |"
        )


# -- a workspace and servers --------------------------------------------------------------


def prepare(root: Path) -> tuple[Path, list[dict]]:
    """A workspace serving heart v1 (the Cleveland logistic-regression pipeline), request
    rows."""
    cleveland = deployed_heart(root / "ws")
    return root / "ws", cleveland[FEATURES].fillna(0).to_dict(orient="records")


def deployed_heart(root: Path) -> object:
    """A new workspace at ``root`` serving the Cleveland logistic-regression pipeline as
    heart v1 in production; the Cleveland frame."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

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
    ws.deployments.deploy("heart", 1, "production", reason="benchmark")
    ws.close()
    return cleveland


def set_flush(ws: Path, ms: int) -> None:
    """Publish every ``ms`` (and, when that is long, not before: rows stay in wal/)."""
    import yaml

    path = ws / "policy.yml"
    data = yaml.safe_load(path.read_text())
    data.setdefault("serving", {}).update(flush_ms=ms, flush_rows=1000 if ms < 10_000 else 10**6)
    path.write_text(yaml.safe_dump(data))


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    def stop(self, sig: int = signal.SIGTERM) -> int:
        self.proc.send_signal(sig)
        return self.proc.wait(timeout=60)


def serve(ws: Path, env: dict | None = None, nofile: int | None = None) -> Server:
    log = ws.parent / f"server-{time.monotonic_ns()}.log"
    environ = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "MODELWARD_HOME": str(ws),
               **(env or {})}  # fmt: skip

    proc = subprocess.Popen(
        [sys.executable, "-m", "modelward.cli.main", "serve", "--port", "0"],
        stdout=log.open("wb"), stderr=subprocess.STDOUT, env=environ,
    )  # fmt: skip
    if nofile:  # as `prlimit --pid`, before the server has started
        resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (nofile, nofile))
    until(lambda: "listening on" in log.read_text() or proc.poll() is not None, "listening")
    found = re.search(r"listening on (http://[^\s\"]+)", log.read_text())
    if found is None:
        raise SystemExit(f"the server did not start:\n{log.read_text()}")
    return Server(found.group(1), proc, log)


def until(predicate: Callable[[], object], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit(f"gave up waiting for: {what}")
        time.sleep(0.1)


def send(http, tally: Tally, row: dict, rid: str, body: str | None = None) -> int:
    """The status of one predict; a 503 must say when to retry."""
    headers = {"X-Request-Id": rid, "content-type": "application/json"}
    content = body if body is not None else json.dumps({"inputs": row})
    reply = http.post("/v1/models/heart/predict", content=content, headers=headers)
    (tally.answered if reply.status_code == 200 else tally.refused).append(rid)
    assert reply.status_code != 503 or "retry-after" in reply.headers, reply.headers
    assert reply.status_code in (200, 422, 503), reply.text
    return reply.status_code


def client(url: str):
    import httpx

    return httpx.Client(base_url=url, timeout=30)


@contextmanager
def tmpfs(path: Path, size: str = "2m") -> Iterator[Callable[[bool], None]]:
    """A small real filesystem at ``path``; yields ``full(True|False)`` to fill / free it."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
                          capture_output=True, text=True, check=False)  # fmt: skip
    if done.returncode != 0:
        raise PermissionError(done.stderr.strip())
    filler = path / "filler.bin"

    def full(on: bool) -> None:
        if not on:
            filler.unlink(missing_ok=True)
            return
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while os.write(fd, b"\0" * 4096):
                pass
        except OSError:
            pass
        finally:
            os.close(fd)

    try:
        yield full
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


# -- the probes -----------------------------------------------------------------------------

BAD = ["9223372036854775808", "-1e19", "18446744073709551616", "1e19", "1e20"]


def huge_numbers(ws: Path, rows: list[dict], n: int) -> str:
    """Item 5: numbers beyond int64 / float64 among ordinary requests."""
    tally = Tally("integers beyond int64, floats beyond float64 (one request in 5)")
    server = serve(ws)
    with client(server.url) as http:
        for i in range(n):
            row = rows[i % len(rows)]
            if i % 5 == 4:
                bad = BAD[i % len(BAD)]
                field_, raw = ("oldpeak", "1e400") if i % 10 == 9 else ("age", bad)
                body = re.sub(rf'"{field_}": [^,}}]+', f'"{field_}": {raw}',
                              json.dumps({"inputs": row}))  # fmt: skip
                assert send(http, tally, row, f"bad-{i}", body) == 422
            else:
                send(http, tally, row, f"ok-{i}")
    tally.note = f"every bad one 422; exit {server.stop()}"
    return tally.row(str(ws / "logs"))


def storage_down_at_start(ws: Path, rows: list[dict], n: int) -> str:
    """Item 6: log storage full when the server starts (with a killed server's rows to
    replay); it serves, then publishes once storage returns."""
    tally = Tally("log storage full at start (a killed server's rows to replay)")
    with tmpfs(ws.parent / "logdisk") as full:
        env = {"MODELWARD_LOGS": str(ws.parent / "logdisk" / "logs")}
        set_flush(ws, 600_000)
        victim = serve(ws, env)
        with client(victim.url) as http:
            for i in range(n // 5):
                send(http, tally, rows[i % len(rows)], f"killed-{i}")
        victim.stop(signal.SIGKILL)
        set_flush(ws, 1000)
        full(True)
        server = serve(ws, env)
        with client(server.url) as http:
            for i in range(n):
                send(http, tally, rows[i % len(rows)], f"down-{i}")
            full(False)
        code = server.stop()
        tally.note = f"started and served while full; exit {code} after storage returned"
        return tally.row(env["MODELWARD_LOGS"])  # before the disk is unmounted


def full_write_ahead_disk(ws: Path, rows: list[dict], n: int) -> str:
    """Item 7: the write-ahead disk fills up under load, then space returns."""
    tally = Tally("write-ahead disk full under load, then space returns")
    set_flush(ws, 600_000)
    with tmpfs(ws / "wal", "1m") as full:
        server = serve(ws)
        with client(server.url) as http:
            for i in range(n):
                if i == n // 3:
                    full(True)
                if i == 2 * n // 3:
                    full(False)
                    until(lambda: http.get("/readyz").status_code == 200, "ready again")
                send(http, tally, rows[i % len(rows)], f"wal-{i}")
        tally.note = f"refused ones were 503 + Retry-After; exit {server.stop()}"
    return tally.row(str(ws / "logs"))


def out_of_descriptors(ws: Path, rows: list[dict], n: int) -> str:
    """Item 8: the server runs out of file descriptors (prlimit --nofile=200) while rows
    arrive; the writer recovers by itself."""
    tally = Tally("out of file descriptors (RLIMIT_NOFILE 200) while serving")
    set_flush(ws, 200)
    server = serve(ws, nofile=200)
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    peak = 0.0
    with client(server.url) as http:
        send(http, tally, rows[0], "fd-first")
        hogs = [socket.create_connection((host, int(port))) for _ in range(250)]
        for i in range(n):
            send(http, tally, rows[i % len(rows)], f"fd-{i}")
        text = http.get("/metrics").text
        peak = float(re.search(r"^modelward_log_queue_rows (\S+)", text, re.M).group(1))
        for hog in hogs:
            hog.close()
        logs = str(ws / "logs")
        until(lambda: _logged(logs) >= len(tally.answered), "published without a restart")
    tally.note = f"queue metric during the drought: {peak:g} rows; exit {server.stop()}"
    return tally.row(str(ws / "logs"))


def _logged(logs: str) -> int:
    from modelward.predlog import predictions

    return predictions(logs, "heart").count("*").fetchall()[0][0]


def adopted_orphans(ws: Path, rows: list[dict], n: int) -> str:
    """Item 10: two servers on one workspace, one SIGKILLed with rows in its segment; the
    other adopts them without a restart."""
    tally = Tally("two servers on one workspace, one SIGKILLed: the other adopts")
    set_flush(ws, 600_000)
    survivor, victim = serve(ws), serve(ws)
    with client(victim.url) as http:
        for i in range(n):
            send(http, tally, rows[i % len(rows)], f"orphan-{i}")
    victim.stop(signal.SIGKILL)
    logs = str(ws / "logs")
    began = time.monotonic()
    until(lambda: _logged(logs) >= len(tally.answered), "adopted")
    waited = time.monotonic() - began
    tally.note = f"adopted {waited:.1f} s after the kill; survivor exit {survivor.stop()}"
    return tally.row(logs)


def replayed_twice(ws: Path, rows: list[dict], n: int) -> str:
    """Item 9: a crash between publishing a segment and deleting it (the segment is put
    back after its replay, as such a crash leaves it); the next start replays it again."""
    tally = Tally("crash between publishing a segment and deleting it, then a restart")
    set_flush(ws, 600_000)
    victim = serve(ws)
    with client(victim.url) as http:
        for i in range(n):
            send(http, tally, rows[i % len(rows)], f"twice-{i}")
    victim.stop(signal.SIGKILL)
    saved = {p.name: p.read_bytes() for p in (ws / "wal").glob("*.wal")}
    codes = [serve(ws).stop()]  # replays them: Parquet written, segments deleted
    for name, data in saved.items():
        (ws / "wal" / name).write_bytes(data)
    codes.append(serve(ws).stop())
    tally.note = f"{len(saved)} segment(s) replayed twice; exits {codes}"
    return tally.row(str(ws / "logs"))


def database_down(ws: Path, rows: list[dict], n: int) -> str:
    """Item 13: the metadata database is missing when the server starts (SQLite on a
    folder not there yet), then appears."""
    tally = Tally("metadata database unreachable at start, then back")
    later = ws.parent / "later"
    env = {"MODELWARD_DB_URL": f"sqlite:///{later / 'modelward.db'}"}
    server = serve(ws, env)
    with client(server.url) as http:
        ready = http.get("/readyz")
        for i in range(n // 5):
            send(http, tally, rows[i % len(rows)], f"nodb-{i}")
        later.mkdir()
        shutil.copy(ws / "modelward.db", later / "modelward.db")
        until(lambda: http.get("/readyz").status_code == 200, "ready")
        for i in range(n):
            send(http, tally, rows[i % len(rows)], f"db-{i}")
    tally.note = (
        f"/readyz {ready.status_code} ({ready.json().get('reason', '')[:40]}…) until then; "
        f"exit {server.stop()}"
    )
    return tally.row(str(ws / "logs"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=500, help="requests per probe")
    parser.add_argument("--only", nargs="*", help="run these probes only (function names)")
    args = parser.parse_args()
    print("| probe | tried | answered 200 | in the log once (ok) | refused | lost | notes |")
    print("|---|---|---|---|---|---|---|")
    probes = [huge_numbers, storage_down_at_start, full_write_ahead_disk, out_of_descriptors,
              replayed_twice, adopted_orphans, database_down]  # fmt: skip
    if args.only:
        probes = [p for p in probes if p.__name__ in args.only]
    for probe in probes:
        with tempfile.TemporaryDirectory(prefix="mw-probe-") as tmp:
            ws, rows = prepare(Path(tmp))
            say(f"{probe.__name__}…")
            try:
                print(probe(ws, rows, args.rows), flush=True)
            except PermissionError as exc:
                print(f"| {probe.__name__} | skipped: cannot mount a tmpfs ({exc}) |")


if __name__ == "__main__":
    main()
