"""The log as DuckDB relations, for questions of your own (the Python API).

``predictions(logs, model)``, ``feedback(logs, model)`` and ``labelled(logs, model)``
return DuckDB relations over the log's live files (query them with ``.filter``,
``.aggregate``, ``.df()``, ``.arrow()`` or SQL after ``.create_view``). ``logs`` is a
workspace or a logs URL. The rows the server has not yet published as Parquet (it does
per 100,000 rows or ten minutes) are read from its write-ahead folder too: a
workspace's own, or ``wal=FOLDER`` with a logs URL (:mod:`.unpublished`). ``feedback``
keeps the latest label per request id (rows without a label, an LLM answer's rating, are
left out); ``labelled`` is the predictions that have one, with ``label`` and
``label_ts`` columns. ``model`` and ``date`` (a DATE) come from the paths.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.predlog.engines.duckdb import OFFLINE, parquet_source
from modelward.predlog.files import LogFiles
from modelward.predlog.layout import FEEDBACK, FEEDBACK_COLUMNS, PREDICTION_COLUMNS, PREDICTIONS
from modelward.predlog.unpublished import Unpublished

if TYPE_CHECKING:
    import duckdb

__all__ = ["feedback", "labelled", "predictions"]

_SQL_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "timestamp": "TIMESTAMPTZ",
    "bool": "BOOLEAN",
}


#: One reader of unpublished rows per write-ahead folder, kept for the process: the
#: relations read its converted files lazily, and it converts only what a segment grew by.
_UNPUBLISHED: dict[str, Unpublished] = {}


def _unpublished(logs: Any, wal: str | Path | None) -> Unpublished | None:
    layout = getattr(logs, "layout", None)  # a workspace's: its write-ahead folder
    folder = wal if wal is not None else (layout.wal if layout is not None else None)
    if folder is None:
        return None
    key = str(Path(folder).resolve())
    return _UNPUBLISHED.setdefault(key, Unpublished(key))


def _source(
    logs: Any, kind: str, model: str | None, con: Any, wal: str | Path | None = None
) -> tuple[str, Any]:
    """A table expression over the log's files of ``kind`` with the write-ahead folder's
    unpublished rows (an empty typed table when there are none), and the connection that
    reads it."""
    files = LogFiles(str(getattr(logs, "logs_url", logs)))
    unpublished = _unpublished(logs, wal)
    segments = unpublished.segments() if unpublished is not None else []  # before the files
    if con is None:
        import duckdb

        con = duckdb.connect(config=dict(OFFLINE) if files.remote else {})
        con.execute("SET TimeZone = 'UTC'")
    if files.remote and not con.filesystem_is_registered(files.protocol):
        con.register_filesystem(files.fs)
    found = files.files(kind, model)
    if unpublished is not None and segments:
        found = found + unpublished.files(segments, files, found, kind, model)
    if found:
        return parquet_source([f.path for f in found], date_type="DATE"), con
    columns = PREDICTION_COLUMNS if kind == PREDICTIONS else FEEDBACK_COLUMNS
    typed = ", ".join(f"CAST(NULL AS {_SQL_TYPES[t]}) AS {name}" for name, t in columns.items())
    return (
        f"(SELECT {typed}, CAST(NULL AS VARCHAR) AS model, CAST(NULL AS DATE) AS date LIMIT 0)",
        con,
    )


def predictions(
    logs: Any,
    model: str | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    wal: str | Path | None = None,
) -> duckdb.DuckDBPyRelation:
    source, con = _source(logs, PREDICTIONS, model, con, wal)
    return con.sql(f"SELECT * FROM {source}")


def _latest(source: str) -> str:
    return (
        "SELECT model, request_id, ts, label, date FROM ("
        "SELECT *, row_number() OVER (PARTITION BY model, request_id ORDER BY ts DESC) AS rn "
        f"FROM {source} WHERE label IS NOT NULL) WHERE rn = 1"
    )


def feedback(
    logs: Any,
    model: str | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    wal: str | Path | None = None,
) -> duckdb.DuckDBPyRelation:
    """The latest label per (model, request id)."""
    source, con = _source(logs, FEEDBACK, model, con, wal)
    return con.sql(_latest(source))


def labelled(
    logs: Any,
    model: str | None = None,
    *,
    con: duckdb.DuckDBPyConnection | None = None,
    wal: str | Path | None = None,
) -> duckdb.DuckDBPyRelation:
    """Predictions that have feedback, with ``label`` and ``label_ts`` columns."""
    preds, con = _source(logs, PREDICTIONS, model, con, wal)
    labels, con = _source(logs, FEEDBACK, model, con, wal)
    return con.sql(
        f"SELECT p.*, f.label AS label, f.ts AS label_ts FROM {preds} AS p "
        f"JOIN ({_latest(labels)}) AS f ON p.model = f.model AND p.request_id = f.request_id"
    )
