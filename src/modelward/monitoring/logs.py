"""Reading the prediction log and the feedback in place, with DuckDB.

The layout is the serving contract (``docs/monitor.md`` repeats it)::

    <logs>/predictions/model=<name>/date=<YYYY-MM-DD>/<writer>-<seq>.parquet
    <logs>/feedback/model=<name>/date=<YYYY-MM-DD>/<writer>-<seq>.parquet

``model`` and ``date`` come only from the path. Files are listed with fsspec (so the log
can live in object storage), pruned by their ``date=`` partition before DuckDB opens them,
and read with ``union_by_name`` so files written before a column existed still read.
Feedback is joined on ``request_id``; the latest feedback row per request wins.
"""

from __future__ import annotations

import itertools
import os
import re
import threading
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from modelward.errors import DataError, StorageError

if TYPE_CHECKING:
    import pandas as pd

    from modelward.monitoring.window import Window

__all__ = ["BASE_COLUMNS", "FEATURE_PREFIX", "LogChanged", "PredictionLog"]

FEATURE_PREFIX = "in_"
BASE_COLUMNS = (
    "request_id",
    "ts",
    "version",
    "environment",
    "status",
    "error",
    "latency_ms",
    "prediction",
    "score",
    "proba",
)
#: DuckDB's memory budget for monitoring queries (it spills to disk beyond it);
#: ``MODELWARD_DUCKDB_MEMORY`` overrides it, e.g. ``4GB``.
MEMORY_LIMIT = "512MB"
_DATE = re.compile(r"/date=(\d{4}-\d{2}-\d{2})/")
_TABLES = itertools.count()


def _quote(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


@dataclass(frozen=True)
class LogFile:
    path: str
    date: str


class PredictionLog:
    """The prediction log of one workspace (``ws.logs_url``)."""

    def __init__(self, url: str) -> None:
        import fsspec

        self.url = url.rstrip("/")
        try:
            self.fs, self.root = fsspec.core.url_to_fs(self.url)
        except (ValueError, ImportError) as exc:
            raise StorageError(
                f"cannot open the prediction log at {url}: {exc}; check MODELWARD_LOGS"
            ) from None
        self.protocol = self.url.split("://", 1)[0] if "://" in self.url else "file"
        self.root = self.root.rstrip("/")
        self._con: Any = None
        self._opening: threading.Thread | None = None
        self._open_error: BaseException | None = None
        self._columns: dict[tuple[str, ...], dict[str, str]] = {}
        self._results: dict[str, list[Any]] = {}
        self._threads: int | None = None
        self._groups: dict[str, int] = {}

    # -- files ----------------------------------------------------------------------------

    def files(self, kind: str, model: str, window: Window | None = None) -> list[LogFile]:
        """The Parquet files of ``kind`` (predictions | feedback) for ``model``, pruned by date."""
        base = f"{self.root}/{kind}/model={model}"
        try:
            found = self.fs.glob(f"{base}/date=*/*.parquet")
        except (OSError, ValueError) as exc:
            raise StorageError(f"cannot list the prediction log at {self.url}: {exc}") from None
        from modelward.predlog.files import live_files

        dated: dict[str, str] = {}
        for path in sorted(str(p) for p in found):
            if path.rsplit("/", 1)[-1].startswith((".", "_")):
                continue  # temporary names of files being written
            match = _DATE.search(path)
            if match is None:
                continue
            date = match.group(1)
            if window is not None:
                first = (window.start - timedelta(days=1)).strftime("%Y-%m-%d")
                last = window.end.strftime("%Y-%m-%d")
                if not first <= date <= last:
                    continue
            dated[path] = date
        # each row once, whatever a compaction of these partitions is doing
        return [LogFile(self._full(p), dated[p]) for p in live_files(self.fs, list(dated))]

    def _full(self, path: str) -> str:
        return path if self.protocol == "file" else f"{self.protocol}://{path}"

    def models(self) -> list[str]:
        try:
            found = self.fs.glob(f"{self.root}/predictions/model=*")
        except (OSError, ValueError):
            return []
        return sorted(str(p).rsplit("model=", 1)[-1] for p in found)

    def require(self, model: str) -> None:
        """A one-line error when the log has nothing at all for ``model``."""
        if not self.files("predictions", model):
            known = ", ".join(self.models()) or "none"
            raise DataError(
                f"the prediction log at {self.url} has no predictions for model {model!r} "
                f"(models in the log: {known}); serve the model first or point "
                "MODELWARD_LOGS at the right log",
                field="model",
            )

    # -- DuckDB ---------------------------------------------------------------------------

    def connect(self) -> Any:
        """A new DuckDB connection (in memory) that can read the log's filesystem."""
        import duckdb

        con = duckdb.connect(
            config={
                "memory_limit": os.environ.get("MODELWARD_DUCKDB_MEMORY", MEMORY_LIMIT),
                "preserve_insertion_order": False,
            }
        )
        # every check opens the same few files several times; their footers are read once
        # (log files never change once written: they are renamed into place)
        con.execute("SET parquet_metadata_cache = true")
        if self.protocol != "file":
            con.register_filesystem(self.fs)
        return con

    def warm(self) -> None:
        """Open the shared connection in the background (it costs ~20 ms, and DuckDB lets
        go of the GIL meanwhile), for a caller that has other work first."""
        if self._con is None and self._opening is None:
            self._opening = threading.Thread(target=self._open, name="duckdb-connect")
            self._opening.start()

    def _open(self) -> None:
        try:
            self._con = self.connect()
        except BaseException as exc:  # noqa: BLE001 - raised again by _shared, in the caller
            self._open_error = exc

    def _shared(self) -> Any:
        """One connection for this log's short queries (opening one costs ~20 ms)."""
        if self._opening is not None:
            self._opening.join()
            self._opening = None
            if self._open_error is not None:
                error, self._open_error = self._open_error, None
                raise error
        if self._con is None:
            self._con = self.connect()
        return self._con

    def close(self) -> None:
        if self._opening is not None:
            self._opening.join()
            self._opening = None
        if self._con is not None:
            self._con.close()
            self._con = None

    def _source(self, files: list[LogFile]) -> str:
        paths = ", ".join(_quote(f.path) for f in files)
        return (
            f"read_parquet([{paths}], hive_partitioning=true, union_by_name=true, "
            "hive_types={'date': 'VARCHAR', 'model': 'VARCHAR'})"
        )

    def file_schemas(self, model: str, window: Window | None = None) -> dict[str, dict[str, str]]:
        """Arrow type of every column, per file (type violations and schema changes)."""
        import pyarrow.parquet as pq

        out: dict[str, dict[str, str]] = {}
        for log_file in self.files("predictions", model, window):
            path = log_file.path.split("://", 1)[-1] if self.protocol != "file" else log_file.path
            try:
                with self.fs.open(path, "rb") as handle:
                    schema = pq.read_schema(handle)
            except FileNotFoundError as exc:
                raise _translate(exc, self.url) from None
            out[log_file.path] = {field.name: str(field.type) for field in schema}
        return out

    def columns(self, model: str, window: Window | None = None) -> dict[str, str]:
        """Columns of the unified predictions table and their DuckDB types."""
        files = self.files("predictions", model, window)
        if not files:
            return {}
        key = tuple(f.path for f in files)
        if key not in self._columns:
            try:
                rows = self._shared().sql(f"DESCRIBE SELECT * FROM {self._source(files)}")
                found = rows.fetchall()
            except Exception as exc:  # duckdb.Error and friends
                raise _translate(exc, self.url) from None
            self._columns[key] = {str(r[0]): str(r[1]) for r in found}
        return dict(self._columns[key])

    def frame(
        self,
        model: str,
        window: Window,
        *,
        columns: list[str] | None = None,
        environment: str | None = None,
        version: int | None = None,
        labels: bool = True,
        labelled_only: bool = False,
        sample: int | None = None,
        where: list[str] | None = None,
        order: bool = True,
    ) -> pd.DataFrame:
        """The predictions in ``window`` (with their latest feedback ``label``) as a frame.

        ``columns`` limits what is read (Parquet is columnar: unread columns cost nothing);
        ``sample`` keeps a consistent hash sample of about that many requests.
        """
        import pandas as pd

        files = self.files("predictions", model, window)
        available = self.columns(model, window) if files else {}
        wanted = (
            list(columns)
            if columns is not None
            else [c for c in available if c not in ("model", "date")]
        )
        missing = [c for c in wanted if c not in available]
        select = [c for c in wanted if c in available]
        if not files or not select:
            empty = pd.DataFrame({c: pd.Series(dtype="object") for c in wanted})
            if labels:
                empty["label"] = pd.Series(dtype="object")
            return empty
        conditions = [
            f"p.ts >= TIMESTAMPTZ {_quote(window.start.isoformat())}",
            f"p.ts < TIMESTAMPTZ {_quote(window.end.isoformat())}",
            *(where or []),
        ]
        if environment is not None:
            conditions.append(f"p.environment = {_quote(environment)}")
        if version is not None:
            conditions.append(f"p.version = {int(version)}")
        if sample is not None:
            conditions += self._sample_condition(model, window, int(sample), environment)
        where = conditions
        cols = ", ".join(f'p."{c}"' for c in select)
        feedback = self.files("feedback", model) if labels else []
        sql = f"SELECT {cols}"
        if labels and feedback:
            sql += ", f.label AS label"
            sql += f" FROM {self._source(files)} AS p LEFT JOIN ("
            sql += (
                "SELECT request_id, arg_max(label, ts) AS label "
                f"FROM {self._source(feedback)} GROUP BY request_id"
            )
            sql += ") AS f ON p.request_id = f.request_id"
            if labelled_only:
                where.append("f.label IS NOT NULL")
        elif labels:
            sql += f", CAST(NULL AS VARCHAR) AS label FROM {self._source(files)} AS p"
            if labelled_only:
                where.append("FALSE")
        else:
            sql += f" FROM {self._source(files)} AS p"
        sql += " WHERE " + " AND ".join(where)
        if order and "ts" in select:
            # joins and parallel scans return rows in any order; bootstrap intervals and
            # reviews must not depend on it
            sql = f"SELECT * FROM ({sql}) ORDER BY ts" + (
                ", request_id" if "request_id" in select else ""
            )
        try:
            out = self._shared().sql(sql).df()
        except Exception as exc:  # duckdb.Error and friends
            raise _translate(exc, self.url) from None
        for column in missing:
            out[column] = None
        return out

    def query(
        self,
        model: str,
        window: Window,
        select: str,
        *,
        environment: str | None = None,
        labels: bool = False,
        where: list[str] | None = None,
        group_by: str | None = None,
        sample: int | None = None,
        arrow: bool = False,
        outer: str | None = None,
        run: bool = True,
    ) -> Any:
        """Run ``SELECT <select>`` over the window's predictions (aliased ``p``; with
        ``labels`` the latest feedback is joined as ``f.label``). Returns tuples, or an
        Arrow table with ``arrow``; ``None`` when the log has no files for the window.
        With ``run=False`` returns the statement instead, for :meth:`run_together`."""
        files = self.files("predictions", model, window)
        if not files:
            return None
        conditions = [
            f"p.ts >= TIMESTAMPTZ {_quote(window.start.isoformat())}",
            f"p.ts < TIMESTAMPTZ {_quote(window.end.isoformat())}",
            *(where or []),
        ]
        if environment is not None:
            conditions.append(f"p.environment = {_quote(environment)}")
        if sample is not None:
            conditions += self._sample_condition(model, window, sample, environment)
        source = f"{self._source(files)} AS p"
        feedback = self.files("feedback", model) if labels else []
        if labels and feedback:
            source += (
                " LEFT JOIN (SELECT request_id, arg_max(label, ts) AS label "
                f"FROM {self._source(feedback)} GROUP BY request_id) AS f "
                "ON p.request_id = f.request_id"
            )
        elif labels:
            source += " LEFT JOIN (SELECT NULL::VARCHAR AS request_id, NULL::VARCHAR AS label) "
            source += "AS f ON p.request_id = f.request_id"
        sql = f"SELECT {select} FROM {source} WHERE {' AND '.join(conditions)}"
        if group_by:
            sql += f" GROUP BY {group_by}"
        if outer is not None:
            sql = outer.replace("{inner}", sql)
        return self._run(sql, arrow=arrow) if run else sql

    def threads(self) -> int:
        """DuckDB's worker threads (one per core unless configured)."""
        if self._threads is None:
            self._threads = int(self._run("SELECT current_setting('threads')")[0][0])
        return self._threads

    def few_row_groups(self, model: str, window: Window) -> bool:
        """Whether the window's predictions hold fewer Parquet row groups than DuckDB has
        threads. DuckDB reads a row group with one thread, so then a single statement
        leaves cores idle and independent ones are worth running at the same time; with
        more row groups each statement already uses every core, and running several at
        once would only hold more row groups in memory."""
        files = self.files("predictions", model, window)
        threads = self.threads()
        if len(files) >= threads:
            return False
        return sum(self._row_groups(f.path) for f in files) < threads

    def _row_groups(self, path: str) -> int:
        """Row groups of one log file, from its footer (cached: files never change)."""
        import pyarrow.parquet as pq

        if path not in self._groups:
            local = path.split("://", 1)[-1] if self.protocol != "file" else path
            try:
                with self.fs.open(local, "rb") as handle:
                    self._groups[path] = pq.read_metadata(handle).num_row_groups
            except FileNotFoundError as exc:
                raise _translate(exc, self.url) from None
            except (OSError, ValueError) as exc:
                raise StorageError(f"cannot read the prediction log file {path}: {exc}") from None
        return self._groups[path]

    def run_together(self, statements: list[str | None], *, together: bool = True) -> list[Any]:
        """The tuples of independent statements (``None`` stays ``None``), with
        ``together`` run at the same time on cursors of the shared connection (see
        `few_row_groups`), else one after the other."""
        todo = list(dict.fromkeys(s for s in statements if s and s not in self._results))
        found: dict[str, list[Any]] = {}
        if together and len(todo) > 1:
            from concurrent.futures import ThreadPoolExecutor

            cursors = [self._shared().cursor() for _ in todo]
            try:
                with ThreadPoolExecutor(len(todo)) as pool:
                    rows = list(pool.map(lambda c, q: c.sql(q).fetchall(), cursors, todo))
            except Exception as exc:  # duckdb.Error and friends
                raise _translate(exc, self.url) from None
            finally:
                for cursor in cursors:
                    cursor.close()
            for sql, got in zip(todo, rows, strict=True):
                found[sql] = got
                if len(got) <= 1000:
                    self._results[sql] = got
        return [
            None if not s else list(found[s]) if s in found else self._run(s) for s in statements
        ]

    def _run(self, sql: str, *, arrow: bool = False) -> Any:
        """Run ``sql`` on the shared connection. Tuples are cached by the SQL text: it
        names every file read, and log files never change once written (they are renamed
        into place), so the same text gives the same answer."""
        if not arrow and sql in self._results:
            return list(self._results[sql])
        try:
            relation = self._shared().sql(sql)
            if arrow:
                return relation.to_arrow_table()
            rows = relation.fetchall()
        except Exception as exc:  # duckdb.Error and friends
            raise _translate(exc, self.url) from None
        if len(rows) <= 1000:  # counts and small groupings
            if len(self._results) >= 256:
                self._results.clear()
            self._results[sql] = rows
        return list(rows)

    def arrays(
        self,
        model: str,
        window: Window,
        columns: list[str],
        *,
        environment: str | None = None,
        where: list[str] | None = None,
        sample: int | None = None,
    ) -> dict[str, Any]:
        """Columns of the window as NumPy arrays (numbers as float64 with NaN for missing,
        text as object arrays with None), no pandas in between."""
        import numpy as np

        available = self.columns(model, window)
        present = [c for c in columns if c in available]
        out: dict[str, Any] = {}
        if present:
            select = ", ".join(f'p."{c}"' for c in present)
            table = self.query(
                model,
                window,
                select,
                environment=environment,
                where=where,
                sample=sample,
                arrow=True,
            )
            if table is not None:
                for name in present:
                    column = table.column(name)
                    if column.type.num_fields == 0 and str(column.type) in (
                        "double",
                        "float",
                        "int64",
                        "int32",
                        "int16",
                        "int8",
                        "uint8",
                    ):
                        out[name] = (
                            column.to_numpy(zero_copy_only=False).astype("float64", copy=False)
                            if column.null_count == 0
                            else np.asarray(column.cast("double").fill_null(float("nan")))
                        )
                    else:
                        out[name] = np.asarray(column.to_pylist(), dtype=object)
        return out

    def snapshot(
        self,
        model: str,
        window: Window,
        columns: list[str],
        *,
        environment: str | None = None,
        labels: bool = True,
        rate: float = 1.0,
    ) -> Any:
        """A DuckDB connection holding the window as temp table ``w`` (``columns`` plus the
        joined ``label``): read and joined once, then queried as often as a check needs.
        The column ``request_hash`` is DuckDB's ``hash(request_id)`` (an ordering of the
        requests that is the same on every run, cheaper to hold than the ids).
        With ``rate`` below 1 only the requests whose ``hash(request_id)`` falls in that
        share of the hash range are kept, on both sides of the join (a consistent sample:
        a sampled prediction keeps its feedback). ``None`` when the log has no files for
        the window. Close it when done."""
        files = self.files("predictions", model, window)
        if not files:
            return None
        available = self.columns(model, window)
        cols = ", ".join(
            "hash(p.request_id) AS request_hash"
            if c == "request_hash"
            else f'p."{c}"'
            if c in available
            else f'NULL AS "{c}"'
            for c in columns
        )
        conditions = [
            f"p.ts >= TIMESTAMPTZ {_quote(window.start.isoformat())}",
            f"p.ts < TIMESTAMPTZ {_quote(window.end.isoformat())}",
        ]
        if environment is not None:
            conditions.append(f"p.environment = {_quote(environment)}")
        sampled = ""
        if rate < 1.0:
            sampled = f"hash(request_id) < {hash_cut(rate)}::UBIGINT"
            conditions.append(f"hash(p.request_id) < {hash_cut(rate)}::UBIGINT")
        source = f"{self._source(files)} AS p"
        feedback = self.files("feedback", model) if labels else []
        latest = (
            "SELECT request_id, arg_max(label, ts) AS label "
            f"FROM {self._source(feedback)} {'WHERE ' + sampled if sampled else ''} "
            "GROUP BY request_id"
        )
        where = " AND ".join(conditions)
        # a cursor of the shared connection: same database and settings, its own temp
        # schema (so ``w`` is private to it and dropped on close), ~20 ms cheaper to open
        con = self._shared().cursor()
        try:
            if feedback and rate < 1.0 and self.few_row_groups(model, window):
                self._sampled_join(con, cols, source, where, latest)
            elif feedback:  # one statement: the feedback side first, then the predictions
                con.execute(
                    f"CREATE TEMP TABLE w AS SELECT {cols}, f.label AS label FROM {source} "
                    f"LEFT JOIN ({latest}) AS f ON p.request_id = f.request_id WHERE {where}"
                )
            else:
                con.execute(
                    f"CREATE TEMP TABLE w AS SELECT {cols}, NULL::VARCHAR AS label "
                    f"FROM {source} WHERE {where}"
                )
        except Exception as exc:  # duckdb.Error and friends
            con.close()
            raise _translate(exc, self.url) from None
        return con

    def _sampled_join(self, con: Any, cols: str, source: str, where: str, latest: str) -> None:
        """``w`` = the sampled predictions left-joined with their latest feedback, the two
        sides read at the same time. DuckDB reads one Parquet row group with one thread,
        and a day of traffic can be a single file of one row group: as one statement the
        feedback side is read, hashed and grouped first and the predictions after it, on
        one core. Here each side runs on its own cursor (its own thread), into a table of
        the shared in-memory database, and the join of the two samples (a few hundred
        thousand rows each) runs in memory, where DuckDB uses every thread."""
        from concurrent.futures import ThreadPoolExecutor

        tag = f"{os.getpid()}_{next(_TABLES)}"
        sides = {
            f"_mw_p_{tag}": f"SELECT p.request_id AS _mw_key, {cols} FROM {source} WHERE {where}",
            f"_mw_f_{tag}": latest,
        }
        cursors = [self._shared().cursor() for _ in sides]
        try:
            with ThreadPoolExecutor(len(sides)) as pool:
                done = [
                    pool.submit(cursor.execute, f'CREATE TABLE "{table}" AS {sql}')
                    for cursor, (table, sql) in zip(cursors, sides.items(), strict=True)
                ]
                for future in done:
                    future.result()
            pred, feed = sides
            con.execute(
                "CREATE TEMP TABLE w AS SELECT p.* EXCLUDE (_mw_key), f.label AS label "
                f'FROM "{pred}" AS p LEFT JOIN "{feed}" AS f ON p._mw_key = f.request_id'
            )
        finally:
            for cursor in cursors:
                cursor.close()
            for table in sides:
                con.execute(f'DROP TABLE IF EXISTS "{table}"')

    def hash_rate(
        self, model: str, window: Window, rows: int, *, environment: str | None = None
    ) -> float:
        """The share of requests to keep for about ``rows`` rows (1.0: keep all)."""
        total = self.count(model, window, environment=environment)
        return 1.0 if total <= rows else rows / total

    def _sample_condition(
        self, model: str, window: Window, rows: int, environment: str | None
    ) -> list[str]:
        """The condition that keeps about ``rows`` of the window's predictions: the
        consistent hash sample of :meth:`snapshot` (the same requests in every check and
        every run, and unlike a seeded ``USING SAMPLE`` it runs on every thread); none
        when the window holds no more."""
        total = self.count(model, window, environment=environment)
        if total <= rows:
            return []
        return [f"hash(p.request_id) < {hash_cut(rows / total)}::UBIGINT"]

    def count(self, model: str, window: Window, *, environment: str | None = None) -> int:
        """Predictions in the window, every status."""
        return sum(self.census(model, window, environment=environment).values())

    def census(
        self, model: str, window: Window, *, environment: str | None = None
    ) -> dict[tuple[int | None, str | None], int]:
        """``(version, status) -> predictions`` in the window: one grouped pass that the
        checks' counts (all rows, served per version, the busiest version) share (the
        statement's rows are cached by its text)."""
        found = self.query(
            model,
            window,
            "p.version, p.status, count(*)",
            environment=environment,
            group_by="1, 2",
        )
        return {(None if v is None else int(v), status): int(n) for v, status, n in found or []}


def hash_cut(rate: float) -> int:
    """The bound on DuckDB's 64-bit ``hash(request_id)`` that keeps ``rate`` of the ids."""
    return min(2**64 - 1, max(0, int(rate * 2**64)))


class LogChanged(DataError):
    """A file listed for a read was gone when DuckDB opened it: a compaction replaced it
    in between. Listing again finds the compacted file: each check runs once more then
    (``monitoring.monitor.rereads``)."""


def _translate(exc: Exception, url: str) -> Exception:
    first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    if isinstance(exc, FileNotFoundError) or (
        "IO Error" in first and ("No files found" in first or "No such file" in first)
    ):
        return LogChanged(
            f"a file of the prediction log at {url} was replaced while it was read ({first}); "
            "run the check again"
        )
    return DataError(
        f"cannot read the prediction log at {url}: {first}; check that its files follow "
        "the layout in docs/monitor.md"
    )
