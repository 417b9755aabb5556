"""Fixtures for the serving tests: a workspace with two heart-disease versions ready to
deploy, and a real ``modelward serve`` process on 127.0.0.1 (port 0)."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from conftest import FEATURES, ROOT


def _validated(ws, name: str, version: int) -> None:
    ws.registry.record_run(
        "validation",
        model=name,
        version=version,
        inputs={},
        results={"note": "test fixture"},
        verdict="pass",
    )
    ws.transition(name, version, "testing", reason="fixture")


@pytest.fixture
def heart_ws(workspace, cleveland, fitted, fitted_forest):
    """``heart`` v1 (logistic regression) and v2 (random forest), validated, in testing.

    ``age`` is registered as an integer type, so the schema says integer explicitly (a
    fraction is refused, 64-bit bounds apply); read from the CSV it would be a float
    column of whole numbers, which accepts any number (tests/serving/test_missing_values.py).
    """
    data = cleveland[[*FEATURES, "target"]].astype({"age": "int64"})
    workspace.register("heart", fitted, data=data, target="target")
    workspace.register("heart", fitted_forest, data=data, target="target")
    for version in (1, 2):
        _validated(workspace, "heart", version)
    return workspace


@pytest.fixture
def deployed(heart_ws):
    """heart v1 serving production."""
    heart_ws.deployments.deploy("heart", 1, "production", reason="fixture")
    return heart_ws


@dataclass
class Server:
    url: str
    proc: subprocess.Popen
    log: Path

    def stop(self, sig: int | None = None, timeout: float = 20) -> int:
        import signal

        if self.proc.poll() is None:
            self.proc.send_signal(sig or signal.SIGTERM)
        return self.proc.wait(timeout=timeout)

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture
def start_server(tmp_path: Path) -> Iterator[Callable[..., Server]]:
    """Start ``modelward serve --port 0`` in a subprocess; returns once it prints its URL."""
    servers: list[Server] = []

    def start(
        *args: str,
        env: dict[str, str] | None = None,
        wait_ready: bool = True,
        nofile: int | None = None,
    ) -> Server:
        """``nofile``: the process's limit of open file descriptors (RLIMIT_NOFILE)."""
        log = tmp_path / f"server-{len(servers)}.log"
        environ = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
        handle = log.open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelward.cli.main", "serve", "--port", "0", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=environ,
        )
        if nofile is not None:  # as `prlimit --pid`: set from outside, before it has started
            resource.prlimit(proc.pid, resource.RLIMIT_NOFILE, (nofile, nofile))
        server = Server("", proc, log)
        servers.append(server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            found = re.search(r"listening on (http://[^\s\"]+)", server.output())
            if found:
                server.url = found.group(1)
                break
            if proc.poll() is not None:
                return server
            time.sleep(0.05)
        else:
            raise AssertionError(f"server did not start:\n{server.output()}")
        if wait_ready:
            import httpx

            while time.monotonic() < deadline:
                try:
                    if httpx.get(server.url + "/readyz", timeout=2).status_code == 200:
                        break
                except httpx.HTTPError:
                    pass
                time.sleep(0.05)
        return server

    yield start
    for server in servers:
        if server.proc.poll() is None:
            server.proc.kill()
            server.proc.wait(timeout=10)


def send_predictions(url: str, cleveland, n: int, *, start: int = 0) -> list[str]:
    """Send ``n`` Cleveland rows one request each; the request ids (all answered 200)."""
    import httpx

    rows = cleveland[FEATURES].fillna(0).iloc[start : start + n].to_dict(orient="records")
    ids = []
    with httpx.Client(base_url=url, timeout=30) as http:
        for row in rows:
            reply = http.post("/v1/models/heart/predict", json={"inputs": row})
            assert reply.status_code == 200, reply.text
            ids.append(reply.json()["request_id"])
    return ids


def logged_ids(ws, status: str | None = None) -> list[str]:
    """The request ids in the Parquet log of ``heart`` (each as often as it is there):
    published rows only, not the write-ahead folder's."""
    from modelward.predlog import predictions

    rel = predictions(str(getattr(ws, "logs_url", ws)), "heart")
    if status is not None:
        rel = rel.filter(f"status = '{status}'")
    return [r[0] for r in rel.select("request_id").fetchall()]


def wait_for(predicate: Callable[[], object], timeout: float = 60.0, what: str = "") -> None:
    """Poll ``predicate`` until it is true (a deadline against hanging, not a timing claim)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"still not true after {timeout:g} s: {what}")
        time.sleep(0.1)


class SmallDisk:
    """A real, tiny filesystem (tmpfs) mounted at ``path``: ``fill()`` takes all its free
    space (writes then fail with ENOSPC, as on a full disk), ``free()`` gives it back."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.filler = path / "filler.bin"

    def fill(self) -> None:
        chunk = b"\0" * 4096
        fd = os.open(self.filler, os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        try:
            while os.write(fd, chunk):
                pass
        except OSError:
            pass  # ENOSPC: full
        finally:
            os.close(fd)

    def free(self) -> None:
        self.filler.unlink(missing_ok=True)


def mount_small_disk(path: Path, size: str = "2m") -> SmallDisk:
    """Mount a tmpfs of ``size`` at ``path`` (created); skip the test, saying why, where
    mounting is not permitted (not root, or a container without CAP_SYS_ADMIN)."""
    path.mkdir(parents=True, exist_ok=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        pytest.skip(f"a full disk needs a small tmpfs, and mount failed: {done.stderr.strip()}")
    return SmallDisk(path)


@pytest.fixture
def small_disks() -> Iterator[Callable[..., SmallDisk]]:
    """``mount(path)``: a small real filesystem at ``path``, unmounted after the test."""
    mounted: list[SmallDisk] = []

    def mount(path: Path, size: str = "2m") -> SmallDisk:
        disk = mount_small_disk(path, size)
        mounted.append(disk)
        return disk

    yield mount
    for disk in mounted:
        subprocess.run(["umount", "-l", str(disk.path)], capture_output=True, check=False)


@dataclass
class Live:
    """A server running in a thread of the test process (real socket, real uvicorn)."""

    url: str
    app: object
    ws: object
    server: object
    thread: object

    def client(self, **headers: str):
        import httpx

        return httpx.Client(base_url=self.url, headers=headers, timeout=30)

    def flush(self) -> None:
        self.app.writer.flush()  # type: ignore[attr-defined]

    def wait_for(self, predicate, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if predicate():
                return
            time.sleep(0.05)
        raise AssertionError("condition not met in time")


def start_live(ws, **options) -> Live:
    import socket
    import threading

    import uvicorn

    from modelward.serving.run import ServeOptions, create_app

    app = create_app(ws, ServeOptions(poll=0.1, **options))
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    config = uvicorn.Config(app, lifespan="on", log_config=None, access_log=False, loop="asyncio")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started:
        if time.monotonic() > deadline or not thread.is_alive():
            raise AssertionError("in-process server did not start")
        time.sleep(0.02)
    return Live(f"http://127.0.0.1:{sock.getsockname()[1]}", app, ws, server, thread)


def stop_live(live: Live) -> None:
    live.server.should_exit = True  # type: ignore[attr-defined]
    live.thread.join(timeout=30)  # type: ignore[attr-defined]


@pytest.fixture
def live(deployed) -> Iterator[Live]:
    """heart v1 in production, served by a real uvicorn in a thread (port 0)."""
    server = start_live(deployed)
    yield server
    stop_live(server)


def tear_pages(path: Path) -> None:
    """Overwrite the data pages of the Parquet file ``path``, keeping its footer: the file
    lists and counts its rows, and reading them fails (a torn write, a bad disk)."""
    data = bytearray(path.read_bytes())
    footer = 8 + int.from_bytes(data[-8:-4], "little")
    data[4 : len(data) - footer] = b"\xff" * (len(data) - footer - 4)
    path.write_bytes(bytes(data))


def set_policy(ws, section: str, key: str, value) -> None:
    """Change one policy value in the workspace's policy.yml (and drop the cached one)."""
    import yaml

    path = Path(ws.root) / "policy.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault(section, {})[key] = value
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    ws.__dict__.pop("policy", None)
