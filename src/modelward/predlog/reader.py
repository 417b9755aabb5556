"""The one reader of the prediction log: what monitoring, rollout judging, the server's
feedback lookups, the gateway's alerts and the runbooks ask of it.

``LogReader(url)`` turns a window of a model's log into a :class:`~.engine.Scan` (its
files listed once through :class:`~.files.LogFiles`: live files of the window's date
partitions only, the day before its start included, less the prediction files whose
footer's ``ts`` statistics lie outside the window: a day's first hours, or a window that
ends at midnight, open none of the files they cannot hold), and has an engine (DuckDB unless
told otherwise) answer questions about it: aggregates, bounded rows, a consistent hash
sample of about so many requests, a window's census of ``(version, status)`` counts.
Labels are joined per request id, the latest feedback row winning; feedback is read
from the window's first date on (a label never comes before its prediction). Given the
writers' write-ahead folder (``wal``), a scan also holds the rows not yet published
(:mod:`.unpublished`), each row once: checks see rows within a second of being served.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modelward.errors import DataError
from modelward.predlog.buffers import floats
from modelward.predlog.engine import Aggregate, Engine, Order, Scan
from modelward.predlog.engines.duckdb import DuckDBEngine
from modelward.predlog.files import LogFile, LogFiles, is_numeric
from modelward.predlog.layout import FEEDBACK, PREDICTIONS
from modelward.predlog.unpublished import Unpublished

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = ["LogReader", "Span", "TimeRange", "arrays", "frame"]


class TimeRange(Protocol):
    """A time range ``[start, end)``: a :class:`Span`, a monitoring ``Window``."""

    @property
    def start(self) -> datetime: ...

    @property
    def end(self) -> datetime: ...


@dataclass(frozen=True)
class Span:
    """The time range ``[start, end)`` (timezone-aware)."""

    start: datetime
    end: datetime


class LogReader:
    """The prediction log at ``url`` (``ws.logs_url``: a folder or any fsspec URL)."""

    def __init__(
        self,
        url: str,
        *,
        wal: str | Path | None = None,
        engine: Callable[[LogFiles], Engine] = DuckDBEngine,
    ) -> None:
        """``wal``: the write-ahead folder of the log's writers (``ws.layout.wal``), whose
        rows not yet published are read too (:mod:`.unpublished`); None: Parquet only."""
        self.files = LogFiles(url)
        self.unpublished = Unpublished(wal) if wal is not None else None
        self.engine = engine(self.files)
        self._kept: dict[str, Scan] | None = None  # within :meth:`sharing`: held scans
        self._keeping = ExitStack()

    @property
    def url(self) -> str:
        return self.files.url

    def models(self) -> list[str]:
        found = self.files.models()
        if self.unpublished is not None:
            names = self.unpublished.segments()
            found = sorted({*found, *self.unpublished.models(names, PREDICTIONS)})
        return found

    def require(self, model: str) -> None:
        """A one-line error when the log has nothing at all for ``model``."""
        if not self.files.has_files(PREDICTIONS, model) and model not in self._fresh_models():
            known = ", ".join(self.models()) or "none"
            raise DataError(
                f"the prediction log at {self.url} has no predictions for model {model!r} "
                f"(models in the log: {known}); serve the model first or point "
                "MODELWARD_LOGS at the right log",
                field="model",
            )

    # -- scans ----------------------------------------------------------------------------

    def scan(
        self,
        model: str | None,
        window: TimeRange | None = None,
        *,
        labels: bool = False,
        **narrowing: Any,
    ) -> Scan:
        """The predictions of ``model`` (every model when None) in ``window`` (all time
        when None), with each request's latest ``label`` when ``labels``; ``narrowing``
        sets the other fields of :class:`Scan` (``environment``, ``version``, ``status``,
        ``labelled``, ``ratings``, ``rate``, ``requests``, ``where``)."""
        first = (window.start - timedelta(days=1)).date() if window else None
        last = window.end.date() if window else None
        segments = self.unpublished.segments() if self.unpublished is not None else []
        listed = self._listed(segments, PREDICTIONS, model, first, last)
        if window is not None:  # the partitions' files whose ts statistics reach the window
            listed = self.files.within(listed, window.start, window.end)
        files = tuple(listed)
        joined = labels or narrowing.get("labelled", False) or narrowing.get("ratings", False)
        feedback = tuple(self._listed(segments, FEEDBACK, model, first, None)) if joined else None
        return Scan(
            model=model,
            files=files,
            columns=self.files.columns(list(files)),
            start=window.start if window else None,
            end=window.end if window else None,
            labels=feedback,
            **narrowing,
        )

    def _listed(
        self,
        segments: list[str],
        kind: str,
        model: str | None,
        first: date | None,
        last: date | None,
    ) -> list[LogFile]:
        """The live files of ``kind`` from ``first`` to ``last``, and the rows of the
        write-ahead ``segments`` (listed before them) that they do not hold yet."""
        files = self.files.files(kind, model, first=first, last=last)
        if self.unpublished is None or not segments:
            return files
        fresh = self.unpublished.files(
            segments, self.files, files, kind, model, first=first, last=last
        )
        return files + fresh

    def _fresh_models(self) -> set[str]:
        if self.unpublished is None:
            return set()
        return self.unpublished.models(self.unpublished.segments(), PREDICTIONS)

    def census(self, scan: Scan) -> dict[tuple[int | None, str | None], int]:
        """``(version, status) -> predictions`` of the scan's window and environment (read
        from its files), every version and status: one grouped pass that the checks'
        counts share (all rows, served per version, the busiest version; the engine caches
        it)."""
        whole = replace(
            scan, version=None, status=None, labels=None, labelled=False, rate=1.0,
            requests=None, where=(), table=None, answered=None,
        )  # fmt: skip
        found = self.engine.aggregate(
            whole, ["version", "status", "count(*)"], group_by="version, status"
        )
        return {(None if v is None else int(v), status): int(n) for v, status, n in found}

    def count(self, scan: Scan) -> int:
        """Predictions in the scan's window and environment, every version and status."""
        return sum(self.census(scan).values())

    def rate(self, scan: Scan, rows: int) -> float:
        """The share of requests to keep for about ``rows`` of the window (1.0: all)."""
        total = self.count(scan)
        return 1.0 if total <= rows else rows / total

    # -- questions ------------------------------------------------------------------------

    def aggregate(
        self, scan: Scan, select: Sequence[str], *, group_by: str | None = None
    ) -> list[tuple[Any, ...]]:
        return self.engine.aggregate(scan, select, group_by=group_by)

    def aggregate_columns(
        self, scan: Scan, select: Sequence[str], *, group_by: str | None = None
    ) -> dict[str, Any]:
        return self.engine.aggregate_columns(scan, select, group_by=group_by)

    def aggregate_many(self, queries: Sequence[Aggregate]) -> list[list[tuple[Any, ...]]]:
        return self.engine.aggregate_many(queries)

    def rows(
        self, scan: Scan, columns: Sequence[str], *, order: Order = "ts", limit: int | None
    ) -> pa.Table:
        """At most ``limit`` rows of the scan (``order`` picks which; None: every row)."""
        return self.engine.rows(scan, columns, order=order, limit=limit)

    def sample(
        self, scan: Scan, columns: Sequence[str], *, rows: int, order: Order = None
    ) -> pa.Table:
        """The scan's rows of a consistent hash sample of about ``rows`` of the window's
        requests (the same requests in every check and every run); all when no more."""
        return self.engine.rows(scan.only(rate=self.rate(scan, rows)), columns, order=order)

    @contextmanager
    def materialise(self, scan: Scan, columns: Sequence[str]) -> Iterator[Scan]:
        """The scan read once into the engine (:meth:`Engine.materialise`); within
        :meth:`sharing`, kept for the next caller that asks for the same scan."""
        if self._kept is None:
            with self.engine.materialise(scan, columns) as held:
                yield held
            return
        key = repr((scan, list(columns)))
        if key not in self._kept:
            self._kept[key] = self._keeping.enter_context(self.engine.materialise(scan, columns))
        yield self._kept[key]

    @contextmanager
    def sharing(self) -> Iterator[None]:
        """Several checks of one run read the same window once: a scan materialised
        within is kept until the end (a runbook's metrics check and its report's series
        ask for the same sample of labelled requests), a snapshot the run's items share.
        Outside, each materialised scan is dropped when its caller is done."""
        if self._kept is not None:  # nested: the outer run's scope
            yield
            return
        self._kept = {}
        try:
            with self._keeping:
                yield
        finally:
            self._kept = None

    def quantile(self, expression: str, q: float) -> str:
        return self.engine.quantile(expression, q)

    def micros(self, expression: str) -> str:
        return self.engine.micros(expression)

    def file_types(self, scan: Scan) -> dict[str, dict[str, str]]:
        """The Arrow type of every column, per file of the scan."""
        return {
            f.path: {c.name: str(c.type) for c in self.files.schema(f.path)} for f in scan.files
        }

    def warm(self) -> None:
        self.engine.warm()

    def close(self) -> None:
        self.engine.close()
        if self.unpublished is not None:
            self.unpublished.close()


#: Arrow's fixed-width numbers (as ``str(type)`` names them) and the NumPy type of their
#: buffers.
_BUFFERS = {
    "double": "float64",
    "float": "float32",
    "halffloat": "float16",
    **{f"{sign}int{bits}": f"{sign}int{bits}" for sign in ("", "u") for bits in (8, 16, 32, 64)},
}


def arrays(table: pa.Table) -> dict[str, Any]:
    """A table's columns as NumPy arrays: numbers as float64 (NaN where missing), text as
    object arrays (None where missing); no pandas in between (pyarrow's own conversions
    load pandas, a tenth of a drift check on a small log, so numbers are read from their
    buffers)."""
    import numpy as np

    out: dict[str, Any] = {}
    for name in table.column_names:
        column = table.column(name)
        kind = str(column.type)
        if kind in _BUFFERS:
            out[name] = _floats(column, np.dtype(_BUFFERS[kind]))
        elif column.type.num_fields == 0 and is_numeric(kind):  # decimals
            out[name] = np.asarray(column.cast("double").fill_null(float("nan")))
        else:
            out[name] = np.asarray(column.to_pylist(), dtype=object)
    return out


def _floats(column: pa.ChunkedArray, dtype: Any) -> Any:
    """A fixed-width numeric column as float64, NaN where missing, from its buffers."""
    import numpy as np

    parts = [np.empty(0, dtype="float64")]
    parts += [floats(chunk, dtype) for chunk in column.chunks if len(chunk)]
    return np.concatenate(parts)


def frame(table: pa.Table) -> pd.DataFrame:
    """A table as pandas: integers that may be missing as nullable ``Int64``."""
    import pandas as pd
    import pyarrow as pa

    def mapped(arrow_type: pa.DataType) -> Any:
        return pd.Int64Dtype() if pa.types.is_integer(arrow_type) else None

    return table.to_pandas(types_mapper=mapped)
