"""Fixtures for the ops kit's tests: the serving tests' workspace and server fixtures, on
SQLite only (the kit's files do not depend on the metadata engine; the tests of several
hosts on PostgreSQL are the scale scenarios' job)."""

from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from deploy.kit import tool
from serving.conftest import deployed, heart_ws, start_server

__all__ = ["deployed", "heart_ws", "nginx", "promtool", "start_server"]


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


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, capture_output=True, text=True, cwd=cwd, timeout=120, check=False)
