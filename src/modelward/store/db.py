"""The metadata database: engine setup, migrations on open, transactions, error translation.

SQLite (the default, one file in the workspace) runs in WAL mode and takes the write lock
at the start of every writing transaction (``BEGIN IMMEDIATE``), so read-check-write
sequences from concurrent processes serialize instead of failing half-way; read-only
sessions (``session(readonly=True)``) use a plain deferred ``BEGIN`` and never wait for
writers. PostgreSQL relies on row locks and the partial unique indexes that hold the
invariants (one production version, one live rollout).
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.exc import IntegrityError, OperationalError, ProgrammingError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

from modelward.errors import RaceLost, StorageError, WorkspaceTooNew, first_line
from modelward.redact import redact
from modelward.store.revision import HEAD_REVISION
from modelward.store.urls import remember_url_secrets

__all__ = ["HEAD_REVISION", "Database"]

_MIGRATIONS = Path(__file__).with_name("migrations")


class Database:
    """One metadata database. ``Database(url)`` opens it and brings its schema up to date."""

    def __init__(self, url: str, *, migrate: bool = True) -> None:
        remember_url_secrets(url)
        self.url = url
        self.engine = _make_engine(url)
        self._sessions = sessionmaker(self.engine, expire_on_commit=False)
        self._read_sessions = sessionmaker(
            self.engine.execution_options(modelward_readonly=True), expire_on_commit=False
        )
        if migrate:
            self.migrate()

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    def revision(self) -> str | None:
        with self._translate():
            with self.engine.connect() as conn:
                try:
                    row = conn.execute(text("SELECT version_num FROM alembic_version")).first()
                except (OperationalError, ProgrammingError):
                    return None
        return row[0] if row else None

    def migrate(self) -> None:
        """Apply Alembic migrations up to head; refuse a schema from a newer modelward."""
        current = self.revision()
        if current == HEAD_REVISION:
            return
        from alembic.config import Config
        from alembic.script import ScriptDirectory

        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        scripts = ScriptDirectory.from_config(config)
        if current is not None:
            try:
                scripts.get_revision(current)
            except Exception as exc:  # noqa: BLE001 - alembic raises several types for unknown ids
                raise WorkspaceTooNew(
                    f"the metadata DB at {redact(self.url)} has schema revision {current!r}, "
                    "written by a newer modelward; upgrade modelward (pip install -U modelward) "
                    "to open it"
                ) from exc
        from alembic import command

        with self._translate(), self.engine.begin() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")

    @contextmanager
    def session(self, *, readonly: bool = False) -> Iterator[Session]:
        """A transaction: committed on success, rolled back (nothing changed) on any error.

        ``readonly=True`` is for sessions that only read: on SQLite they do not take the
        write lock, so they never queue behind (or block) a writer.
        """
        makers = self._read_sessions if readonly else self._sessions
        with self._translate():
            with makers.begin() as session:
                yield session

    @contextmanager
    def _translate(self) -> Iterator[None]:
        try:
            yield
        except IntegrityError as exc:
            why = redact(first_line(exc.orig or exc))
            raise RaceLost(
                f"another change to the same record came first ({why}); "
                "look at the current state and retry"
            ) from exc
        except OperationalError as exc:
            raise StorageError(
                redact(
                    f"the metadata DB at {self.url} failed: {first_line(exc.orig or exc)}; "
                    "check that it is reachable and MODELWARD_DB_URL is right"
                )
            ) from exc
        except SQLAlchemyError as exc:
            raise StorageError(
                redact(f"the metadata DB at {self.url} failed: {first_line(exc)}")
            ) from exc

    def dispose(self) -> None:
        self.engine.dispose()


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None  # let us issue BEGIN ourselves
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute("PRAGMA busy_timeout=30000")
            cursor.close()

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            readonly = conn.get_execution_options().get("modelward_readonly", False)
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    try:
        return create_engine(url, pool_pre_ping=True)
    except Exception as exc:  # noqa: BLE001 - bad URL, missing driver
        raise StorageError(
            redact(
                f"cannot use metadata DB URL {url}: {first_line(exc)}; "
                "write e.g. postgresql+psycopg://user@host:5432/dbname"
            )
        ) from exc
