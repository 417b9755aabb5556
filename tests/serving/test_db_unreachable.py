"""A server started while its metadata database is unreachable (issue 13, item 13): it
says so in one log line (password masked), ``/readyz`` is 503 with the reason, a predict is
503 (not "not deployed"), ``/healthz`` stays 200 (alive), and once the database answers the
state loads and the server is ready, without a restart. On PostgreSQL through a port that
refuses connections and then forwards them; on SQLite with the database file on a folder
that appears later."""

from __future__ import annotations

import json
import socket
import sqlite3
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import httpx
import pytest

from .conftest import send_predictions, wait_for

PASSWORD = "s3cret-pw"


class Gate:
    """A TCP port in front of PostgreSQL that refuses connections until ``open()``."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))  # bound, not listening: connections are refused
        self.port = self.sock.getsockname()[1]
        self._closed = threading.Event()

    def open(self) -> None:
        self.sock.listen(64)
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while not self._closed.is_set():
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            upstream = socket.create_connection(self.target)
            for a, b in ((client, upstream), (upstream, client)):
                threading.Thread(target=_pump, args=(a, b), daemon=True).start()

    def close(self) -> None:
        self._closed.set()
        self.sock.close()


def _pump(src: socket.socket, dst: socket.socket) -> None:
    try:
        while data := src.recv(65536):
            dst.sendall(data)
    except OSError:
        pass
    finally:
        for s in (src, dst):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


@dataclass
class Outage:
    """A URL to the workspace's database that does not answer until ``open()``."""

    url: str
    open: Callable[[], None]
    password: str | None


@pytest.fixture
def outage(deployed, tmp_path) -> Iterator[Outage]:
    """PostgreSQL: a gate in front of it (refusing, then forwarding). SQLite: the database
    file on a folder that is not there yet (a volume not mounted), then a copy of it."""
    from sqlalchemy.engine import make_url

    url = make_url(deployed.db_url)
    if url.get_backend_name() == "sqlite":
        later = tmp_path / "not-mounted-yet"

        def mount() -> None:
            later.mkdir()
            with sqlite3.connect(url.database) as src, sqlite3.connect(later / "m.db") as dst:
                src.backup(dst)

        yield Outage(f"sqlite:///{later / 'm.db'}", mount, None)
        return
    gate = Gate((url.host or "127.0.0.1", url.port or 5432))
    through = url.set(host="127.0.0.1", port=gate.port, password=PASSWORD)
    yield Outage(through.render_as_string(hide_password=False), gate.open, PASSWORD)
    gate.close()


def test_a_start_without_the_database_is_not_ready_and_says_why(
    deployed, start_server, cleveland, outage
):
    server = start_server(env={"MODELWARD_DB_URL": outage.url}, wait_ready=False)
    assert server.proc.poll() is None, server.output()
    wait_for(lambda: "metadata database" in server.output(), what="the log line")
    assert httpx.get(server.url + "/healthz", timeout=10).status_code == 200  # alive
    ready = httpx.get(server.url + "/readyz", timeout=10)
    assert ready.status_code == 503
    reason = ready.json()["reason"]
    assert "metadata database unreachable" in reason
    assert "Connection refused" in reason or "unable to open database file" in reason
    row = cleveland.drop(columns="target").fillna(0).iloc[0].to_dict()
    reply = httpx.post(server.url + "/v1/models/heart/predict", json={"inputs": row}, timeout=10)
    assert reply.status_code == 503 and "retry-after" in reply.headers  # before: 404
    outage.open()
    wait_for(lambda: httpx.get(server.url + "/readyz", timeout=10).status_code == 200)
    assert send_predictions(server.url, cleveland, 3)
    assert server.stop() == 0
    output = server.output()
    lines = [json.loads(x) for x in output.splitlines() if x.startswith("{")]
    down = [x for x in lines if "unreachable" in x["message"]]
    assert len(down) == 1 and down[0]["level"] == "error"  # one line, not one per poll
    if outage.password:
        assert outage.password not in output
        assert "postgres:***@127.0.0.1" in down[0]["message"]
    assert any("reachable again" in x["message"] for x in lines)
