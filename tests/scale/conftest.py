"""A team's deployment on one machine: three hosts in network namespaces (two replica
hosts, ``a`` and ``b``, and a client host ``c``), PostgreSQL reached from each replica
host over its own link, nginx in the root namespace balancing the replicas for the client.

Each replica host has its own workspace folder (its policy and its write-ahead folder on
its own disk); the metadata database, the artifacts and the prediction log are shared.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import FEATURES, ROOT
from deploy.balancer import Balancer, start_balancer, stop_balancer
from deploy.conftest import nginx
from scale.hosts import Host, make_hosts, remove_hosts, unavailable, wait_until
from serving.conftest import Server, deployed, heart_ws

__all__ = ["Team", "answered", "assembled", "deployed", "heart_ws", "hosts", "nginx", "team"]

PG_PORT = 5432
REPLICA_PORT = 8000
CLIENT = Path(__file__).with_name("client.py")


@pytest.fixture(scope="session")
def hosts() -> Iterator[list[Host]]:
    reason = unavailable()
    if reason:
        pytest.skip(f"several hosts: {reason}")
    made = make_hosts(["a", "b", "c"])
    yield made
    remove_hosts(made)


@pytest.fixture
def db_url(pg_url: str) -> str:
    """The hosts share one PostgreSQL database (SQLite is one machine's)."""
    return pg_url


@dataclass
class Team:
    hosts: list[Host]
    ws: Any  # the root namespace's view of the shared workspace (its own folder)
    tmp: Path
    db_url: str
    token: str
    rows: Path
    nginx: str
    replicas: dict[str, Server] = field(default_factory=dict)
    balancer: Balancer | None = None

    @property
    def client_host(self) -> Host:
        return self.hosts[2]

    def home(self, host: Host) -> Path:
        return self.tmp / f"home-{host.name}"

    def env(self, host: Host) -> dict[str, str]:
        """A host's environment: its own workspace folder, the shared database (through
        its link), artifacts and log."""
        environ = {k: v for k, v in os.environ.items() if not k.startswith("MODELWARD_")}
        return environ | {
            "PYTHONPATH": str(ROOT / "src"),
            "MODELWARD_HOME": str(self.home(host)),
            "MODELWARD_DB_URL": self.db_url.replace(
                f"127.0.0.1:{PG_PORT}", f"{host.gateway}:{PG_PORT}"
            ),
            "MODELWARD_ARTIFACTS": self.ws.artifacts_url,
            "MODELWARD_LOGS": self.ws.logs_url,
            "MODELWARD_ACTOR": f"ops@{host.name}",
            "TYPER_USE_RICH": "0",
        }

    def cli(self, host: Host, *args: str) -> subprocess.CompletedProcess[str]:
        """``modelward ARGS`` run on ``host``."""
        return subprocess.run(
            host.argv(sys.executable, "-m", "modelward.cli.main", *args),
            capture_output=True, text=True, env=self.env(host), timeout=120, check=False,
        )  # fmt: skip

    def start_replica(self, host: Host) -> Server:
        """``modelward serve`` on ``host``'s own address, once /readyz answers 200."""
        log = self.tmp / f"serve-{host.name}-{len(self.replicas)}.log"
        with log.open("wb") as out:
            proc = subprocess.Popen(
                host.argv(sys.executable, "-m", "modelward.cli.main", "serve",
                          "--host", host.address, "--port", str(REPLICA_PORT)),
                stdout=out, stderr=subprocess.STDOUT, env=self.env(host),
            )  # fmt: skip
        server = Server(f"http://{host.address}:{REPLICA_PORT}", proc, log)
        self.replicas[host.name] = server
        wait_until(lambda: _ready(server), 90, f"the replica on {host.name} is ready")
        return server

    def traffic(
        self, count: int, out: Path, threads: int = 4, *, kind: str = "predict"
    ) -> subprocess.Popen[bytes]:
        """The client host sending ``count`` requests through the balancer (0: until
        ``out``.stop exists): predictions of the rows, or chat calls (``kind="chat"``,
        the official openai SDK); read the answers with :func:`answered`."""
        assert self.balancer is not None
        return subprocess.Popen(
            self.client_host.argv(sys.executable, str(CLIENT), kind, self.balancer.url,
                                  self.token, str(self.rows), str(count), str(out),
                                  str(threads)),
            env={**os.environ, "PYTHONPATH": str(ROOT / "src")},
        )  # fmt: skip


def _ready(server: Server) -> bool:
    assert server.proc.poll() is None, server.output()
    try:
        return httpx.get(server.url + "/readyz", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def answered(out: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in out.read_text().splitlines() if line.strip()]


@contextmanager
def assembled(
    hosts: list[Host], ws: Any, nginx: str, tmp: Path, *, rows: Path, ports: tuple[int, ...] = ()
) -> Iterator[Team]:
    """Replicas of ``ws`` on hosts a and b (each its own folder with ``ws``'s policy.yml and
    llm.yml, if any, its services' addresses made its own), nginx in front for host c, and
    a predict token for the client. ``ports``: more root services (127.0.0.1) each
    replica host reaches at its gateway address, beside PostgreSQL."""
    from modelward import Workspace

    _, secret = ws.tokens.create("client", ["predict"])
    made = Team(hosts, ws, tmp, str(ws.db_url), secret, rows, nginx)
    for host in hosts[:2]:
        Workspace.init(made.home(host), db_url=made.db_url).close()
        for name in ("policy.yml", "llm.yml"):
            source = Path(ws.root) / name
            if source.exists():
                text = source.read_text()
                for port in ports:
                    text = text.replace(f"127.0.0.1:{port}", f"{host.gateway}:{port}")
                (made.home(host) / name).write_text(text)
        for port in (PG_PORT, *ports):
            host.reach(port)
    try:
        servers = [made.start_replica(host) for host in hosts[:2]]
        made.balancer = start_balancer(
            nginx, tmp / "nginx", servers, address=made.client_host.gateway
        )
        yield made
    finally:
        if made.balancer is not None:
            stop_balancer(made.balancer.proc)
        for server in made.replicas.values():
            if server.proc.poll() is None:
                server.proc.kill()
                server.proc.wait(timeout=20)
        for host in hosts[:2]:
            for port in list(host.relays):
                host.cut(port)


@pytest.fixture
def team(hosts, deployed, nginx, cleveland, tmp_path) -> Iterator[Team]:
    """heart v1 in production (v2 validated, in testing), replicas on hosts a and b behind
    nginx, a predict token for the client."""
    data = cleveland[FEATURES].astype({"age": "int64"}).head(50)
    rows = tmp_path / "rows.json"
    rows.write_text(json.dumps([
        {k: (None if v != v else v) for k, v in row.items()} for row in data.to_dict("records")
    ]))  # fmt: skip
    with assembled(hosts, deployed, nginx, tmp_path, rows=rows) as made:
        yield made
