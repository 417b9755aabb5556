"""Fixtures for the serving tests: a workspace with two heart-disease versions ready to
deploy, and a real ``modelward serve`` process on 127.0.0.1 (port 0)."""

from __future__ import annotations

import os
import re
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
    """``heart`` v1 (logistic regression) and v2 (random forest), validated, in testing."""
    data = cleveland[[*FEATURES, "target"]]
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

    def start(*args: str, env: dict[str, str] | None = None, wait_ready: bool = True) -> Server:
        log = tmp_path / f"server-{len(servers)}.log"
        environ = {**os.environ, "PYTHONPATH": str(ROOT / "src"), **(env or {})}
        handle = log.open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelward.cli.main", "serve", "--port", "0", *args],
            stdout=handle,
            stderr=subprocess.STDOUT,
            env=environ,
        )
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


def set_policy(ws, section: str, key: str, value) -> None:
    """Change one policy value in the workspace's policy.yml (and drop the cached one)."""
    import yaml

    path = Path(ws.root) / "policy.yml"
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    data.setdefault(section, {})[key] = value
    path.write_text(yaml.safe_dump(data), encoding="utf-8")
    ws.__dict__.pop("policy", None)
