"""Where the log's rows are: the one listing of its Parquet files.

``LogFiles(url)`` lists ``<kind>/model=<m>/date=<d>/*.parquet`` (a local folder or any
fsspec URL) partition by partition, so a window reads only its own dates: a daily check
lists one or two date folders, never a year of files. It leaves out temporary names
(``.x.tmp``, ``_x``) and the files a compacted file replaced (:func:`live_files`): a
listing made after an interrupted compaction, or while one deletes what it replaced,
holds each row once. Parquet footers (schemas, row groups) are read here too, and cached:
a log file never changes once it is renamed into place.
"""

from __future__ import annotations

import functools
import json
import os
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any, TypeVar

from modelward.errors import ConfigError, DataError, first_line
from modelward.predlog.layout import COMPACTED_KEY, PREDICTIONS, REQUEST_COLUMNS
from modelward.storage import backend_errors, failure, filesystem, local_root
from modelward.timeutil import from_micros

if TYPE_CHECKING:
    from collections.abc import Callable, Sequence

    import pyarrow as pa

__all__ = [
    "RELISTINGS",
    "LogChanged",
    "LogFile",
    "LogFiles",
    "Partition",
    "is_numeric",
    "live_files",
    "relisted",
    "replaced_by_compaction",
    "replaced_within",
]

T = TypeVar("T")

#: Footers kept in memory per listing (a footer is a few kilobytes).
_FOOTERS = 100_000
#: Lists of files whose columns, schemas and spans are kept.
_KNOWN = 32


class LogChanged(DataError):
    """A file listed for a read was gone when it was opened: a compaction replaced it in
    between. Listing again finds the compacted file (the same rows): :func:`relisted`."""


#: How many times a read whose listed file was replaced meanwhile is made again.
RELISTINGS = 4


def relisted(read: Callable[[], T]) -> T:
    """``read()`` (which lists the log's files and reads them), made again on a new
    listing while a compaction replaces one of its files in between, up to
    :data:`RELISTINGS` more times: the compacted file holds the same rows."""
    for _ in range(RELISTINGS):
        try:
            return read()
        except LogChanged:
            continue
    return read()


@dataclass(frozen=True)
class Partition:
    """One folder ``<kind>/model=<model>/date=<date>`` of the log."""

    kind: str
    model: str
    date: date
    folder: str  # as the filesystem names it


@dataclass(frozen=True)
class LogFile:
    """One Parquet file of the log: ``path`` as an engine opens it (with the URL's
    protocol for a remote log), and the partition it belongs to."""

    path: str
    model: str
    date: str


class LogFiles:
    """The log at ``url`` (``ws.logs_url``): its models, partitions, files and footers."""

    def __init__(self, url: str) -> None:
        scheme, sep, rest = str(url).partition("://")  # "s3://" stays a URL, without a bucket
        self.url = f"{scheme}{sep}{rest.rstrip('/')}" if sep else str(url).rstrip("/")
        root = local_root(self.url)
        if root is None:  # remote: its filesystem now (the URL checked, credentials masked)
            self.__dict__["fs"], root = filesystem(self.url, "MODELWARD_LOGS")
        self.root = str(root).rstrip("/")
        self.protocol = self.url.split("://", 1)[0] if "://" in self.url else "file"
        self.remote = self.protocol != "file"
        self._footers: dict[str, _Footer] = {}
        # what a list of files' footers give, per list: a check scans the same few hundred
        # files of a day a dozen times (their footers never change)
        self._known: dict[tuple[Any, ...], Any] = {}

    @functools.cached_property
    def fs(self) -> Any:
        """fsspec's filesystem of the log (for a local folder made when first asked: the
        listing and the footers of a local log use the standard library, and a check
        starts without importing fsspec, ~0.08 s)."""
        return filesystem(self.url, "MODELWARD_LOGS")[0]

    # -- listing --------------------------------------------------------------------------

    def models(self, kind: str = PREDICTIONS) -> list[str]:
        """The models that have a folder of ``kind`` in the log."""
        found = self._children(f"{self.root}/{kind}", "model=")
        return [path.rsplit("/", 1)[-1].removeprefix("model=") for path in found]

    def partitions(
        self,
        kind: str,
        model: str | None = None,
        *,
        first: date | None = None,
        last: date | None = None,
    ) -> list[Partition]:
        """The date partitions of ``kind`` for ``model`` (every model when None) from
        ``first`` to ``last`` (inclusive; open-ended when None): one listing per model."""
        if model is not None and ("/" in model or model.strip(".") == ""):
            raise ConfigError(f"{model!r} is not a model name", field="model")
        out = []
        for name in [model] if model is not None else self.models(kind):
            for folder in self._children(f"{self.root}/{kind}/model={name}", "date="):
                day = _day(folder.rsplit("=", 1)[1])
                if day is not None and not (first and day < first) and not (last and day > last):
                    out.append(Partition(kind, name, day, folder))
        return out

    def has_files(self, kind: str, model: str) -> bool:
        """Whether any partition of ``model`` holds a file (newest first: one listing)."""
        return any(self.names(p) for p in reversed(self.partitions(kind, model)))

    def names(self, partition: Partition) -> list[str]:
        """Every Parquet file of a partition, as the filesystem names it (the files a
        compaction replaced too)."""
        return self._children(partition.folder, "", suffix=".parquet")

    def files(
        self,
        kind: str,
        model: str | None = None,
        *,
        first: date | None = None,
        last: date | None = None,
    ) -> list[LogFile]:
        """The live files of :meth:`partitions`: each row once."""
        found: dict[str, Partition] = {}
        for partition in self.partitions(kind, model, first=first, last=last):
            found.update(dict.fromkeys(self.names(partition), partition))
        live = live_files(self.fs if self.remote else None, sorted(found))
        return [LogFile(self.full(p), found[p].model, found[p].date.isoformat()) for p in live]

    def _children(self, folder: str, prefix: str, *, suffix: str = "") -> list[str]:
        """Paths of ``folder``'s entries whose names start with ``prefix`` and end with
        ``suffix`` (none of the writers' temporary names), sorted."""
        try:
            if self.remote:
                self.fs.invalidate_cache(folder)  # a long-lived reader lists afresh
                entries = self.fs.ls(folder, detail=False)
            else:
                entries = [f"{folder}/{name}" for name in os.listdir(folder)]
        except (FileNotFoundError, NotADirectoryError):
            return []
        except backend_errors() as exc:
            raise failure(exc, f"the prediction log at {self.url}") from exc
        out = []
        for entry in entries:
            path = str(entry).rstrip("/")
            name = path.rsplit("/", 1)[-1]
            if name.startswith(prefix) and name.endswith(suffix) and name[:1] not in "._":
                out.append(path)
        return sorted(out)

    def full(self, path: str) -> str:
        """A listed path as an engine opens it."""
        return f"{self.protocol}://{path}" if self.remote else path

    def local(self, path: str) -> str:
        """A full path as the filesystem names it."""
        return path.split("://", 1)[-1] if self.remote else path

    # -- footers --------------------------------------------------------------------------

    def schema(self, path: str) -> pa.Schema:
        """The Arrow schema of one log file (its footer is read once)."""
        return self._footer(path)[0]

    def same_schema(self, paths: Sequence[str]) -> bool:
        """Whether every one of ``paths`` has the same columns, in the same order, of the
        same types (their footers are read once)."""

        def same() -> bool:
            first = self.schema(paths[0]) if paths else None
            return all(self.schema(p).equals(first) for p in paths[1:])

        return bool(self._remembered(("same", *paths), same))

    def complete(self, files: Sequence[LogFile], columns: Sequence[str]) -> bool:
        """Whether every row of ``files`` has a value in each of ``columns`` (request
        columns: :data:`~.layout.REQUEST_COLUMNS`), as their footers' statistics say."""
        return all(set(columns) <= self._footer(f.path)[3] for f in files)

    def within(self, files: Sequence[LogFile], start: datetime, end: datetime) -> list[LogFile]:
        """The ``files`` that may hold a row with ``start <= ts < end`` (:meth:`spans`)."""
        key = ("within", start, end, *(f.path for f in files))
        return list(
            self._remembered(key, lambda: [f for f in files if self.spans(f.path, start, end)])
        )

    def _remembered(self, key: tuple[Any, ...], compute: Any) -> Any:
        if key not in self._known:
            if len(self._known) >= _KNOWN:
                self._known.clear()
            self._known[key] = compute()
        return self._known[key]

    def row_groups(self, path: str) -> int:
        """The Parquet row groups of one log file (its footer is read once)."""
        return self._footer(path)[1]

    def spans(self, path: str, start: datetime | None, end: datetime | None) -> bool:
        """Whether the file may hold a row with ``start <= ts < end``: False only when its
        footer's statistics put every ``ts`` outside (then no engine need open it)."""
        low, high = self._footer(path)[2]
        if low is None or high is None:
            return True  # no statistics: it may
        return (end is None or low < end) and (start is None or high >= start)

    def _footer(self, path: str) -> _Footer:
        if path not in self._footers:
            if len(self._footers) >= _FOOTERS:
                self._footers.clear()
            self._footers[path] = self._read_footer(path)
        return self._footers[path]

    def _open(self, path: str) -> Any:
        """One log file, open for reading; a path without a protocol is a local file (a
        local log, or a reader's own file in a remote one)."""
        opened = self.fs.open if self.remote and "://" in path else open
        return opened(self.local(path), "rb")

    def _read_footer(self, path: str) -> _Footer:
        import pyarrow as pa
        import pyarrow.parquet as pq

        try:
            with self._open(path) as handle:
                footer = pq.ParquetFile(handle)  # reads the footer only
                meta = footer.metadata
                schema = footer.schema_arrow
                complete = _complete(meta, schema, REQUEST_COLUMNS)
                return schema, meta.num_row_groups, _ts_range(meta, schema), complete
        except FileNotFoundError as exc:
            raise LogChanged(
                f"a file of the prediction log at {self.url} was replaced while it was read "
                f"({path}); run the check again"
            ) from exc
        except pa.ArrowException as exc:
            why = first_line(exc)
            raise DataError(
                f"{path} in the prediction log is not a readable Parquet file ({why}); move "
                "it out of the log (docs/monitor.md describes the layout)"
            ) from exc
        except backend_errors() as exc:
            raise failure(exc, f"the prediction log file {path}") from exc

    def torn(self) -> str | None:
        """The first file whose footer was read and whose rows cannot be (torn inside: a
        bad disk, a copy cut short), or None. It reads those files whole, so it is for
        naming the file after a read failed, not for every read."""
        import pyarrow as pa
        import pyarrow.parquet as pq

        for path in list(self._footers):
            try:
                with self._open(path) as handle:
                    pq.ParquetFile(handle).read()
            except (pa.ArrowException, OSError):
                return path
        return None

    def columns(self, files: list[LogFile]) -> dict[str, str]:
        """Every column of ``files`` read as one table (by name) and its Arrow type: the
        type of the files that have it, ``double`` where numbers of several types meet,
        ``string`` where numbers and text do; ``model`` and ``date`` from the paths."""

        def unified() -> dict[str, str]:
            found: dict[str, set[str]] = {}
            for log_file in files:
                for column in self.schema(log_file.path):
                    found.setdefault(column.name, set()).add(str(column.type))
            out = {name: _unified(types) for name, types in found.items()}
            if files:
                out.update(model="string", date="string")
            return out

        return dict(self._remembered(("columns", *(f.path for f in files)), unified))


#: A file's Arrow schema, its row groups, the least and greatest ``ts`` its statistics
#: give (None when a row group has none), and its request columns without a null.
_Footer = tuple["pa.Schema", int, tuple[datetime | None, datetime | None], frozenset[str]]
_UNIT_US = {"s": 1_000_000, "ms": 1_000, "us": 1, "ns": 1}


def _ts_range(meta: Any, schema: pa.Schema) -> tuple[datetime | None, datetime | None]:
    """The least and greatest ``ts`` of a file from its row groups' statistics (the raw
    integers: pyarrow's own conversion of them loads pandas)."""
    index = schema.get_field_index("ts")
    unit = getattr(schema.field(index).type, "unit", None) if index >= 0 else None
    if unit not in _UNIT_US or meta.num_row_groups == 0:
        return None, None
    lows, highs = [], []
    for group in range(meta.num_row_groups):
        column = meta.row_group(group).column(index)
        stats = column.statistics
        if column.path_in_schema != "ts" or stats is None or not stats.has_min_max:
            return None, None
        lows.append(int(stats.min_raw))
        highs.append(int(stats.max_raw))
    low, high = min(lows), max(highs)
    if unit == "ns":  # widened to whole microseconds
        low, high = low // 1000, -(-high // 1000)
    else:
        low, high = low * _UNIT_US[unit], high * _UNIT_US[unit]
    return from_micros(low), from_micros(high)


def _complete(meta: Any, schema: pa.Schema, names: Sequence[str]) -> frozenset[str]:
    """Those of the columns ``names`` that a file has with a value in every row, as its
    row groups' statistics count their nulls (no statistics: it may have nulls)."""

    def complete(name: str) -> bool:
        index = schema.get_field_index(name)
        if index < 0:
            return False
        for group in range(meta.num_row_groups):
            column = meta.row_group(group).column(index)
            stats = column.statistics
            if column.path_in_schema != name or stats is None or not stats.has_null_count:
                return False
            if stats.null_count:
                return False
        return True

    return frozenset(name for name in names if complete(name))


def _unified(types: set[str]) -> str:
    known = types - {"null"}
    if len(known) <= 1:
        return next(iter(known), "null")
    if all(is_numeric(t) for t in known):
        return "double"
    return "string"


#: Arrow type names of numbers.
_NUMERIC = ("double", "float", "int", "uint", "decimal", "halffloat")


def is_numeric(arrow_type: str) -> bool:
    return arrow_type.startswith(_NUMERIC)


def _day(text: str) -> date | None:
    try:
        return date.fromisoformat(text)
    except ValueError:
        return None  # not a partition of ours


# -- compaction's marks --------------------------------------------------------------------


def live_files(fs: Any, paths: list[str]) -> list[str]:
    """``paths`` (log files, as ``fs`` names them; None: local paths) without those that
    a compacted file of the same partition replaced: a reader that lists a partition after
    an interrupted compaction, or while a compaction is deleting the files it replaced,
    sees each row once."""
    replaced: set[str] = set()
    for path in paths:
        folder, name = path.rsplit("/", 1)
        if name.startswith("compacted-"):
            replaced.update(f"{folder}/{n}" for n in compacted_from(fs, path))
    return [p for p in paths if p not in replaced]


def replaced_within(fs: Any, folder: str, names: list[str]) -> set[str]:
    """The names of the files of ``folder`` (as ``fs`` names it; None: a local folder)
    that the compacted files among ``names`` replaced, and those that these replaced in
    turn (a merge of merged files)."""
    out: set[str] = set()
    todo = [n for n in names if n.startswith("compacted-")]
    while todo:
        for replaced in compacted_from(fs, f"{folder}/{todo.pop()}"):
            if replaced not in out:
                out.add(replaced)
                if replaced.startswith("compacted-"):
                    todo.append(replaced)
    return out


def replaced_by_compaction(fs: Any, path: str) -> bool:
    """Whether a compacted file of ``path``'s partition replaced the file ``path`` names."""
    folder, name = path.rsplit("/", 1)
    return any(name in compacted_from(fs, str(c)) for c in fs.glob(f"{folder}/compacted-*.parquet"))


@functools.lru_cache(maxsize=4096)
def compacted_from(fs: Any, path: str) -> tuple[str, ...]:
    """The names a compacted file replaced, from its Parquet metadata (cached: the file
    never changes); ``fs`` None: a local path."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        meta = pq.read_metadata(path, filesystem=fs).metadata or {}  # no Arrow schema made
    except (FileNotFoundError, pa.ArrowException):
        return ()  # gone (retention) or unreadable: the read itself will say so
    except backend_errors() as exc:  # storage failed: raised, so nothing wrong is cached
        raise failure(exc, f"the prediction log file {path}") from exc
    return tuple(json.loads(meta.get(COMPACTED_KEY, b"[]")))
