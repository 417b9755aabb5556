"""The SQL of a scan that every engine runs: the window, the narrowing, the label join
and the consistent hash sample, written once in the dialect DuckDB and Spark SQL share.

An engine subclasses :class:`ScanSQL` and spells the few things the dialects spell
differently: the table expression over a list of files (:meth:`ScanSQL.source`), a
timestamp literal, the sample's hash of a request id, and "the value at the latest
``ts``" (``arg_max`` / ``max_by``). Everything else (which rows a scan holds, which label
a request gets, which requests a sample keeps) is decided here, so two engines given the
same scan read the same rows.

The sample's hash is :func:`~modelward.predlog.layout.sample_hash` (the top 60 bits of
the MD5 of the request id read as a little-endian 128-bit number, DuckDB's
``md5_number(id) >> 68``): the writer stores it with each row (``sample_hash``), and
both engines compute it in SQL for rows of files written before that column existed, so
a sample is the same requests whichever engine drew it.

The label join (:meth:`ScanSQL.latest_labels`) and label coverage
(:meth:`ScanSQL.answered_source`, counted over every request) compare the requests' keys
(``request_hi``, ``request_lo``: :mod:`~modelward.predlog.derive`) where the files'
statistics count no row without one, else the ids: the same rows either way, the keys in
half the time. Where they count no row without its ``sample_hash``, the hash sample reads
it alone: no id is read then.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING

from modelward.predlog.engine import Scan, literal
from modelward.predlog.layout import HASH_BITS, REQUEST_HI, REQUEST_LO, SAMPLE_HASH, sample_hash

if TYPE_CHECKING:
    from modelward.predlog.files import LogFile, LogFiles

__all__ = ["HASH_BITS", "ScanSQL", "hash_cut", "sample_hash"]


def hash_cut(rate: float) -> int:
    """The bound on the sample hash that keeps ``rate`` of the request ids (hash < cut)."""
    return min(2**HASH_BITS, max(0, int(rate * 2**HASH_BITS)))


def _name(column: str) -> str:
    return '"' + column.replace('"', '""') + '"'


class ScanSQL:
    """``SELECT … FROM <scan>`` in the shared dialect; subclasses spell the rest."""

    files: LogFiles

    # -- what the dialects spell differently ---------------------------------------------

    def source(self, files: Sequence[LogFile]) -> str:
        """A table expression over the Parquet ``files`` (every column of every file,
        null where a file lacks one; ``model`` and ``date`` from their partitions)."""
        raise NotImplementedError

    def timestamp(self, value: datetime) -> str:
        """A literal of the timezone-aware ``value``."""
        raise NotImplementedError

    def hashed(self, column: str) -> str:
        """The sample hash of ``column`` (:func:`sample_hash`) as a BIGINT expression."""
        raise NotImplementedError

    def latest(self, value: str) -> str:
        """The aggregate: ``value`` of the row with the latest ``ts`` of a group among
        those where it is not null."""
        raise NotImplementedError

    # -- the scan -------------------------------------------------------------------------

    def request_hash(self, alias: str, files: Sequence[LogFile]) -> str:
        """The sample hash of each row of ``files`` read as ``alias`` (``"p."`` or ``""``):
        the stored ``sample_hash``, else (files written before it) the id's hash."""
        if files and self.files.complete(files, [SAMPLE_HASH]):
            return f"{alias}{SAMPLE_HASH}"  # no id need be read
        computed = self.hashed(f"{alias}request_id")
        if SAMPLE_HASH in self.files.columns(list(files)):
            return f"coalesce({alias}{SAMPLE_HASH}, {computed})"
        return computed

    def sampled(self, alias: str, files: Sequence[LogFile], rate: float) -> str:
        """The condition that keeps a request in the hash sample of ``rate``."""
        return f"{self.request_hash(alias, files)} < {hash_cut(rate)}"

    def scan_source(self, scan: Scan) -> tuple[str, str]:
        """``(FROM, WHERE)`` of a scan of files: the predictions as ``p`` (and the latest
        labels as ``f``), the window, environment and hash sample applied."""
        source = f"{self.source(scan.files)} AS p"
        if scan.answered is not None:
            source = self.answered_source(scan.files, scan.answered, scan.rate)
        conditions = ["TRUE"]
        if scan.start is not None:
            conditions.append(f"p.ts >= {self.timestamp(scan.start)}")
        if scan.end is not None:
            conditions.append(f"p.ts < {self.timestamp(scan.end)}")
        if scan.environment is not None:
            conditions.append(f"p.environment = {literal(scan.environment)}")
        if scan.rate < 1.0:
            conditions.append(self.sampled("p.", scan.files, scan.rate))
        if scan.labels is not None:
            keys = self.label_keys(scan.files, scan.labels)
            latest = self.latest_labels(scan.labels, scan.rate, ratings=scan.ratings, keys=keys)
            source += f" LEFT JOIN ({latest}) AS f ON {joined_on('p.', keys)}"
        return source, " AND ".join(conditions)

    def label_keys(self, files: Sequence[LogFile], labels: Sequence[LogFile]) -> tuple[str, ...]:
        """The columns predictions and their labels are joined on: the request's key
        (two integers) where every row of every file has one, as the files' statistics
        say; else the id."""
        if labels and self.files.complete([*files, *labels], (REQUEST_HI, REQUEST_LO)):
            return (REQUEST_HI, REQUEST_LO)
        return ("request_id",)

    def latest_labels(
        self,
        labels: tuple[LogFile, ...],
        rate: float,
        *,
        ratings: bool = False,
        keys: tuple[str, ...] = ("request_id",),
    ) -> str:
        """The latest label of each request (of the hash sample), as ``_k0[, _k1], label``
        (its ``keys``: :meth:`label_keys`; null labels passed over: a rating never erases
        a label); with ``ratings`` also its latest ``satisfaction`` and ``correct`` (null
        in files written before those columns existed)."""
        rated = ""
        if ratings:
            held = self.files.columns(list(labels)) if labels else {}
            rated = "".join(
                f", {self.latest(c)} AS {c}" if c in held else f", CAST(NULL AS {t}) AS {c}"
                for c, t in (("satisfaction", "DOUBLE"), ("correct", "BOOLEAN"))
            )
        if not labels:
            return f"SELECT CAST(NULL AS STRING) AS _k0, CAST(NULL AS STRING) AS label{rated}"
        named = ", ".join(f"{key} AS _k{i}" for i, key in enumerate(keys))
        sampled = f"WHERE {self.sampled('', labels, rate)} " if rate < 1.0 else ""
        return (
            f"SELECT {named}, {self.latest('label')} AS label{rated} "
            f"FROM {self.source(labels)} {sampled}GROUP BY {', '.join(keys)}"
        )

    def answered_source(
        self, files: Sequence[LogFile], labels: tuple[LogFile, ...], rate: float
    ) -> str:
        """The predictions of ``files`` that have a label in ``labels`` (of the hash
        sample), as ``p``: the same requests as the join's ``label IS NOT NULL`` (a
        feedback row that only rates an LLM answer has none), matched on
        :meth:`label_keys`."""
        source = self.source(files)
        if not labels:
            return f"(SELECT * FROM {source} WHERE FALSE) AS p"
        keys = ", ".join(self.label_keys(files, labels))
        sampled = f" AND {self.sampled('', labels, rate)}" if rate < 1.0 else ""
        answered = f"SELECT {keys} FROM {self.source(labels)} WHERE label IS NOT NULL{sampled}"
        return f"(SELECT * FROM {source} WHERE ({keys}) IN ({answered})) AS p"

    def select(self, scan: Scan, select: str, *, group_by: str | None = None) -> str:
        """``SELECT <select>`` over a scan (of files or a materialised table)."""
        if scan.table is not None:
            source, where = scan.table, "TRUE"
        else:
            source, where = self.scan_source(scan)
        conditions = [where, *scan.where]
        if scan.version is not None:
            conditions.append(f"version = {int(scan.version)}")
        if scan.status is not None:
            conditions.append(f"status IN ({', '.join(literal(s) for s in scan.status)})")
        if scan.labelled:
            conditions.append("label IS NOT NULL")
        if scan.requests is not None:
            conditions.append(f"request_id IN (SELECT request_id FROM {ids_table(scan)})")
        sql = f"SELECT {select} FROM {source} WHERE {' AND '.join(conditions)}"
        return sql + (f" GROUP BY {group_by}" if group_by else "")

    def rows_sql(
        self, scan: Scan, columns: Sequence[str], *, order: str | None, limit: int | None
    ) -> str:
        """The statement of :meth:`~modelward.predlog.engine.Engine.rows`: ``columns``
        (null where the files lack one), ordered and bounded; ties broken by the hash
        (a materialised scan's ``_hash``) or the request id."""
        select = ", ".join(_name(c) if scan.has(c) else f"NULL AS {_name(c)}" for c in columns)
        key = "_hash" if scan.table is not None else "request_id"
        hashed = "_hash" if scan.table is not None else self.request_hash("", scan.files)
        bound = f" LIMIT {int(limit)}" if limit is not None else ""
        if order in ("latest", "hash"):
            first = f"ts DESC, {key} DESC" if order == "latest" else f"{hashed}, {key}"
            inner = f"{select}, ts AS _mw_ts, {hashed} AS _mw_key"
            outer = ", ".join(_name(c) for c in columns)
            sql = f"{self.select(scan, inner)} ORDER BY {first}{bound}"
            return f"SELECT {outer} FROM ({sql}) AS _mw_r ORDER BY _mw_ts, _mw_key"
        sql = self.select(scan, select)
        if order == "ts":
            sql += f" ORDER BY ts, {key}"
        return sql + bound

    def held_columns(self, scan: Scan, columns: Sequence[str]) -> list[str]:
        """The select list of a materialised scan: ``columns`` of the predictions as
        ``p`` (null where the files lack one) and ``_hash``, the request's sample hash."""
        return [
            *(f"p.{_name(c)}" if scan.has(c) else f"NULL AS {_name(c)}" for c in columns),
            f"{self.request_hash('p.', scan.files)} AS _hash",
        ]


def joined_on(alias: str, keys: Sequence[str]) -> str:
    """The join condition of predictions read as ``alias`` with :meth:`~ScanSQL.latest_labels`
    (as ``f``) on ``keys``."""
    return " AND ".join(f"{alias}{key} = f._k{i}" for i, key in enumerate(keys))


def ids_table(scan: Scan) -> str:
    """The name a scan's request ids are registered under while a statement runs."""
    return f"_mw_ids_{id(scan.requests)}"
