"""The DuckDB engine: a scan becomes ``read_parquet`` over its listed files, in place.

One connection per engine (opening one costs ~20 ms; :meth:`DuckDBEngine.warm` opens it in
the background), with a memory budget (``MODELWARD_DUCKDB_MEMORY``, default 512 MB; it
spills to disk beyond), UTC as its time zone, Parquet footers cached, and the log's fsspec
filesystem registered for a remote log (s3://, gs://, …: DuckDB reads through fsspec, with
extension downloads turned off, so a log in object storage reads without internet access and
without the httpfs extension). Files are read with ``union_by_name``, so files
written before a column existed still read. A scan's hash sample keeps the requests whose
``hash(request_id)`` falls under :func:`hash_cut` (on both sides of the label join, so a
kept prediction keeps its label); unlike a seeded ``USING SAMPLE`` it runs on every thread.
Small results are cached by their SQL text: it names every file, and a log file never
changes once written.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from modelward.errors import DataError, ModelwardError, StorageError
from modelward.predlog.engine import Aggregate, Order, Scan, literal
from modelward.predlog.files import LogChanged, LogFile, LogFiles
from modelward.storage import failure

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["MEMORY_LIMIT", "OFFLINE", "DuckDBEngine", "hash_cut", "parquet_source", "quote"]

#: DuckDB's memory budget (it spills to disk beyond it); ``MODELWARD_DUCKDB_MEMORY``
#: overrides it, e.g. ``4GB``.
MEMORY_LIMIT = "512MB"
#: DuckDB settings of a connection that must never fetch an extension (httpfs for s3://):
#: a remote log is read through its registered fsspec filesystem instead.
OFFLINE: dict[str, bool] = {
    "autoinstall_known_extensions": False,
    "autoload_known_extensions": False,
}
_TABLES = itertools.count()
_CACHED_ROWS = 1000  # results up to this many rows are cached by their SQL text
_CACHED_RESULTS = 256


quote = literal


def _name(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


def hash_cut(rate: float) -> int:
    """The bound on DuckDB's 64-bit ``hash(request_id)`` that keeps ``rate`` of the ids."""
    return min(2**64 - 1, max(0, int(rate * 2**64)))


def parquet_source(paths: Sequence[str], *, date_type: str = "VARCHAR") -> str:
    """A ``read_parquet`` table expression over ``paths`` (model and date from the paths)."""
    listed = ", ".join(quote(p) for p in paths)
    return (
        f"read_parquet([{listed}], hive_partitioning=true, union_by_name=true, "
        f"hive_types={{'model': 'VARCHAR', 'date': '{date_type}'}})"
    )


def connect(files: LogFiles, *, threads: int | None = None) -> Any:
    """A new in-memory DuckDB connection with the engine's settings."""
    import duckdb

    con = duckdb.connect(
        config={
            "memory_limit": os.environ.get("MODELWARD_DUCKDB_MEMORY", MEMORY_LIMIT),
            "preserve_insertion_order": False,
            **(OFFLINE if files.remote else {}),
        }
    )
    con.execute("SET TimeZone = 'UTC'")
    # a check opens the same few files several times: their footers are read once
    con.execute("SET parquet_metadata_cache = true")
    if threads is not None:
        con.execute(f"SET threads = {int(threads)}")
    if files.remote:
        con.register_filesystem(files.fs)
    return con


class DuckDBEngine:
    """The engine of :class:`~modelward.predlog.reader.LogReader` unless told otherwise."""

    def __init__(self, files: LogFiles, *, threads: int | None = None) -> None:
        self.files = files
        self.threads = threads
        self._con: Any = None
        self._opening: Any = None  # the thread connecting in the background
        self._open_error: BaseException | None = None
        self._results: dict[str, list[Any]] = {}
        self._tables: dict[str, Any] = {}  # materialised scan -> the cursor that holds it
        self._cores: int | None = None

    # -- the connection -------------------------------------------------------------------

    def warm(self) -> None:
        """Open the connection in the background (DuckDB lets go of the GIL meanwhile),
        for a caller that has other work first."""
        import threading

        if self._con is None and self._opening is None:
            self._opening = threading.Thread(target=self._open, name="duckdb-connect")
            self._opening.start()

    def _open(self) -> None:
        try:
            self._con = connect(self.files, threads=self.threads)
        except BaseException as exc:  # noqa: BLE001 - raised again by _shared, in the caller
            self._open_error = exc

    def _shared(self) -> Any:
        if self._opening is not None:
            self._opening.join()
            self._opening = None
            if self._open_error is not None:
                error, self._open_error = self._open_error, None
                raise error
        if self._con is None:
            self._con = connect(self.files, threads=self.threads)
        return self._con

    def close(self) -> None:
        if self._opening is not None:
            self._opening.join()
            self._opening = None
        if self._con is not None:
            self._con.close()
            self._con = None

    # -- the operations -------------------------------------------------------------------

    def aggregate(
        self, scan: Scan, select: Sequence[str], *, group_by: str | None = None
    ) -> list[tuple[Any, ...]]:
        if scan.empty:
            return []
        with self._statement(scan, ", ".join(select), group_by=group_by) as (con, sql):
            return self._run(sql, con, cache=scan.table is None and scan.requests is None)

    def aggregate_columns(
        self, scan: Scan, select: Sequence[str], *, group_by: str | None = None
    ) -> dict[str, Any]:
        if scan.empty:
            return {}
        with self._statement(scan, ", ".join(select), group_by=group_by) as (con, sql):
            try:
                return dict(con.sql(sql).fetchnumpy())
            except Exception as exc:  # duckdb.Error and the registered filesystem's errors
                raise self._translate(exc) from exc

    def aggregate_many(self, queries: Sequence[Aggregate]) -> list[list[tuple[Any, ...]]]:
        """Side by side on cursors of the connection when the scans hold fewer Parquet row
        groups than DuckDB has threads: DuckDB reads a row group with one thread, so one
        statement then leaves cores idle. With more row groups each statement uses every
        core already, and running several would only hold more row groups in memory."""
        plain = all(q.scan.table is None and q.scan.requests is None for q in queries)
        files = {f for q in queries for f in q.scan.files}
        if not plain or len(queries) < 2 or not self._few_row_groups(files):
            return [self.aggregate(q.scan, q.select, group_by=q.group_by) for q in queries]
        statements = [
            None if q.scan.empty else self._sql(q.scan, ", ".join(q.select), group_by=q.group_by)
            for q in queries
        ]
        todo = list(dict.fromkeys(s for s in statements if s and s not in self._results))
        found = self._run_together(todo) if len(todo) > 1 else {}
        return [
            [] if s is None else list(found[s]) if s in found else self._run(s, self._shared())
            for s in statements
        ]

    def _run_together(self, statements: list[str]) -> dict[str, list[Any]]:
        from concurrent.futures import ThreadPoolExecutor

        cursors = [self._shared().cursor() for _ in statements]
        try:
            with ThreadPoolExecutor(len(statements)) as pool:
                found = list(pool.map(lambda c, q: c.sql(q).fetchall(), cursors, statements))
        except Exception as exc:  # duckdb.Error and the registered filesystem's errors
            raise self._translate(exc) from exc
        finally:
            for cursor in cursors:
                cursor.close()
        for sql, rows in zip(statements, found, strict=True):
            self._remember(sql, rows)
        return dict(zip(statements, found, strict=True))

    def rows(
        self,
        scan: Scan,
        columns: Sequence[str],
        *,
        order: Order = None,
        limit: int | None = None,
    ) -> pa.Table:
        import pyarrow as pa

        if scan.empty:
            return pa.table({c: pa.array([], pa.null()) for c in columns})
        select = ", ".join(_name(c) if scan.has(c) else f"NULL AS {_name(c)}" for c in columns)
        key = "_hash" if scan.table is not None else "request_id"
        hashed = "_hash" if scan.table is not None else "hash(request_id)"
        bound = f" LIMIT {int(limit)}" if limit is not None else ""
        if order in ("latest", "hash"):
            first = f"ts DESC, {key} DESC" if order == "latest" else f"{hashed}, {key}"
            inner = f"{select}, ts AS _mw_ts, {hashed} AS _mw_key"
            outer = ", ".join(_name(c) for c in columns)
            with self._statement(scan, inner) as (con, sql):
                sql = f"{sql} ORDER BY {first}{bound}"
                sql = f"SELECT {outer} FROM ({sql}) ORDER BY _mw_ts, _mw_key"
                return self._arrow(sql, con)
        with self._statement(scan, select) as (con, sql):
            if order == "ts":
                sql += f" ORDER BY ts, {key}"
            return self._arrow(sql + bound, con)

    @contextmanager
    def materialise(self, scan: Scan, columns: Sequence[str]) -> Iterator[Scan]:
        """The scan as a temporary table of a cursor of the connection (same database and
        settings, its own temporary schema, ~20 ms cheaper than a new connection): read
        and joined once, then asked as often as a check needs. It holds ``_hash`` (the
        request's hash: an order of the requests that is the same on every run, cheaper
        to hold than the ids) and ``ts`` beside the columns, and is dropped on leaving."""
        if scan.empty:
            yield scan
            return
        if scan.requests is not None:
            raise ValueError("a scan of given request ids is small: aggregate it in place")
        table = f"_mw_w_{os.getpid()}_{next(_TABLES)}"
        columns = list(dict.fromkeys([*columns, "ts"]))  # rows come in time order
        select = [
            *(f"p.{_name(c)}" if scan.has(c) else f"NULL AS {_name(c)}" for c in columns),
            "hash(p.request_id) AS _hash",
        ]
        cursor = self._shared().cursor()
        try:
            if scan.labels and scan.rate < 1.0 and self._few_row_groups(scan.files):
                self._sampled_join(cursor, table, scan, select)
            else:
                label = ["f.label AS label"] if scan.labels is not None else []
                sql = self._sql(scan, ", ".join(select + label))
                cursor.execute(f"CREATE TEMP TABLE {table} AS {sql}")
        except Exception as exc:  # duckdb.Error and the registered filesystem's errors
            cursor.close()
            raise self._translate(exc) from exc
        self._tables[table] = cursor
        held = {c: scan.columns.get(c, "null") for c in columns}
        if scan.labels is not None:
            held["label"] = "string"
        try:
            yield replace(
                scan, columns=held, table=table, labels=None, rate=1.0, version=None,
                status=None, labelled=False, requests=None, where=(), answered=None,
            )  # fmt: skip
        finally:
            del self._tables[table]
            cursor.close()

    def _sampled_join(self, con: Any, table: str, scan: Scan, select: list[str]) -> None:
        """The sampled predictions left-joined with their latest labels, the two sides
        read at the same time. A day of traffic can be a single file of one row group,
        which DuckDB reads with one thread: as one statement the feedback side is read,
        hashed and grouped first and the predictions after it, on one core. Here each
        side runs on its own cursor, into a table of the shared in-memory database, and
        the join of the two samples (a few hundred thousand rows each) runs in memory,
        where DuckDB uses every thread."""
        from concurrent.futures import ThreadPoolExecutor

        assert scan.labels is not None
        # the predictions side alone: no condition on the label here
        alone = replace(scan, labels=None, labelled=False)
        sides = {
            f"{table}_p": self._sql(alone, ", ".join(["p.request_id AS _mw_key", *select])),
            f"{table}_f": self._latest(scan.labels, scan.rate),
        }
        cursors = [self._shared().cursor() for _ in sides]
        try:
            with ThreadPoolExecutor(len(sides)) as pool:
                done = [
                    pool.submit(cursor.execute, f"CREATE TABLE {name} AS {sql}")
                    for cursor, (name, sql) in zip(cursors, sides.items(), strict=True)
                ]
                for future in done:
                    future.result()
            pred, feed = sides
            labelled = " WHERE f.label IS NOT NULL" if scan.labelled else ""
            con.execute(
                f"CREATE TEMP TABLE {table} AS SELECT p.* EXCLUDE (_mw_key), f.label AS label "
                f"FROM {pred} AS p LEFT JOIN {feed} AS f ON p._mw_key = f._rid{labelled}"
            )
        finally:
            for cursor in cursors:
                cursor.close()
            for name in sides:
                con.execute(f"DROP TABLE IF EXISTS {name}")

    def quantile(self, expression: str, q: float) -> str:
        return f"quantile_cont({expression}, {float(q)!r})"

    # -- SQL ------------------------------------------------------------------------------

    def _source(self, scan: Scan) -> tuple[str, str]:
        """``(FROM, WHERE)`` of a scan of files: the predictions as ``p`` (and the latest
        labels as ``f``), the window, environment and hash sample applied."""
        source = f"{parquet_source([f.path for f in scan.files])} AS p"
        conditions = ["TRUE"]
        if scan.start is not None:
            conditions.append(f"p.ts >= TIMESTAMPTZ {quote(scan.start.isoformat())}")
        if scan.end is not None:
            conditions.append(f"p.ts < TIMESTAMPTZ {quote(scan.end.isoformat())}")
        if scan.environment is not None:
            conditions.append(f"p.environment = {quote(scan.environment)}")
        if scan.rate < 1.0:
            conditions.append(f"hash(p.request_id) < {hash_cut(scan.rate)}::UBIGINT")
        if scan.labels is not None:
            latest = self._latest(scan.labels, scan.rate, ratings=scan.ratings)
            source += f" LEFT JOIN ({latest}) AS f ON p.request_id = f._rid"
        return source, " AND ".join(conditions)

    def _latest(self, labels: tuple[LogFile, ...], rate: float, *, ratings: bool = False) -> str:
        """The latest label of each request id (of the hash sample), as ``_rid, label``
        (``arg_max`` passes over null labels: a rating never erases a label); with
        ``ratings`` also its latest ``satisfaction`` and ``correct`` (null in files
        written before those columns existed)."""
        rated = ""
        if ratings:
            held = self.files.columns(list(labels)) if labels else {}
            rated = "".join(
                f", arg_max({c}, ts) FILTER (WHERE {c} IS NOT NULL) AS {c}"
                if c in held
                else f", NULL::{t} AS {c}"
                for c, t in (("satisfaction", "DOUBLE"), ("correct", "BOOLEAN"))
            )
        if not labels:
            return f"SELECT NULL::VARCHAR AS _rid, NULL::VARCHAR AS label{rated}"
        sampled = f"WHERE hash(request_id) < {hash_cut(rate)}::UBIGINT " if rate < 1.0 else ""
        return (
            f"SELECT request_id AS _rid, arg_max(label, ts) AS label{rated} "
            f"FROM {parquet_source([f.path for f in labels])} {sampled}GROUP BY request_id"
        )

    def _answered(self, labels: tuple[LogFile, ...], rate: float) -> str:
        """The request ids that have a label (of the hash sample): the same requests as the
        join's ``label IS NOT NULL`` (a feedback row that only rates an LLM answer has none)."""
        if not labels:
            return "SELECT NULL::VARCHAR"
        sampled = f" AND hash(request_id) < {hash_cut(rate)}::UBIGINT" if rate < 1.0 else ""
        return (
            f"SELECT request_id FROM {parquet_source([f.path for f in labels])} "
            f"WHERE label IS NOT NULL{sampled}"
        )

    def _sql(self, scan: Scan, select: str, *, group_by: str | None = None) -> str:
        """``SELECT <select>`` over a scan (of files or a materialised table)."""
        if scan.table is not None:
            source, where = scan.table, "TRUE"
        else:
            source, where = self._source(scan)
        conditions = [where, *scan.where]
        if scan.version is not None:
            conditions.append(f"version = {int(scan.version)}")
        if scan.status is not None:
            conditions.append(f"status IN ({', '.join(quote(s) for s in scan.status)})")
        if scan.labelled:
            conditions.append("label IS NOT NULL")
        if scan.answered is not None:
            conditions.append(f"request_id IN ({self._answered(scan.answered, scan.rate)})")
        if scan.requests is not None:
            conditions.append(f"request_id IN (SELECT request_id FROM {_ids_table(scan)})")
        sql = f"SELECT {select} FROM {source} WHERE {' AND '.join(conditions)}"
        return sql + (f" GROUP BY {group_by}" if group_by else "")

    @contextmanager
    def _statement(
        self, scan: Scan, select: str, *, group_by: str | None = None
    ) -> Iterator[tuple[Any, str]]:
        """The connection to run a scan's statement on, and the statement (with the
        scan's request ids registered for it meanwhile)."""
        con = self._tables[scan.table] if scan.table is not None else self._shared()
        if scan.requests is None:
            yield con, self._sql(scan, select, group_by=group_by)
            return
        import pyarrow as pa

        ids = pa.table({"request_id": pa.array(scan.requests, pa.string())})
        con.register(_ids_table(scan), ids)
        try:
            yield con, self._sql(scan, select, group_by=group_by)
        finally:
            con.unregister(_ids_table(scan))

    def _run(self, sql: str, con: Any, *, cache: bool = True) -> list[Any]:
        if cache and sql in self._results:
            return list(self._results[sql])
        try:
            rows = con.sql(sql).fetchall()
        except Exception as exc:  # duckdb.Error and the registered filesystem's errors
            raise self._translate(exc) from exc
        if cache:
            self._remember(sql, rows)
        return list(rows)

    def _remember(self, sql: str, rows: list[Any]) -> None:
        if len(rows) <= _CACHED_ROWS:  # counts and small groupings
            if len(self._results) >= _CACHED_RESULTS:
                self._results.clear()
            self._results[sql] = rows

    def _arrow(self, sql: str, con: Any) -> pa.Table:
        try:
            return con.sql(sql).to_arrow_table()
        except Exception as exc:  # duckdb.Error and the registered filesystem's errors
            raise self._translate(exc) from exc

    def _few_row_groups(self, files: Any) -> bool:
        """Whether ``files`` hold fewer Parquet row groups than DuckDB has threads."""
        if self._cores is None:
            self._cores = int(self._run("SELECT current_setting('threads')", self._shared())[0][0])
        if len(files) >= self._cores:
            return False
        return sum(self.files.row_groups(f.path) for f in files) < self._cores

    def _translate(self, exc: Exception) -> ModelwardError:
        import duckdb

        text = str(exc).strip()
        first = text.splitlines()[0] if text else type(exc).__name__
        url = self.files.url
        if text.startswith("Traceback"):  # raised in the registered fsspec filesystem
            first = text.splitlines()[-1].strip()  # "EndpointConnectionError: Could not …"
            if not first.startswith("FileNotFoundError"):
                return failure(OSError(first), f"the prediction log at {url}")
            exc = FileNotFoundError(first)
        if isinstance(exc, FileNotFoundError) or (
            "IO Error" in first and ("No files found" in first or "No such file" in first)
        ):
            return LogChanged(
                f"a file of the prediction log at {url} was replaced while it was read "
                f"({first}); run the check again"
            )
        if isinstance(exc, OSError | duckdb.IOException | duckdb.HTTPException):
            return StorageError(f"cannot read the prediction log at {url}: {first}")
        return DataError(
            f"cannot read the prediction log at {url}: {first}; check that its files follow "
            "the layout in docs/monitor.md"
        )


def _ids_table(scan: Scan) -> str:
    return f"_mw_ids_{id(scan.requests)}"
