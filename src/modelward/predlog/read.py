"""Reading the prediction log with DuckDB, in place.

``predictions(logs, model)``, ``feedback(logs, model)`` and ``labelled(logs, model)``
return DuckDB relations (query them with ``.filter``, ``.aggregate``, ``.df()``,
``.arrow()`` or SQL after ``.create_view``). ``logs`` is a workspace or a logs URL.
``feedback`` keeps the latest label per request id; ``labelled`` is the predictions
that have one, with a ``label`` column. ``model`` and ``date`` come from the paths.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.predlog.layout import (
    FEEDBACK,
    FEEDBACK_COLUMNS,
    PREDICTION_COLUMNS,
    PREDICTIONS,
)

if TYPE_CHECKING:
    import duckdb

__all__ = ["connect", "feedback", "labelled", "logs_url", "predictions", "source"]

_SQL_TYPES = {
    "string": "VARCHAR",
    "int64": "BIGINT",
    "float64": "DOUBLE",
    "timestamp": "TIMESTAMPTZ",
    "bool": "BOOLEAN",
}


def logs_url(logs: Any) -> str:
    """A workspace's logs URL, or ``logs`` itself when it is a string / path."""
    return str(getattr(logs, "logs_url", logs)).rstrip("/")


def connect() -> duckdb.DuckDBPyConnection:
    import duckdb

    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    return con


def _is_remote(url: str) -> bool:
    return "://" in url and not url.startswith("file://")


def _files(url: str, kind: str, model: str | None) -> list[str]:
    """The log's files (without those a compaction replaced: each row once)."""
    import fsspec

    from modelward.predlog.compact import live_files

    sub = f"{kind}/model={model}" if model else f"{kind}/model=*"
    if not _is_remote(url):
        from pathlib import Path

        root = Path(url.removeprefix("file://"))
        found = sorted(str(p) for p in root.glob(f"{sub}/date=*/*.parquet"))
        return live_files(fsspec.filesystem("file"), found)
    fs, root = fsspec.core.url_to_fs(url)
    protocol = url.split("://", 1)[0]
    found = sorted(str(p) for p in fs.glob(f"{root}/{sub}/date=*/*.parquet"))
    return [f"{protocol}://{p}" for p in live_files(fs, found)]


def source(con: duckdb.DuckDBPyConnection, logs: Any, kind: str, model: str | None = None) -> str:
    """A SQL table expression over the log files (an empty typed table when there are none)."""
    url = logs_url(logs)
    files = _files(url, kind, model)
    if _is_remote(url):
        import fsspec

        protocol = url.split("://", 1)[0]
        if not con.filesystem_is_registered(protocol):
            con.register_filesystem(fsspec.filesystem(protocol))
    if not files:
        columns = PREDICTION_COLUMNS if kind == PREDICTIONS else FEEDBACK_COLUMNS
        cols = ", ".join(f"CAST(NULL AS {_SQL_TYPES[t]}) AS {name}" for name, t in columns.items())
        return (
            f"(SELECT {cols}, CAST(NULL AS VARCHAR) AS model, CAST(NULL AS DATE) AS date LIMIT 0)"
        )
    listed = ", ".join("'" + f.replace("'", "''") + "'" for f in files)
    return (
        f"read_parquet([{listed}], hive_partitioning=true, union_by_name=true, "
        "hive_types={'model': 'VARCHAR', 'date': 'DATE'})"
    )


def predictions(
    logs: Any, model: str | None = None, *, con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyRelation:
    con = con or connect()
    return con.sql(f"SELECT * FROM {source(con, logs, PREDICTIONS, model)}")


def feedback(
    logs: Any, model: str | None = None, *, con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyRelation:
    """The latest label per (model, request id)."""
    con = con or connect()
    return con.sql(
        "SELECT model, request_id, ts, label, date FROM ("
        "SELECT *, row_number() OVER (PARTITION BY model, request_id ORDER BY ts DESC) AS rn "
        f"FROM {source(con, logs, FEEDBACK, model)}) WHERE rn = 1"
    )


def labelled(
    logs: Any, model: str | None = None, *, con: duckdb.DuckDBPyConnection | None = None
) -> duckdb.DuckDBPyRelation:
    """Predictions that have feedback, with ``label`` and ``label_ts`` columns."""
    con = con or connect()
    preds = source(con, logs, PREDICTIONS, model)
    labels = feedback(logs, model, con=con).sql_query()
    return con.sql(
        f"SELECT p.*, f.label AS label, f.ts AS label_ts FROM {preds} AS p "
        f"JOIN ({labels}) AS f ON p.model = f.model AND p.request_id = f.request_id"
    )
