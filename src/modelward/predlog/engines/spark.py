"""The Spark engine: the same scans as DuckDB's, run by Apache Spark (PySpark) on a
cluster or ``local[N]``, for a log beyond what one machine reads in time.

Every statement is :class:`~.sql.ScanSQL`'s, the one the DuckDB engine runs, translated
only where Spark's parser reads the shared dialect differently (a double-quoted name is
a backticked one; a string literal escapes with a backslash, not by doubling its quote).
A scan's files are read with ``spark.read.parquet`` per date partition, ``model`` and
``date`` added from the listing, and the partitions unioned by name (a file written
before a column existed reads it as null), as a temporary view named after the files.
The hash sample reads each row's stored ``sample_hash``, else :func:`~.sql.sample_hash`
spelled in Spark SQL (the top 60 bits of the little-endian MD5 of the request id), so
both engines keep the same requests; the
quantile is Spark's exact ``percentile`` (linear interpolation, as NumPy's); the session
runs in UTC with ANSI mode off, so a failed cast or a division by zero is null, as in
DuckDB. Results come back through Arrow; nothing but :meth:`SparkEngine.rows` (bounded
by its callers) brings rows to the driver.

PySpark is imported only when this engine is chosen (``--engine spark``,
``monitoring.engine: spark``); without it, or without Java, the one-line error says what
to install.
"""

from __future__ import annotations

import hashlib
import itertools
import os
import re
import shutil
import threading
import warnings
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError, DataError, ModelwardError, StorageError
from modelward.predlog.engine import Aggregate, Order, Scan
from modelward.predlog.engines.sql import HASH_BITS, ScanSQL, ids_table
from modelward.predlog.files import LogChanged, LogFile, LogFiles

if TYPE_CHECKING:
    from datetime import datetime

    import pyarrow as pa

__all__ = ["DEFAULT_MASTER", "SparkEngine", "session", "spark_sql"]

#: The master of a Spark engine not told one: every core of this machine.
DEFAULT_MASTER = "local[*]"
_TABLES = itertools.count()
_CACHED_ROWS = 1000
_CACHED_RESULTS = 256
#: The session's settings: the engines' shared semantics (UTC, nulls where DuckDB has
#: them) and a quiet, small footprint for a check's few-column aggregates.
_SETTINGS = {
    "spark.sql.session.timeZone": "UTC",
    "spark.sql.ansi.enabled": "false",
    "spark.sql.parquet.mergeSchema": "true",
    "spark.ui.enabled": "false",
    "spark.ui.showConsoleProgress": "false",
    "spark.sql.execution.arrow.pyspark.enabled": "true",
}
#: Hadoop's name for a filesystem where fsspec's differs.
_SCHEMES = {"s3": "s3a", "gs": "gs", "gcs": "gs", "hdfs": "hdfs", "abfs": "abfs", "file": "file"}
_LOCK = threading.Lock()
#: The JVM's logging: errors only (Spark's default profile prints notes on every start).
_LOG4J = Path(__file__).with_name("spark-log4j2.properties")


def session(master: str = DEFAULT_MASTER, **settings: str) -> Any:
    """The process's Spark session on ``master`` (made once; later calls get the same
    one), or a one-line :class:`ConfigError` naming what to install."""
    # PySpark 4 warns that it is not tested with pandas 3; the engine reads through Arrow
    warnings.filterwarnings(
        "ignore", "PySpark does not yet fully support pandas", category=FutureWarning
    )
    try:
        from pyspark.sql import SparkSession
    except ImportError as exc:
        raise ConfigError(
            "the Spark engine needs PySpark: pip install 'modelward[spark]' "
            "(or choose monitoring.engine: duckdb)"
        ) from exc
    if not (os.environ.get("JAVA_HOME") or shutil.which("java")):
        raise ConfigError(
            "the Spark engine needs Java 17 or newer: install a JRE (Debian: "
            "apt-get install openjdk-17-jre-headless) or set JAVA_HOME"
        )
    with _LOCK:
        builder = SparkSession.builder.master(master).appName("modelward")
        quiet = {"spark.driver.extraJavaOptions": f"-Dlog4j2.configurationFile={_LOG4J}"}
        for key, value in {**_SETTINGS, **quiet, **_local(master), **settings}.items():
            builder = builder.config(key, value)
        try:
            spark = builder.getOrCreate()
        except Exception as exc:  # pyspark's errors: the JVM or the master failed to start
            raise StorageError(
                f"cannot start Spark on {master}: {_first_line(exc)}; check "
                "monitoring.spark_master and that the cluster is reachable"
            ) from exc
    spark.sparkContext.setLogLevel("ERROR")
    for key in ("spark.sql.session.timeZone", "spark.sql.ansi.enabled"):
        spark.conf.set(key, _SETTINGS[key])  # a session made elsewhere gets the semantics
    return spark


def _local(master: str) -> dict[str, str]:
    """On one machine, as many shuffle partitions as cores (Spark's 200 are for a
    cluster: a check's grouped counts would run 200 tiny tasks on a few cores)."""
    found = re.fullmatch(r"local(?:\[(\*|\d+)\])?", master)
    if found is None:
        return {}
    asked = found.group(1)
    cores = 1 if asked is None else (os.cpu_count() or 1) if asked == "*" else int(asked)
    return {"spark.sql.shuffle.partitions": str(cores)}


def spark_sql(sql: str) -> str:
    """The shared dialect as Spark's parser reads it: ``"name"`` as ``\\`name\\```, and a
    ``'literal'`` (quotes doubled inside) with backslash escapes."""
    out: list[str] = []
    i, n = 0, len(sql)
    while i < n:
        char = sql[i]
        if char not in "'\"":
            out.append(char)
            i += 1
            continue
        text, i = _quoted(sql, i)
        if char == "'":
            out.append("'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'")
        else:
            out.append("`" + text.replace("`", "``") + "`")
    return "".join(out)


def _quoted(sql: str, start: int) -> tuple[str, int]:
    """The text of the quoted token at ``start`` (its quote doubled inside) and the
    index after it."""
    quote, i, parts = sql[start], start + 1, []
    while i < len(sql):
        if sql[i] == quote:
            if sql[i + 1 : i + 2] == quote:
                parts.append(quote)
                i += 2
                continue
            return "".join(parts), i + 1
        parts.append(sql[i])
        i += 1
    raise DataError(f"an unterminated {quote} in a statement for the prediction log")


class SparkEngine(ScanSQL):
    """A :class:`~modelward.predlog.engine.Engine` on Spark: ``master`` (``local[*]``,
    ``spark://host:7077``, ``yarn``, ``k8s://…``) or a ready ``spark`` session."""

    def __init__(self, files: LogFiles, *, master: str = DEFAULT_MASTER, spark: Any = None) -> None:
        self.files = files
        self.master = master
        self._spark = spark
        self._opening: threading.Thread | None = None
        self._open_error: BaseException | None = None
        self._views: dict[str, str] = {}  # the files' key -> their temporary view
        self._results: dict[str, list[Any]] = {}
        self._on_driver: bool | None = None  # whether the master is local[…]: None unknown

    # -- the session ----------------------------------------------------------------------

    def warm(self) -> None:
        """Start the session in the background (a JVM starts in seconds)."""
        if self._spark is None and self._opening is None:
            self._opening = threading.Thread(target=self._open, name="spark-session")
            self._opening.start()

    def _open(self) -> None:
        try:
            self._spark = session(self.master)
        except BaseException as exc:  # noqa: BLE001 - raised again by _session, in the caller
            self._open_error = exc

    def _session(self) -> Any:
        if self._opening is not None:
            self._opening.join()
            self._opening = None
            if self._open_error is not None:
                error, self._open_error = self._open_error, None
                raise error
        if self._spark is None:
            self._spark = session(self.master)
        return self._spark

    def close(self) -> None:
        """Drop this engine's views; the session stays for the process (starting one
        costs seconds, and other engines of the process share it)."""
        if self._opening is not None:
            self._opening.join()
            self._opening = None
        if self._spark is not None:
            for view in self._views.values():
                self._spark.catalog.dropTempView(view)
        self._views.clear()
        self._results.clear()

    # -- the dialect ----------------------------------------------------------------------

    def source(self, files: Sequence[LogFile]) -> str:
        return self._view(files)

    def timestamp(self, value: datetime) -> str:
        return f"TIMESTAMP '{value.isoformat()}'"

    def hashed(self, column: str) -> str:
        """:func:`~.sql.sample_hash`: the MD5's bytes reversed (little-endian), its first
        60 bits (15 hex digits) as a BIGINT; one MD5 per row."""
        digits = HASH_BITS // 4
        reversed_hex = f"hex(reverse(unhex(md5({column}))))"
        return f"CAST(conv(substr({reversed_hex}, 1, {digits}), 16, 10) AS BIGINT)"

    def latest(self, value: str) -> str:
        return f"max_by({value}, ts) FILTER (WHERE {value} IS NOT NULL)"

    def quantile(self, expression: str, q: float) -> str:
        return f"percentile({expression}, {float(q)!r})"

    def micros(self, expression: str) -> str:
        return f"unix_micros({expression})"

    # -- the operations -------------------------------------------------------------------

    def aggregate(
        self, scan: Scan, select: Sequence[str], *, group_by: str | None = None
    ) -> list[tuple[Any, ...]]:
        if scan.empty:
            return []
        cache = scan.table is None and scan.requests is None
        with self._statement(scan) as spark:
            sql = self.select(scan, ", ".join(select), group_by=group_by)
            if cache and sql in self._results:
                return list(self._results[sql])
            table = self._arrow(spark, sql)
        columns = [column.to_pylist() for column in table.columns]
        rows = list(zip(*columns, strict=True)) if columns else []
        if cache and len(rows) <= _CACHED_ROWS:
            if len(self._results) >= _CACHED_RESULTS:
                self._results.clear()
            self._results[sql] = rows
        return list(rows)

    def aggregate_many(self, queries: Sequence[Aggregate]) -> list[list[tuple[Any, ...]]]:
        return [self.aggregate(q.scan, q.select, group_by=q.group_by) for q in queries]

    def aggregate_columns(
        self, scan: Scan, select: Sequence[str], *, group_by: str | None = None
    ) -> dict[str, Any]:
        """As NumPy arrays, as DuckDB's ``fetchnumpy`` gives them: masked where null."""
        if scan.empty:
            return {}
        with self._statement(scan) as spark:
            table = self._arrow(spark, self.select(scan, ", ".join(select), group_by=group_by))
        return {name: _numpy(table.column(name)) for name in table.column_names}

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
        with self._statement(scan) as spark:
            return self._arrow(spark, self.rows_sql(scan, columns, order=order, limit=limit))

    @contextmanager
    def materialise(self, scan: Scan, columns: Sequence[str]) -> Iterator[Scan]:
        """The scan read and joined once, cached in the executors' memory (spilling to
        their disks) as a temporary view, with ``_hash`` and ``ts`` beside the columns."""
        if scan.empty:
            yield scan
            return
        if scan.requests is not None:
            raise ValueError("a scan of given request ids is small: aggregate it in place")
        spark = self._session()
        table = f"_mw_w_{os.getpid()}_{next(_TABLES)}"
        columns = list(dict.fromkeys([*columns, "ts"]))
        label = ["f.label AS label"] if scan.labels is not None else []
        sql = self.select(scan, ", ".join(self.held_columns(scan, columns) + label))
        try:
            frame = spark.sql(spark_sql(sql)).persist()
            frame.count()  # read it now: the check's questions then ask the cache
        except Exception as exc:  # pyspark's errors
            raise self._translate(exc) from exc
        frame.createOrReplaceTempView(table)
        held = {c: scan.columns.get(c, "null") for c in columns}
        if scan.labels is not None:
            held["label"] = "string"
        try:
            yield replace(
                scan, columns=held, table=table, labels=None, rate=1.0, version=None,
                status=None, labelled=False, requests=None, where=(), answered=None,
            )  # fmt: skip
        finally:
            spark.catalog.dropTempView(table)
            frame.unpersist()

    # -- reading --------------------------------------------------------------------------

    def _view(self, files: Sequence[LogFile]) -> str:
        """A temporary view over ``files`` (made once per set of files): each date
        partition read with its columns merged, ``model`` and ``date`` added from the
        listing, the partitions unioned by name."""
        paths = [f.path for f in files]
        key = hashlib.sha1("\n".join(paths).encode("utf-8"), usedforsecurity=False).hexdigest()
        if key in self._views:
            return self._views[key]
        from pyspark.sql import functions as sf

        spark = self._session()
        parts: dict[tuple[str, str], list[str]] = {}
        for file in files:
            parts.setdefault((file.model, file.date), []).append(file.path)
        try:
            frames = [
                self._read(spark, listed)
                .withColumn("model", sf.lit(model))
                .withColumn("date", sf.lit(day))
                for (model, day), listed in parts.items()
            ]
            whole = frames[0]
            for frame in frames[1:]:
                whole = whole.unionByName(frame, allowMissingColumns=True)
        except ModelwardError:
            raise
        except Exception as exc:  # pyspark's and pyarrow's errors: a missing or bad file
            raise self._translate(exc) from exc
        view = f"_mw_src_{key[:20]}"
        whole.createOrReplaceTempView(view)
        self._views[key] = view
        return view

    def _read(self, spark: Any, paths: list[str]) -> Any:
        """The Parquet files ``paths`` as one DataFrame. On a cluster, the files only this
        machine has (the write-ahead folder's rows converted into a private folder: a few
        minutes of traffic) are read here and handed to Spark, as executors elsewhere
        cannot open them; the log's own files are read by the executors. On ``local[N]``
        (where this process is the executors' machine) a log in object storage is read
        here too, through the log's own filesystem: pyspark ships no S3 connector
        (hadoop-aws), which a cluster reading ``s3a://`` needs on its classpath."""
        shipped = [p for p in paths if self._driver_only(p)]
        read = [self._hadoop(p) for p in paths if p not in shipped]
        frames = [spark.read.parquet(*read)] if read else []
        if shipped:
            frames.append(spark.createDataFrame(self._arrow_of(shipped)))
        whole = frames[0]
        for frame in frames[1:]:
            whole = whole.unionByName(frame, allowMissingColumns=True)
        return whole

    def _driver_only(self, path: str) -> bool:
        """Whether ``path`` is read by this process and handed to Spark: on a cluster, a
        file of this machine its executors cannot read (a local path outside a local log,
        or any local path of a remote log); on ``local[N]``, a file in object storage."""
        if "://" in path:
            return self._local() and not path.startswith("file://")
        if self._local():
            return False
        return self.files.remote or not path.startswith(self.files.root + "/")

    def _arrow_of(self, paths: list[str]) -> pa.Table:
        """The files ``paths`` (the log's, through its filesystem, or this machine's) as
        one Arrow table, columns unified by name."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        def one(path: str) -> pa.Table:
            if "://" not in path:
                return pq.read_table(path)
            with self.files.fs.open(self.files.local(path), "rb") as handle:
                return pq.read_table(handle)

        tables = [one(p) for p in paths]
        return (
            tables[0]
            if len(tables) == 1
            else pa.concat_tables(tables, promote_options="permissive")
        )

    def _local(self) -> bool:
        if self._on_driver is None:
            master = str(self._session().sparkContext.master)
            self._on_driver = master.startswith("local")
        return self._on_driver

    def _hadoop(self, path: str) -> str:
        """A path as Hadoop's filesystems name it (``s3://`` is ``s3a://`` there)."""
        if "://" not in path:
            return path
        scheme, rest = path.split("://", 1)
        if scheme not in _SCHEMES:
            raise ConfigError(
                f"the Spark engine cannot read a log at {self.files.url} ({scheme}:// is "
                "not a Hadoop filesystem); keep the log in a folder, HDFS or S3, or use "
                "the DuckDB engine"
            )
        return f"{_SCHEMES[scheme]}://{rest}"

    @contextmanager
    def _statement(self, scan: Scan) -> Iterator[Any]:
        """The session, with the scan's request ids registered as a view meanwhile."""
        spark = self._session()
        if scan.requests is None:
            yield spark
            return
        frame = spark.createDataFrame([(r,) for r in scan.requests], "request_id STRING")
        frame.createOrReplaceTempView(ids_table(scan))
        try:
            yield spark
        finally:
            spark.catalog.dropTempView(ids_table(scan))

    def _arrow(self, spark: Any, sql: str) -> pa.Table:
        try:
            return spark.sql(spark_sql(sql)).toArrow()
        except ModelwardError:
            raise
        except Exception as exc:  # pyspark's errors (AnalysisException, SparkException, …)
            raise self._translate(exc) from exc

    def _translate(self, exc: Exception) -> ModelwardError:
        if isinstance(exc, ModelwardError):
            return exc
        text = str(exc)
        first = _first_line(exc)
        url = self.files.url
        if any(
            word in text for word in ("FileNotFoundException", "PATH_NOT_FOUND", "FILE_NOT_EXIST")
        ):
            return LogChanged(
                f"a file of the prediction log at {url} was replaced while it was read "
                f"({first}); run the check again"
            )
        unreadable = ("Parquet", "parquet", "FAILED_READ_FILE", "footer", "CANNOT_MERGE")
        if any(word in text for word in unreadable):
            return DataError(
                f"cannot read the prediction log at {url}: {first}; check that its files "
                "follow the layout in docs/monitor.md"
            )
        if any(
            word in text
            for word in ("Py4JNetworkError", "Connection refused", "SparkContext was shut down")
        ):
            return StorageError(f"cannot read the prediction log at {url} with Spark: {first}")
        return DataError(
            f"cannot read the prediction log at {url}: {first}; check that its files follow "
            "the layout in docs/monitor.md"
        )


def _first_line(exc: BaseException) -> str:
    """What a Spark error says, without the JVM's stack, at most 300 characters: the
    first line of its message, or of the Java exceptions behind py4j's "An error
    occurred while calling …" (the first that names the file, else the innermost)."""
    lines = [_line(str(exc))]
    java = getattr(exc, "java_exception", None)
    for _ in range(10):  # the chain of causes
        if java is None:
            break
        lines.append(_line(str(java.toString())))
        java = java.getCause()
    if len(lines) > 1:
        lines = [x for x in lines[1:] if "file" in x.lower()] or lines[-1:]
    first = lines[0]
    return first if len(first) <= 300 else first[:297] + "..."


def _line(text: str) -> str:
    found = [line.strip() for line in text.splitlines() if line.strip()]
    return found[0] if found else "unknown error"


def _numpy(column: pa.ChunkedArray) -> Any:
    """A result column as NumPy, masked where null (as DuckDB's ``fetchnumpy``)."""
    import numpy as np
    import pyarrow as pa

    if pa.types.is_decimal(column.type):
        column = column.cast(pa.float64())
    if column.null_count == 0:
        return column.to_numpy()
    mask = np.asarray(column.is_null().to_numpy(zero_copy_only=False), dtype=bool)
    if pa.types.is_floating(column.type) or pa.types.is_integer(column.type):
        kind = "float64" if pa.types.is_floating(column.type) else "int64"
        data = column.fill_null(0).to_numpy().astype(kind)
    else:
        data = np.asarray(column.to_pylist(), dtype=object)
    return np.ma.masked_array(data, mask=mask)
