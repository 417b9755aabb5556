"""The metadata DB through its DB-API driver, without SQLAlchemy: reads and appends.

A command that only reads (``models list``, ``versions show``, ``history``, ``runs``), or
reads and records its result (each monitoring check stores a run), would spend most of
its start importing SQLAlchemy and building its ORM (about 0.4 s on a 2-core machine) to
run a few short statements. :class:`PlainDB` runs plain SQL on the driver itself:
``sqlite3`` (standard library) for the default workspace, ``psycopg`` for PostgreSQL.
Statements are written with ``:name`` parameters and use only SQL both databases accept.
Changes that must check and lock state (transitions, aliases, deployments) stay with
SQLAlchemy (:mod:`.db`); :meth:`PlainDB.insert` is for rows that are only ever appended.

A transaction takes a connection from a small pool (at most :data:`POOL_SIZE`, like
SQLAlchemy's default pool: a server reading from many threads must not open a PostgreSQL
connection per thread) and gives it back at its end; a transaction begun inside another
on the same thread is part of it. SQLite connections read in deferred transactions, so
they never wait for a writer (the file is in WAL mode); writing transactions take the
write lock at their start, as the SQLAlchemy writers do. A connection that failed is
closed, not reused, so a database that comes back is reconnected to.
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

from modelward.errors import ConfigError, StorageError, first_line
from modelward.redact import redact
from modelward.store.urls import driver_url, remember_url_secrets

__all__ = ["PlainDB", "Rows", "Statements", "in_list", "json_value", "moment"]

Rows = list[tuple[Any, ...]]
#: Connections a PlainDB keeps at most (SQLAlchemy's default pool size).
POOL_SIZE = 5
_PARAM = re.compile(r"(?<![:\w]):([a-z_][a-z0-9_]*)")


class PlainDB:
    """Plain SQL on the metadata DB at ``url`` (a SQLAlchemy-style URL)."""

    def __init__(self, url: str, *, pool_size: int = POOL_SIZE) -> None:
        remember_url_secrets(url)
        self.url = url
        self.dialect = _dialect(url)
        ping = None if self.dialect == "sqlite" else _ping
        self._pool = _Pool(lambda: _connect(url, self.dialect), pool_size, ping=ping)
        self._local = threading.local()

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
        """One statement's rows (its own transaction unless inside another)."""
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
        any error."""
        with self._transaction(writing=True) as statements:
            yield statements

    def insert(self, table: str, values: Mapping[str, Any]) -> int:
        """Append one row to ``table`` in its own transaction; its new ``id``."""
        with self.transaction() as statements:
            return statements.insert(table, values)

    def close(self) -> None:
        self._pool.close()

    @contextmanager
    def _transaction(self, *, writing: bool) -> Iterator[Statements]:
        outer = getattr(self._local, "statements", None)
        if outer is not None:  # inside another transaction of this thread: part of it
            yield outer
            return
        with self._translate():
            conn = self._pool.take()
        broken = True
        try:
            statements = Statements(conn, self.dialect)
            self._local.statements = statements
            with self._translate():
                if self.dialect == "sqlite":
                    conn.execute("BEGIN IMMEDIATE" if writing else "BEGIN")
                try:
                    yield statements
                except BaseException:
                    with suppress(Exception):  # one that cannot roll back is closed below
                        conn.rollback()
                        broken = False
                    raise
                if writing:
                    conn.commit()
                else:
                    conn.rollback()
                broken = False
        finally:
            self._local.statements = None
            self._pool.give(conn, broken=broken)

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
            line = first_line(exc)
            raise StorageError(
                redact(
                    f"the metadata DB at {self.url} failed: {line}; "
                    "check that it is reachable and MODELWARD_DB_URL is right"
                )
            ) from exc


class _Pool:
    """At most ``size`` connections, reused; a process that forked starts its own."""

    def __init__(self, connect: Any, size: int, *, ping: Any = None) -> None:
        self._connect = connect
        self._size = size
        self._ping = ping  # checks an idle connection before reuse (a server restarted)
        self._idle: list[Any] = []
        self._count = 0
        self._pid = os.getpid()
        self._free = threading.Condition()

    def take(self) -> Any:
        while (conn := self._take_idle()) is not None:
            if self._ping is None:
                return conn
            try:
                self._ping(conn)
                return conn
            except Exception:  # noqa: BLE001 - dropped by the server: replace it
                self.give(conn, broken=True)
        try:
            return self._connect()
        except BaseException:
            with self._free:
                self._count -= 1
                self._free.notify()
            raise

    def _take_idle(self) -> Any:
        """An idle connection, or None after reserving a place for a new one."""
        with self._free:
            if self._pid != os.getpid():  # the parent's connections are not ours to use
                self._idle, self._count, self._pid = [], 0, os.getpid()
            while not self._idle and self._count >= self._size:
                self._free.wait()
            if self._idle:
                return self._idle.pop()
            self._count += 1
            return None

    def give(self, conn: Any, *, broken: bool) -> None:
        """Return ``conn``; one that failed mid-transaction is closed, not reused."""
        with self._free:
            if conn is None or self._pid != os.getpid():
                return
            if broken:
                self._count -= 1
            else:
                self._idle.append(conn)
            self._free.notify()
        if broken:
            with suppress(Exception):
                conn.close()

    def close(self) -> None:
        with self._free:
            idle, self._idle = self._idle, []
            self._count -= len(idle)
        for conn in idle:
            with suppress(Exception):
                conn.close()


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


def _ping(conn: Any) -> None:
    conn.execute("SELECT 1")  # psycopg: begins the transaction the caller goes on with


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
