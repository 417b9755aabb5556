"""SQLite snapshots with the online-backup API (``sqlite3.Connection.backup``).

The backup copies every page of the database in one step, inside one read transaction, so
the copy is the database as of one moment even while the server and other processes keep
writing (in WAL mode the writers are not even held up). The copy is checked with
``PRAGMA integrity_check`` on both sides of the archive: when it is taken and before a
restore puts it in place.
"""

from __future__ import annotations

import sqlite3
import tempfile
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy.engine import make_url

from modelward.backup.dump import tables
from modelward.errors import ArtifactError, StorageError

if TYPE_CHECKING:
    from modelward.store.db import Database

__all__ = ["MEMBER", "Snapshot", "check_file", "db_path", "snapshot"]

#: The archive member that holds a SQLite snapshot.
MEMBER = "db/modelward.sqlite"


@dataclass(frozen=True)
class Snapshot:
    data: bytes
    tables: dict[str, int]
    revision: str | None
    artifacts: set[str]


def db_path(url: str) -> Path:
    """The file of a ``sqlite:///…`` URL."""
    database = make_url(url).database
    if not database or database == ":memory:":
        raise StorageError(f"{url} is not a SQLite file; give a sqlite:///path URL")
    return Path(database)


def _facts(con: sqlite3.Connection) -> tuple[dict[str, int], str | None, set[str]]:
    counts = {
        str(t.name): int(con.execute(f'SELECT count(*) FROM "{t.name}"').fetchone()[0])
        for t in tables()
    }
    row = con.execute("SELECT version_num FROM alembic_version").fetchone()
    digests = {
        str(r[0])
        for r in con.execute(
            "SELECT sha256 FROM model_versions WHERE kind = 'artifact' AND sha256 IS NOT NULL"
        )
    }
    return counts, (str(row[0]) if row else None), digests


def snapshot(db: Database) -> Snapshot:
    """A consistent copy of the workspace's SQLite database, as bytes, with its row counts."""
    path = db_path(db.url)
    try:
        with tempfile.TemporaryDirectory(prefix="modelward-backup-") as tmp:
            target = Path(tmp) / "snapshot.sqlite"
            uri = f"{path.resolve().as_uri()}?mode=rw"  # never create a missing database
            with closing(sqlite3.connect(uri, uri=True)) as source:
                source.execute("PRAGMA busy_timeout=30000")
                with closing(sqlite3.connect(target)) as copy:
                    source.backup(copy)  # pages=-1: all pages in one step, one read transaction
                    # One self-contained file (the copy inherits WAL mode from the source).
                    copy.execute("PRAGMA journal_mode=DELETE")
                    _check(copy, "the snapshot just taken")
                    tables, revision, artifacts = _facts(copy)
            data = target.read_bytes()
    except sqlite3.Error as exc:
        raise StorageError(f"cannot back up the SQLite database {path}: {exc}") from exc
    return Snapshot(data=data, tables=tables, revision=revision, artifacts=artifacts)


def _check(con: sqlite3.Connection, what: str) -> None:
    result = [str(r[0]) for r in con.execute("PRAGMA integrity_check").fetchall()]
    if result != ["ok"]:
        raise ArtifactError(f"{what} fails SQLite's integrity check: {'; '.join(result[:3])}")


def check_file(path: Path, where: str) -> dict[str, int]:
    """Open a restored snapshot file, check its integrity; returns rows per table."""
    try:
        with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as con:
            _check(con, where)
            bad = con.execute("PRAGMA foreign_key_check").fetchall()
            if bad:
                raise ArtifactError(f"{where} has rows whose parents are missing ({bad[0][0]})")
            return _facts(con)[0]
    except sqlite3.DatabaseError as exc:
        raise ArtifactError(f"{where} is not a usable SQLite database ({exc})") from exc
