"""A logical dump of every metadata table as JSON lines, portable across SQLite and PostgreSQL.

Rows are read inside one read-only transaction (a snapshot: SQLite in WAL mode and
PostgreSQL at REPEATABLE READ both give one consistent view while writers carry on), and
written back through SQLAlchemy Core, so a SQLite backup restores into PostgreSQL and back.
No pickle anywhere: values are JSON, times are ISO-8601 strings.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import orjson
from sqlalchemy import DateTime, Integer, Table, func, select, text

from modelward.errors import ArtifactError
from modelward.store.tables import Base

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from modelward.store.db import Database

__all__ = ["dump_tables", "load_tables", "tables"]


def tables() -> list[Table]:
    """Every metadata table, parents before children (foreign-key order)."""
    return list(Base.metadata.sorted_tables)


def _encode(value: Any) -> Any:
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return moment.isoformat()
    return value


def dump_tables(db: Database) -> dict[str, bytes]:
    """``{table name: JSON lines}`` for every table, from one consistent snapshot."""
    out: dict[str, bytes] = {}
    with db.session(readonly=True) as session:
        if db.dialect == "postgresql":
            session.execute(text("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"))
        for table in tables():
            order = [column for column in table.primary_key.columns]
            rows = session.execute(select(table).order_by(*order)).mappings()
            lines = [
                orjson.dumps({key: _encode(value) for key, value in row.items()}) for row in rows
            ]
            out[str(table.name)] = b"".join(line + b"\n" for line in lines)
    return out


def _decode_rows(table: Table, data: bytes, where: str) -> list[dict[str, Any]]:
    stamps = {c.name for c in table.columns if isinstance(c.type, DateTime)}
    known = {c.name for c in table.columns}
    rows = []
    for number, line in enumerate(data.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError as exc:
            raise ArtifactError(
                f"backup file {where} line {number} is not JSON; the archive is damaged"
            ) from exc
        if not isinstance(row, dict) or not set(row) <= known:
            raise ArtifactError(
                f"backup file {where} line {number} does not match table {table.name}; "
                "it was written by another modelward version or edited"
            )
        for key in stamps & set(row):
            if row[key] is not None:
                row[key] = datetime.fromisoformat(row[key])
        rows.append(row)
    return rows


def load_tables(session: Session, dumps: dict[str, bytes], dialect: str) -> dict[str, int]:
    """Insert the dumped rows into empty tables; returns rows per table."""
    counts: dict[str, int] = {}
    for table in tables():
        rows = _decode_rows(table, dumps.get(table.name, b""), f"db/{table.name}.jsonl")
        counts[table.name] = len(rows)
        for chunk in _chunks(rows, 500):
            session.execute(table.insert(), chunk)
        if dialect == "postgresql":
            _reset_sequence(session, table)
    return counts


def _reset_sequence(session: Session, table: Table) -> None:
    """Rows came with their ids; move PostgreSQL's id sequence past them."""
    pk = list(table.primary_key.columns)
    if len(pk) != 1 or not isinstance(pk[0].type, Integer):
        return
    column = pk[0]
    top = session.scalar(select(func.max(column)))
    if top is None:
        return
    session.execute(
        text("SELECT setval(pg_get_serial_sequence(:table, :column), :value)"),
        {"table": table.name, "column": column.name, "value": int(top)},
    )


def _chunks(rows: list[dict[str, Any]], size: int) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(rows), size):
        yield rows[start : start + size]
