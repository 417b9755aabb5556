"""The seam between the log's readers and what computes over it: a :class:`Scan` (what to
read) and an :class:`Engine` (how). DuckDB is the default engine (:mod:`.engines.duckdb`),
Spark the other (:mod:`.engines.spark`); both run :mod:`.engines.sql`'s statements.

A scan is a window of one model's predictions, its files listed once by
:class:`~modelward.predlog.reader.LogReader` (the only code that turns the layout into
query sources), narrowed by environment, version, status, a set of request ids, a
consistent hash sample of the requests, and optionally joined with the latest label of
each request. Checks ask an engine for **aggregates** over a scan (grouped counts and
sums, quantiles, grouping sets) and, where they genuinely need rows (a bootstrap
interval, a list to review), for a **bounded** set of rows: a limit, or a hash sample
sized for one. Aggregates are the contract between the engines and the statistics, so
the same check gives the same numbers whichever engine computed them, and no engine
hands out its connection.

Expressions (``select``, ``group_by``, ``Scan.where``) name the scan's columns bare
(``status``, ``in_age``; ``label`` when labels are joined; ``model`` and ``date`` from the
paths; ``satisfaction`` and ``correct`` when ratings are joined) in the SQL that DuckDB and
Spark SQL share: ``count(*)``, ``count(x)``,
``sum``, ``avg``, ``min``, ``max``, ``FILTER (WHERE …)`` (a conditional count through
:func:`count_where`), ``CASE WHEN``,
``CAST``/``TRY_CAST`` to ``DOUBLE`` or ``STRING``, ``coalesce``, ``IN (…)``,
``date_trunc('minute', ts)``, ``GROUPING SETS`` with ``GROUPING_ID``; names through
:func:`column` and text through :func:`literal`. What the dialects spell differently is
the engine's (:meth:`Engine.quantile`, the hash of a sample, file sources, timestamps).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Mapping, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal, Protocol

from modelward.predlog.files import LogFile

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "RATINGS",
    "Aggregate",
    "Engine",
    "Order",
    "Scan",
    "column",
    "count_where",
    "grouping_sets",
    "literal",
]

#: The rating columns a scan with ``ratings`` joins beside ``label``.
RATINGS = ("satisfaction", "correct")

#: How :meth:`Engine.rows` orders (and, with a limit, picks) rows: ``ts`` oldest first,
#: ``latest`` the newest (returned oldest first), ``hash`` the requests with the smallest
#: hashes (a uniform sample that is the same on every run; returned oldest first), None
#: in any order.
Order = Literal["ts", "latest", "hash"] | None


def literal(text: str) -> str:
    """A string as a SQL literal (the standard quoting every engine here reads)."""
    return "'" + text.replace("'", "''") + "'"


def count_where(condition: str) -> str:
    """How many of the rows ``condition`` holds for: 0 over no rows in every engine, where
    DuckDB 2's ``count_if`` is NULL over no rows (a window with files but no row left)."""
    return f"count(*) FILTER (WHERE {condition})"


_PLAIN = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def column(name: str) -> str:
    """A column's name in an expression: bare when it is a plain identifier (every
    column of the layout, ``in_<feature>`` for features named so), else double-quoted."""
    return name if _PLAIN.fullmatch(name) else '"' + name.replace('"', '""') + '"'


def grouping_sets(keys: Sequence[str]) -> tuple[list[str], str]:
    """``(select, group_by)`` counting each value of every key expression in one pass: a
    grouping set per key (``k0, k1, …``, the count ``c`` and ``GROUPING_ID`` ``g``, which
    sets the bit of each key rolled up, the first key's the highest). The sets and
    ``GROUPING_ID`` repeat the expressions, not their aliases: Spark resolves no alias
    there."""
    select = [
        *(f"{key} AS k{i}" for i, key in enumerate(keys)),
        "count(*) AS c",
        "GROUPING_ID(" + ", ".join(keys) + ") AS g",
    ]
    return select, "GROUPING SETS (" + ", ".join(f"({key})" for key in keys) + ")"


@dataclass(frozen=True)
class Scan:
    """What an engine reads: the predictions of ``files`` in ``[start, end)``, narrowed."""

    model: str | None  # None: every model (the column ``model`` says which)
    files: tuple[LogFile, ...]
    #: the columns the files hold, with their Arrow types (``LogFiles.columns``)
    columns: Mapping[str, str] = field(default_factory=dict)
    start: datetime | None = None
    end: datetime | None = None
    environment: str | None = None
    version: int | None = None
    status: tuple[str, ...] | None = None  # only these statuses
    #: the feedback files: each row gets its latest label as ``label`` (None: no join)
    labels: tuple[LogFile, ...] | None = None
    labelled: bool = False  # only the rows that have a label
    #: with ``labels``: also each request's latest ``satisfaction`` and ``correct`` (an LLM
    #: answer's rating; null where none)
    ratings: bool = False
    #: only the requests that have a label in these feedback files: a semi-join, with no
    #: ``label`` column (cheaper than the join for counting labelled predictions)
    answered: tuple[LogFile, ...] | None = None
    rate: float = 1.0  # keep this share of the requests: a consistent hash sample
    requests: tuple[str, ...] | None = None  # only these request ids
    where: tuple[str, ...] = ()  # more conditions (the shared SQL above)
    #: a scan an engine materialised (:meth:`Engine.materialise`): its table, in place
    #: of the files, with every condition above but the narrowing ones applied already
    table: str | None = None

    @property
    def empty(self) -> bool:
        """No file to read: every aggregate is empty."""
        return not self.files

    def has(self, column: str) -> bool:
        joined = self.labels is not None and (
            column == "label" or (self.ratings and column in RATINGS)
        )
        return column in self.columns or joined

    def only(self, **changes: Any) -> Scan:
        """This scan narrowed further (``version=2``, ``status=("ok",)``, ``where=…``)."""
        if "where" in changes:
            changes["where"] = (*self.where, *changes["where"])
        return dataclasses.replace(self, **changes)


@dataclass(frozen=True)
class Aggregate:
    """One ``SELECT <select> FROM <scan> [GROUP BY <group_by>]``."""

    scan: Scan
    select: Sequence[str]
    group_by: str | None = None


class Engine(Protocol):
    """What the log's readers ask of an engine. Every method may raise
    :class:`~modelward.predlog.files.LogChanged` (a listed file was replaced meanwhile:
    list again), :class:`~modelward.errors.StorageError` (the log cannot be read) or
    :class:`~modelward.errors.DataError` (a file that does not follow the layout)."""

    def aggregate(
        self, scan: Scan, select: Sequence[str], *, group_by: str | None = None
    ) -> list[tuple[Any, ...]]:
        """The rows of ``SELECT <select> FROM <scan> [GROUP BY <group_by>]``; none when
        the scan has no files."""
        ...

    def aggregate_many(self, queries: Sequence[Aggregate]) -> list[list[tuple[Any, ...]]]:
        """Independent aggregates, in order (an engine may run them at the same time)."""
        ...

    def aggregate_columns(
        self, scan: Scan, select: Sequence[str], *, group_by: str | None = None
    ) -> dict[str, Any]:
        """:meth:`aggregate` as NumPy arrays named by each expression's ``AS``, for a
        grouping with many groups (counts per distinct score, say); empty for a scan
        without files."""
        ...

    def rows(
        self,
        scan: Scan,
        columns: Sequence[str],
        *,
        order: Order = None,
        limit: int | None = None,
    ) -> pa.Table:
        """``columns`` of the scan's rows (null where the files lack one): at most
        ``limit`` of them, or the scan's hash sample. Callers bound what they ask for."""
        ...

    def materialise(self, scan: Scan, columns: Sequence[str]) -> AbstractContextManager[Scan]:
        """The scan's ``columns`` (and ``label``) read and joined once, for a check that
        asks several questions of the same rows: a scan of them, valid inside the
        ``with`` block."""
        ...

    def quantile(self, expression: str, q: float) -> str:
        """The aggregate expression of the continuous (linearly interpolated) quantile
        ``q`` of ``expression``, as NumPy's default percentile computes it."""
        ...

    def micros(self, expression: str) -> str:
        """The expression of a timestamp ``expression`` as microseconds since the epoch
        (an integer: what a caller buckets by period without fetching timestamps)."""
        ...

    def warm(self) -> None:
        """Get ready for a first query soon (connect in the background); may do nothing."""
        ...

    def close(self) -> None: ...
