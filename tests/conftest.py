"""Fixtures every test module shares.

- ``db_url``: parametrized over SQLite (always) and PostgreSQL (whenever a server answers
  on 127.0.0.1:5432; each test gets a throwaway database, dropped afterwards). Without a
  server the PostgreSQL cases are skipped with the reason shown in the summary (-ra).
- ``workspace``: a fresh workspace on ``db_url``.
- ``cli``: runs ``modelward …`` in process and returns exit code, stdout and stderr.
- ``cleveland`` / ``heart``: the UCI data shipped in examples/heart-disease/.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest

ROOT = Path(__file__).resolve().parents[1]
# Tables are as wide as $COLUMNS; a terminal's (or a test worker's) 80 columns would fold
# the cells the CLI tests read.
os.environ["COLUMNS"] = "160"
HEART_SPEC = ROOT / "examples" / "heart-disease" / "heart.yml"
FEATURES = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
]  # fmt: skip

PG_ADMIN_URL = os.environ.get(
    "MODELWARD_TEST_PG_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
)


@pytest.fixture(autouse=True)
def _isolated_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No test sees the developer's workspace or database settings."""
    for var in ("MODELWARD_HOME", "MODELWARD_DB_URL", "MODELWARD_ARTIFACTS", "MODELWARD_LOGS"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("MODELWARD_ACTOR", "tester")
    monkeypatch.chdir(tmp_path)


# -- PostgreSQL ---------------------------------------------------------------------------

_pg_status: dict[str, str | None] = {}


def _pg_unavailable() -> str | None:
    """None when a PostgreSQL server answers, else why not (cached for the session)."""
    if "reason" not in _pg_status:
        import sqlalchemy as sa

        try:
            engine = sa.create_engine(PG_ADMIN_URL, connect_args={"connect_timeout": 3})
            with engine.connect() as conn:
                conn.execute(sa.text("SELECT 1"))
            engine.dispose()
            _pg_status["reason"] = None
        except Exception as exc:  # noqa: BLE001 - any failure means: skip PostgreSQL cases
            first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            _pg_status["reason"] = f"PostgreSQL not reachable at {PG_ADMIN_URL}: {first}"
    return _pg_status["reason"]


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A throwaway PostgreSQL database, dropped after the test."""
    reason = _pg_unavailable()
    if reason:
        pytest.skip(reason)
    import sqlalchemy as sa

    name = f"mw_test_{uuid.uuid4().hex[:12]}"
    admin = sa.create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with admin.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        admin.dispose()


@pytest.hookimpl(tryfirst=True)  # before the fixtures' own params are applied
def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """A module marked ``sqlite_only`` runs its ``db_url`` tests on SQLite alone: its subject
    sits above the storage layer (HTTP, statistics, the gateway's transport), and the
    storage layer's own tests (registry, catalog, concurrency, rollouts, backups, the
    dashboard's SQL) run on both databases."""
    if "db_url" not in metafunc.fixturenames:
        return
    if metafunc.definition.get_closest_marker("sqlite_only") is None:
        return
    for mark in metafunc.definition.iter_markers("parametrize"):
        names = mark.args[0]
        if "db_url" in (names.replace(" ", "").split(",") if isinstance(names, str) else names):
            return  # the test chose its databases itself
    # a mark, not metafunc.parametrize: pytest then leaves the fixture's own params out
    metafunc.definition.add_marker(pytest.mark.parametrize("db_url", ["sqlite"], indirect=True))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The metadata DB URL for a test: SQLite in tmp_path, or a throwaway PostgreSQL DB."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'ws' / 'modelward.db'}"
    return str(request.getfixturevalue("pg_url"))


@pytest.fixture
def workspace(tmp_path: Path, db_url: str, monkeypatch: pytest.MonkeyPatch):
    """A fresh workspace at tmp_path/ws; the CLI finds it through MODELWARD_HOME."""
    from modelward import Workspace

    root = tmp_path / "ws"
    if not db_url.startswith("sqlite"):
        monkeypatch.setenv("MODELWARD_DB_URL", db_url)
    monkeypatch.setenv("MODELWARD_HOME", str(root))
    ws = Workspace.init(root, db_url=db_url, policy=heart_policy())
    yield ws
    ws.close()


def heart_policy():
    """The heart example's policy (examples/heart-disease/policy.yml): the defaults, with
    fairness judged over sex and age bands."""
    from modelward import load_policy

    return load_policy(ROOT / "examples" / "heart-disease" / "policy.yml")


# -- the CLI ------------------------------------------------------------------------------


@dataclass
class Ran:
    exit_code: int
    stdout: str
    stderr: str

    @property
    def json(self):  # noqa: ANN201 - any JSON value
        import json

        return json.loads(self.stdout)


@pytest.fixture
def cli():
    """``cli("models", "list", "--json")`` runs the command in process."""
    from typer.testing import CliRunner

    from modelward.cli.main import app

    runner = CliRunner()

    def run(*args: str, input: str | None = None) -> Ran:
        result = runner.invoke(app, [str(a) for a in args], input=input, catch_exceptions=False)
        return Ran(result.exit_code, result.stdout, result.stderr)

    return run


# -- data ---------------------------------------------------------------------------------


@pytest.fixture(scope="session")
def heart() -> pd.DataFrame:
    """All four hospitals, with a ``site`` column."""
    from modelward.data import read_data

    return read_data(HEART_SPEC)


@pytest.fixture(scope="session")
def cleveland(heart: pd.DataFrame) -> pd.DataFrame:
    return heart[heart.site == "cleveland"].drop(columns="site").reset_index(drop=True)


def make_pipeline(kind: str = "logreg", seed: int = 0):
    """A small imputing pipeline over the 13 features."""
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    estimator = (
        LogisticRegression(max_iter=1000)
        if kind == "logreg"
        else RandomForestClassifier(n_estimators=30, max_depth=4, random_state=seed)
    )
    return Pipeline(
        [
            ("impute", SimpleImputer(strategy="median")),
            ("scale", StandardScaler()),
            ("model", estimator),
        ]
    )


@pytest.fixture(scope="session")
def fitted(cleveland: pd.DataFrame):
    """A logistic-regression pipeline fitted on Cleveland."""
    return make_pipeline("logreg").fit(cleveland[FEATURES], cleveland["target"])


@pytest.fixture(scope="session")
def fitted_forest(cleveland: pd.DataFrame):
    return make_pipeline("forest").fit(cleveland[FEATURES], cleveland["target"])


@pytest.fixture
def model_file(tmp_path: Path, fitted) -> Path:
    """The fitted pipeline saved as a .skops file."""
    import skops.io as sio

    path = tmp_path / "model.skops"
    sio.dump(fitted, path)
    return path


@pytest.fixture
def cleveland_csv(tmp_path: Path, cleveland: pd.DataFrame) -> Path:
    path = tmp_path / "cleveland.csv"
    cleveland.to_csv(path, index=False)
    return path


# -- Redis (the one on 127.0.0.1:6379) -----------------------------------------------------

REDIS_URL = "redis://127.0.0.1:6379/0"


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own on the Redis at 127.0.0.1:6379, cleaned up after."""
    import redis

    client = redis.Redis.from_url(REDIS_URL, socket_connect_timeout=2)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        pytest.skip(f"needs Redis at 127.0.0.1:6379 (apt-get install redis-server): {exc}")
    prefix = f"mwtest-{uuid.uuid4().hex[:12]}"
    yield prefix
    keys = list(client.scan_iter(f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


# -- S3 (moto's standalone server) ----------------------------------------------------------


@pytest.fixture(scope="session")
def s3_server():
    """moto's S3 server on 127.0.0.1 (a random free port) for the session, stopped after."""
    from s3server import S3Server

    server = S3Server()
    server.start()
    yield server
    server.stop()


@pytest.fixture
def s3(s3_server, monkeypatch: pytest.MonkeyPatch):
    """A fresh bucket on the S3 server (``s3.bucket``); this process and the processes it
    starts reach it through the standard AWS variables (``AWS_ENDPOINT_URL``, keys)."""
    for name, value in s3_server.env.items():
        monkeypatch.setenv(name, value)
    s3_server.bucket = s3_server.new_bucket()
    yield s3_server
    import s3fs

    s3fs.S3FileSystem.clear_instance_cache()  # no client of this test's settings is reused
