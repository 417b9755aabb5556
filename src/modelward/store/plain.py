"""The metadata DB through its DB-API driver, without SQLAlchemy: reads and appends.

A command that only reads (``models list``, ``versions show``, ``history``, ``runs``), or
reads and records its result (each monitoring check stores a run), would spend most of
its start importing SQLAlchemy and building its ORM (about 0.4 s on a 2-core machine) to
run a few short statements. :class:`PlainDB` runs plain SQL on the driver itself:
``sqlite3`` (standard library) for the default workspace, ``psycopg`` for PostgreSQL.
Statements are written with ``:name`` parameters and use only SQL both databases accept.
Changes that must check and lock state (transitions, aliases, deployments) stay with
SQLAlchemy (:mod:`.db`); :meth:`PlainDB.insert` is for rows that are only ever appended.

Each thread gets its own connection (a server reads from several threads; SQLite
connections must stay on theirs). SQLite connections run in WAL mode like the writers'
and read in deferred transactions, so they never wait for a writer; each
:meth:`PlainDB.snapshot` is one transaction, so the statements of one read see one state.
"""

from __future__ import annotations

import json
import os
import re
import threading
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote, urlsplit

from modelward.errors import ConfigError, StorageError
from modelward.redact import redact
from modelward.store.urls import driver_url, remember_url_secrets

__all__ = ["PlainDB", "Rows", "Statements", "in_list", "json_value", "moment"]

Rows = list[tuple[Any, ...]]
_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class PlainDB:
    """Plain SQL on the metadata DB at ``url`` (a SQLAlchemy-style URL)."""

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
    def snapshot(self) -> Iterator[Statements]:
        """A read transaction: its statements see one state (``run(sql, params) -> rows``)."""
        with self._transaction(writing=False) as statements:
            yield statements

    @contextmanager
    def transaction(self) -> Iterator[Statements]:
        """A writing transaction: committed on success, rolled back (nothing changed) on
        any error. SQLite takes the write lock at its start, as the SQLAlchemy writers do."""
        with self._transaction(writing=True) as statements:
            yield statements

    def insert(self, table: str, values: Mapping[str, Any]) -> int:
        """Append one row to ``table`` in its own transaction; its new ``id``."""
        with self.transaction() as statements:
            return statements.insert(table, values)

    @contextmanager
    def _transaction(self, *, writing: bool) -> Iterator[Statements]:
        conn = self._connection()
        depth = getattr(self._local, "depth", 0)
        statements = Statements(conn, self.dialect)
        with self._translate():
            if depth:  # inside another transaction of this thread: part of it
                yield statements
                return
            if self.dialect == "sqlite":
                conn.execute("BEGIN IMMEDIATE" if writing else "BEGIN")
            self._local.depth = 1
            try:
                yield statements
            except BaseException:
                with suppress(Exception):  # a connection that broke rolls back by itself
                    conn.rollback()
                raise
            finally:
                self._local.depth = 0
            if writing:
                conn.commit()
            else:
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

    def _forget(self) -> None:
        conn = getattr(self._local, "conn", None)
        self._local.conn = None
        if conn is not None:
            with self._lock:
                if conn in self._open:
                    self._open.remove(conn)
            try:
                conn.close()
            except Exception:  # noqa: BLE001, S110 - it is already broken
                pass

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
            self._forget()  # a broken connection is not reused: the next call reconnects
            line = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            raise StorageError(
                redact(
                    f"the metadata DB at {self.url} failed: {line}; "
                    "check that it is reachable and MODELWARD_DB_URL is right"
                )
            ) from exc


class Statements:
    """The statements of one transaction: ``run(sql, params)`` (rows), :meth:`execute`
    (rows changed) and :meth:`insert` (the new id). Dicts and lists are stored as JSON,
    times as SQLAlchemy stores them, so both read the same rows alike."""

    def __init__(self, conn: Any, dialect: str) -> None:
        self.conn = conn
        self.dialect = dialect

    def __call__(self, sql: str, params: Mapping[str, Any] | None = None) -> Rows:
        cursor = self._cursor(sql, params)
        try:
            return [tuple(row) for row in cursor.fetchall()]
        finally:
            cursor.close()

    def execute(self, sql: str, params: Mapping[str, Any] | None = None) -> int:
        cursor = self._cursor(sql, params)
        try:
            return int(cursor.rowcount)
        finally:
            cursor.close()

    def insert(self, table: str, values: Mapping[str, Any]) -> int:
        names = ", ".join(f'"{column}"' for column in values)  # quoted: "check" is a keyword
        marks = ", ".join(f":{column}" for column in values)
        sql = f"INSERT INTO {table} ({names}) VALUES ({marks})"
        if self.dialect == "sqlite":
            cursor = self._cursor(sql, values)
            try:
                return int(cursor.lastrowid)
            finally:
                cursor.close()
        return int(self(sql + " RETURNING id", values)[0][0])

    def _cursor(self, sql: str, params: Mapping[str, Any] | None) -> Any:
        cursor = self.conn.cursor()
        if self.dialect == "sqlite":
            cursor.execute(sql, _sqlite_params(params or {}))
        else:
            cursor.execute(_PARAM.sub(r"%(\1)s", sql), _pg_params(params or {}))
        return cursor


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


def _sqlite_path(url: str) -> str:
    parts = urlsplit(url)
    path = unquote(parts.path)
    if not path or path == "/":
        return ":memory:"
    # sqlite:///relative.db has path "/relative.db"; sqlite:////abs.db has "//abs.db"
    return path[1:] if path.startswith("/") else path


def _sqlite_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """SQLite keeps JSON as text and times as SQLAlchemy writes them: UTC,
    ``YYYY-MM-DD HH:MM:SS.ffffff``."""
    return {key: _sqlite_value(value) for key, value in params.items()}


def _sqlite_value(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value.astimezone(UTC) if value.tzinfo else value
        return moment.strftime("%Y-%m-%d %H:%M:%S.%f")
    if isinstance(value, dict | list):
        return json.dumps(value)
    return value


def _pg_params(params: Mapping[str, Any]) -> dict[str, Any]:
    if not any(isinstance(value, dict | list) for value in params.values()):
        return dict(params)
    from psycopg.types.json import Json

    return {k: Json(v) if isinstance(v, dict | list) else v for k, v in params.items()}


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
