"""The DuckDB engine: a scan becomes ``read_parquet`` over its listed files, in place.

One connection per engine (opening one costs ~20 ms; :meth:`DuckDBEngine.warm` opens it in
the background), with a memory budget (``MODELWARD_DUCKDB_MEMORY``, default 512 MB; it
spills to disk beyond), UTC as its time zone, Parquet footers cached, and the log's fsspec
filesystem registered for a remote log (s3://, gs://, …: DuckDB reads through fsspec, with
extension downloads turned off, so a log in object storage reads without internet access and
without the httpfs extension). Files are read with ``union_by_name``, so files
written before a column existed still read. A scan's hash sample keeps the requests whose
sample hash (the row's stored ``sample_hash``, else :func:`~.sql.sample_hash`:
``md5_number(request_id) >> 68``, which Spark computes too) falls under :func:`hash_cut`
(on both sides of the label join, so a kept
prediction keeps its label); unlike a seeded ``USING SAMPLE`` it runs on every thread.
The SQL of a scan is :class:`~.sql.ScanSQL`'s, shared with the Spark engine.
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

from modelward.errors import DataError, ModelwardError, StorageError, first_line
from modelward.predlog.engine import Aggregate, Order, Scan, literal
from modelward.predlog.engines.sql import HASH_BITS, ScanSQL, hash_cut, ids_table, joined_on
from modelward.predlog.files import LogChanged, LogFile, LogFiles
from modelward.storage import failure

if TYPE_CHECKING:
    from datetime import datetime

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


def parquet_source(
    paths: Sequence[str], *, date_type: str = "VARCHAR", by_name: bool = True
) -> str:
    """A ``read_parquet`` table expression over ``paths`` (model and date from the paths).
    ``by_name=False`` when every file has the same schema: DuckDB then reads one footer
    for the columns instead of each file's (a day of a few hundred files costs ~20 ms
    less a statement)."""
    listed = ", ".join(quote(p) for p in paths)
    return (
        f"read_parquet([{listed}], hive_partitioning=true, union_by_name={str(by_name).lower()}, "
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


class DuckDBEngine(ScanSQL):
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
            None if q.scan.empty else self.select(q.scan, ", ".join(q.select), group_by=q.group_by)
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
        with self._statement(scan, "") as (con, _):
            return self._arrow(self.rows_sql(scan, columns, order=order, limit=limit), con)

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
        select = self.held_columns(scan, columns)
        cursor = self._shared().cursor()
        try:
            if scan.labels and scan.rate < 1.0 and self._few_row_groups(scan.files):
                self._sampled_join(cursor, table, scan, select)
            else:
                label = ["f.label AS label"] if scan.labels is not None else []
                sql = self.select(scan, ", ".join(select + label))
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
        keys = self.label_keys(scan.files, scan.labels)
        held_keys = [f"_mw_k{i}" for i in range(len(keys))]
        held = [f"p.{key} AS {name}" for key, name in zip(keys, held_keys, strict=True)]
        sides = {
            f"{table}_p": self.select(alone, ", ".join([*held, *select])),
            f"{table}_f": self.latest_labels(scan.labels, scan.rate, keys=keys),
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
            on = joined_on("p.", held_keys)
            con.execute(
                f"CREATE TEMP TABLE {table} AS SELECT p.* EXCLUDE ({', '.join(held_keys)}), "
                f"f.label AS label FROM {pred} AS p LEFT JOIN {feed} AS f ON {on}{labelled}"
            )
        finally:
            for cursor in cursors:
                cursor.close()
            for name in sides:
                con.execute(f"DROP TABLE IF EXISTS {name}")

    def quantile(self, expression: str, q: float) -> str:
        return f"quantile_cont({expression}, {float(q)!r})"

    def micros(self, expression: str) -> str:
        return f"epoch_us({expression})"

    # -- SQL ------------------------------------------------------------------------------

    def source(self, files: Sequence[LogFile]) -> str:
        paths = [f.path for f in files]
        return parquet_source(paths, by_name=not self.files.same_schema(paths))

    def timestamp(self, value: datetime) -> str:
        return f"TIMESTAMPTZ {quote(value.isoformat())}"

    def hashed(self, column: str) -> str:
        return f"CAST(md5_number({column}) >> {128 - HASH_BITS} AS BIGINT)"

    def latest(self, value: str) -> str:
        return f"arg_max({value}, ts)"  # passes over null values

    @contextmanager
    def _statement(
        self, scan: Scan, select: str, *, group_by: str | None = None
    ) -> Iterator[tuple[Any, str]]:
        """The connection to run a scan's statement on, and the statement (with the
        scan's request ids registered for it meanwhile)."""
        con = self._tables[scan.table] if scan.table is not None else self._shared()
        if scan.requests is None:
            yield con, self.select(scan, select, group_by=group_by)
            return
        import pyarrow as pa

        ids = pa.table({"request_id": pa.array(scan.requests, pa.string())})
        con.register(ids_table(scan), ids)
        try:
            yield con, self.select(scan, select, group_by=group_by)
        finally:
            con.unregister(ids_table(scan))

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

        text, first = str(exc).strip(), first_line(exc)
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
        torn = self.files.torn()
        if torn is not None:
            return DataError(
                f"cannot read the prediction log at {url}: {first}; its file {torn} is torn "
                "(its rows cannot be read): move it out of the log (docs/monitor.md)"
            )
        return DataError(
            f"cannot read the prediction log at {url}: {first}; check that its files follow "
            "the layout in docs/monitor.md"
        )
