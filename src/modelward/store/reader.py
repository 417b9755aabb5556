"""Read-only access to the metadata DB through its DB-API driver, without SQLAlchemy.

A command that only reads (``models list``, ``versions show``, ``history``, ``runs``)
would spend most of its start importing SQLAlchemy and building its ORM (about 0.4 s of
0.7 on a 2-core machine) to run three short SELECTs. The :class:`Reader` runs plain SQL
on the driver itself: ``sqlite3`` (standard library) for the default workspace,
``psycopg`` for PostgreSQL. Queries are written with ``:name`` parameters and use only
SQL both databases accept.

Each thread gets its own connection (a server reads from several threads; SQLite
connections must stay on theirs). SQLite connections run in WAL mode like the writers'
and read in deferred transactions, so they never wait for a writer; each
:meth:`Reader.snapshot` is one transaction, so the statements of one read see one state.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from modelward.errors import ConfigError, StorageError
from modelward.redact import redact
from modelward.store.urls import driver_url, remember_url_secrets

__all__ = ["Reader", "Rows", "in_list", "json_value", "moment"]

Rows = list[tuple[Any, ...]]
_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class Reader:
    """Plain-SQL reads of the metadata DB at ``url`` (a SQLAlchemy-style URL)."""

    def __init__(self, url: str) -> None:
        remember_url_secrets(url)
        self.url = url
        self.dialect = _dialect(url)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._open: list[Any] = []

    def revision(self) -> str | None:
        """The schema's Alembic revision, or None before the first migration."""
        try:
            rows = self.rows("SELECT version_num FROM alembic_version")
        except StorageError:
            if self._has_table("alembic_version"):
                raise
            return None
        return str(rows[0][0]) if rows else None

    def rows(self, sql: str, params: Mapping[str, Any] | None = None) -> Rows:
        """One statement's rows (its own transaction unless inside :meth:`snapshot`)."""
        with self.snapshot() as run:
            return run(sql, params)

    @contextmanager
    def snapshot(self) -> Iterator[Any]:
        """A read transaction: yields ``run(sql, params) -> rows`` for its statements."""
        conn = self._connection()
        depth = getattr(self._local, "depth", 0)
        with self._translate():
            if depth == 0:
                _begin(conn, self.dialect)
            self._local.depth = depth + 1
            try:
                yield lambda sql, params=None: self._run(conn, sql, params)
            finally:
                self._local.depth = depth
                if depth == 0:
                    conn.rollback()

    def close(self) -> None:
        with self._lock:
            conns, self._open = self._open, []
        for conn in conns:
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 - closing what may already be gone
                pass
        self._local = threading.local()

    def _run(self, conn: Any, sql: str, params: Mapping[str, Any] | None) -> Rows:
        cursor = conn.cursor()
        try:
            if self.dialect == "sqlite":
                cursor.execute(sql, _sqlite_params(params or {}))
            else:
                cursor.execute(_PARAM.sub(r"%(\1)s", sql), dict(params or {}))
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def _connection(self) -> Any:
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            return conn
        with self._translate():
            conn = _connect(self.url, self.dialect)
        self._local.conn, self._local.pid, self._local.depth = conn, os.getpid(), 0
        with self._lock:
            self._open.append(conn)
        return conn

    def _has_table(self, name: str) -> bool:
        if self.dialect == "sqlite":
            sql = "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :name"
        else:
            sql = "SELECT 1 FROM information_schema.tables WHERE table_name = :name"
        return bool(self.rows(sql, {"name": name}))

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except (StorageError, ConfigError):
            raise
        except Exception as exc:
            if not _is_db_error(exc):
                raise
            line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StorageError(
                redact(
                    f"the metadata DB at {self.url} failed: {line}; "
                    "check that it is reachable and MODELWARD_DB_URL is right"
                )
            ) from exc


def moment(value: Any) -> datetime:
    """A stored time as an aware UTC datetime (SQLite keeps text, PostgreSQL timestamps)."""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def json_value(value: Any) -> Any:
    """A JSON column's value (SQLite keeps text; psycopg has parsed it already)."""
    return json.loads(value) if isinstance(value, str | bytes) else value


def _dialect(url: str) -> str:
    scheme = url.split(":", 1)[0].split("+", 1)[0].lower()
    if scheme in ("sqlite", "postgresql", "postgres"):
        return "sqlite" if scheme == "sqlite" else "postgresql"
    raise ConfigError(
        redact(
            f"cannot use metadata DB URL {url}: only SQLite and PostgreSQL are supported; "
            "write e.g. postgresql+psycopg://user@host:5432/dbname"
        ),
        field="db_url",
    )


def _connect(url: str, dialect: str) -> Any:
    if dialect == "sqlite":
        import sqlite3

        path = _sqlite_path(url)
        conn = sqlite3.connect(path, timeout=30, isolation_level=None, check_same_thread=False)
        conn.execute("PRAGMA busy_timeout=30000")
        return conn
    import psycopg

    return psycopg.connect(driver_url(url), connect_timeout=10)


def _begin(conn: Any, dialect: str) -> None:
    if dialect == "sqlite":
        conn.execute("BEGIN")  # deferred: a WAL reader never waits for the writer


def _sqlite_path(url: str) -> str:
    parts = urlsplit(url)
    path = unquote(parts.path)
    if not path or path == "/":
        return ":memory:"
    # sqlite:///relative.db has path "/relative.db"; sqlite:////abs.db has "//abs.db"
    return path[1:] if path.startswith("/") else path


def _sqlite_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """SQLite stores times as SQLAlchemy writes them: UTC, ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return {
        key: value.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, datetime) and value.tzinfo
        else value.strftime("%Y-%m-%d %H:%M:%S.%f")
        if isinstance(value, datetime)
        else value
        for key, value in params.items()
    }


def _is_db_error(exc: BaseException) -> bool:
    """Whether ``exc`` is a DB-API error (``sqlite3.Error``, ``psycopg.Error``)."""
    return any(
        cls.__name__ in ("Error", "DatabaseError", "OperationalError", "InterfaceError")
        and cls.__module__.split(".")[0] in ("sqlite3", "psycopg", "_sqlite3")
        for cls in type(exc).__mro__
    )


def in_list(prefix: str, values: Sequence[Any]) -> tuple[str, dict[str, Any]]:
    """``(:k0, :k1, …)`` and its parameters, for ``column IN`` a list of values."""
    params = {f"{prefix}{i}": value for i, value in enumerate(values)}
    return "(" + ", ".join(f":{key}" for key in params) + ")", params
