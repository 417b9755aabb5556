"""Fixtures for the ops kit's tests: the serving tests' workspace and server fixtures, on
SQLite only (the kit's files do not depend on the metadata engine; the tests of several
hosts on PostgreSQL are the scale scenarios' job)."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from deploy.kit import run, tool
from serving.conftest import deployed, heart_ws, start_server

__all__ = ["balancer_of", "deployed", "heart_ws", "nginx", "promtool", "run", "start_server"]


@pytest.fixture
def db_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'ws' / 'modelward.db'}"


def _needs(name: str, package: str, *places: str) -> str:
    found = tool(name, *places)
    if found is None:
        pytest.skip(
            f"needs Debian's {name} (apt-get install {package}; `make test` installs it when "
            "run as root)"
        )
    return found


@pytest.fixture(scope="session")
def nginx() -> str:
    return _needs("nginx", "nginx", "/usr/sbin/nginx")


@pytest.fixture(scope="session")
def promtool() -> str:
    return _needs("promtool", "prometheus", "/usr/bin/promtool")


@pytest.fixture
def balancer_of(nginx: str, tmp_path: Path) -> Iterator[Callable[..., object]]:
    """``start(servers)``: nginx from deploy/nginx/modelward.conf in front of ``servers``
    (each start its own nginx, stopped after the test)."""
    from deploy.balancer import start_balancer, stop_balancer

    started: list[subprocess.Popen[bytes]] = []

    def start(servers: list) -> object:
        balancer = start_balancer(nginx, tmp_path / f"nginx-{len(started)}", servers)
        started.append(balancer.proc)
        return balancer

    yield start
    for proc in started:
        stop_balancer(proc)
