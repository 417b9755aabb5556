"""Compaction: a closed day's many small log files become one file.

The writer publishes a file per segment of ``flush_rows`` rows or ``flush_ms`` age (100,000
rows or ten minutes by default), so a day is a few hundred files per server process (a
log written before that, or with a short ``flush_ms``, tens of thousands), and one file
still reads faster than many (DuckDB opens every file). :func:`compact` rewrites each
partition ``<kind>/model=<m>/date=<d>`` of a *closed* day (before today, UTC) that holds
more than one file as one ``compacted-<id>.parquet`` (their rows in file order, row
groups of :data:`ROW_GROUP_ROWS`, the log's compression; one input file in memory at a
time), then deletes the files it replaced. Files whose columns differ (a new feature, an
int that became a float) are unified as DuckDB's ``union_by_name`` reads them.

A request logged twice (a replica killed after logging a request and before answering it,
whose request the load balancer then sent to another replica; the killed one's restart
replays its row too) is kept once in the compacted predictions: the first row of its
request id, in file order. Labels are never merged (a later label is a correction).

While the day is written, the server keeps it to a few files itself: after each file it
publishes into a local log it merges its own files of that partition by tiers
(:func:`merge_own`). A merge and a compaction of a local partition hold its lock
(:data:`LOCK_NAME`), so they never replace the same file. The files a merge replaced stay
for :data:`MERGE_KEEP_S` (listings leave them out), so a check that listed them a moment
before reads what it listed.

Safe to interrupt and to run while checks read the log: the new file is written under a
temporary name and renamed into place, and it names the files it replaces in its Parquet
metadata. Readers skip the files a compacted file names (:func:`live_files`), so a run
that stopped before deleting them (the next run does) shows each row once, and a check
whose listing a compaction overtook (a listed file gone when DuckDB opens it) lists again
and reads the compacted file (``LogChanged`` in :mod:`modelward.predlog.files`).
"""

from __future__ import annotations

import itertools
import json
import os
import re
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from modelward.errors import ConfigError, StorageError, first_line
from modelward.predlog.derive import with_request_columns
from modelward.predlog.files import LogFiles, Partition, live_files, replaced_within
from modelward.predlog.layout import (
    COMPACTED_KEY,
    FEEDBACK,
    PREDICTIONS,
    REQUEST_COLUMNS,
    SAMPLE_HASH,
    parquet_options,
)
from modelward.redact import redact
from modelward.storage import backend_errors, failure

__all__ = ["LOCK_NAME", "MERGE_FANOUT", "ROW_GROUP_ROWS", "Compaction", "compact", "merge_own"]

#: Rows per row group of a compacted file (DuckDB's own default).
ROW_GROUP_ROWS = 122_880


@dataclass(frozen=True)
class Compaction:
    kind: str
    model: str
    date: str
    files: int  # files replaced (or that would be, in a dry run)
    rows: int  # rows written (read, in a dry run)
    output: str | None  # the new file's name; None in a dry run
    duplicates: int | None = None  # prediction rows of a request id seen before; dry run: None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def compact(
    logs_url: str,
    *,
    model: str | None = None,
    before: date | None = None,
    since: date | None = None,
    dry_run: bool = False,
) -> list[Compaction]:
    """Compact every closed day (``since <= date < before``; ``before`` default today UTC,
    ``since`` default the log's first day) of the log. Only the partitions of those days are
    listed: a daily run given ``since`` never walks the whole history (in object storage, a
    listing per day of it)."""
    today = datetime.now(UTC).date()
    before = before or today
    if before > today:
        raise ConfigError(
            f"--before {before} is in the future; only closed days (before {today}) can be "
            "compacted, while the server may still write today's files",
            field="before",
        )
    log = LogFiles(logs_url)
    closed = [
        partition
        for kind in (FEEDBACK, PREDICTIONS)
        for partition in log.partitions(kind, model, first=since, last=before - timedelta(days=1))
    ]
    done = []
    for partition in closed:
        result = _compact_partition(log, partition, dry_run)
        if result is not None:
            done.append(result)
    return done


# -- the writer's rolling merge ---------------------------------------------------------------

#: Files of one tier a writer merges into one file of the next: its partition of a day
#: then holds fewer than ``MERGE_FANOUT`` files per tier (141 ten-minute segments a day:
#: ~8 files, each row rewritten ~2 times).
MERGE_FANOUT = 8
#: A merge writes at most this many rows (files this large gain nothing from merging).
MERGE_MAX_ROWS = 1_000_000
#: Seconds the files a rolling merge replaced stay in the partition (every listing leaves
#: them out): a check that listed them a moment before reads them as listed, instead of
#: finding one gone and listing again; a later publishing's merge deletes them.
MERGE_KEEP_S = 120.0
#: The lock file of a local partition, held while its files are merged or compacted.
LOCK_NAME = ".modelward-compaction.lock"

_MERGED = re.compile(r"compacted-(?P<writer>.+)\.t(?P<tier>[0-9]{1,3})\.[0-9a-f]{8}\.parquet")


def merge_own(folder: Path, writer: str) -> list[str]:
    """Merge the files writer ``writer`` published in the local partition ``folder``, by
    tiers: its segments' files are tier 0, and ``MERGE_FANOUT`` files of a tier become one
    file of the next (``compacted-<writer>.t<tier>.<id>.parquet``, which names them as a
    compaction's file does). A reader during the day then opens a few files per writer,
    not one per published segment. Only ``writer``'s own files, so replicas never merge the
    same file; under the partition's lock, so never beside a compaction (a busy lock:
    nothing merged now, the next publishing tries again). Rows are copied as they are (Arrow
    only, no Python per row: a server that publishes in its own process merges there): a
    request two replicas both logged is in two writers' files, and `logs compact` keeps it
    once. The new files' names."""
    import fsspec

    fs = fsspec.filesystem("file")
    made: list[str] = []
    with _partition_lock(folder, wait=False) as held:
        if not held:
            return made
        names = sorted(p.name for p in folder.glob("*.parquet") if not p.name.startswith("."))
        names = _finish_interrupted(fs, str(folder), names, delete=True, kept_s=MERGE_KEEP_S)
        for tier in itertools.count():
            group = _mergeable([n for n in names if _tier(n, writer) == tier], folder)
            if len(group) < MERGE_FANOUT:
                break
            output = f"compacted-{writer}.t{tier + 1}.{uuid.uuid4().hex[:8]}.parquet"
            _rewrite(fs, str(folder), group, output, dedupe=False, keep=True)
            names = [n for n in names if n not in group] + [output]
            made.append(output)
    return made


def _tier(name: str, writer: str) -> int | None:
    """The tier of a file of ``writer`` (0: a segment's file), None for another's."""
    merged = _MERGED.fullmatch(name)
    if merged is not None:
        return int(merged["tier"]) if merged["writer"] == writer else None
    owner, _, seq = name.removesuffix(".parquet").rpartition("-")
    return 0 if owner == writer and seq.isdigit() else None


def _mergeable(names: list[str], folder: Path) -> list[str]:
    """The first of ``names`` whose rows together stay within ``MERGE_MAX_ROWS`` (a file
    whose footer cannot be read is left where it is: readers report it)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    out, rows = [], 0
    for name in names:
        try:
            rows += pq.read_metadata(folder / name).num_rows
        except (OSError, pa.ArrowException):
            continue
        if rows > MERGE_MAX_ROWS:
            break
        out.append(name)
    return out


@contextmanager
def _partition_lock(folder: Path | None, *, wait: bool) -> Iterator[bool]:
    """The partition's lock (``flock`` on :data:`LOCK_NAME`): True when held; False when
    another process holds it and ``wait`` is False. ``folder`` None (object storage, where
    the server never merges): nothing to hold."""
    if folder is None:
        yield True
        return
    import fcntl

    flags = os.O_RDWR | os.O_CREAT | os.O_CLOEXEC | os.O_NOFOLLOW
    try:
        fd = os.open(folder / LOCK_NAME, flags, 0o644)
    except FileNotFoundError:  # the partition is gone (retention)
        yield False
        return
    except OSError as exc:  # a read-only folder, or a link put in the lock's place
        raise StorageError(
            f"cannot lock the log partition {folder} ({exc}); make {folder / LOCK_NAME} a "
            "plain file the server's user can write, or remove it"
        ) from exc
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            yield False
            return
        yield True
    finally:
        os.close(fd)


def _compact_partition(log: LogFiles, partition: Partition, dry_run: bool) -> Compaction | None:
    import pyarrow.parquet as pq

    fs, folder = log.fs, partition.folder
    kind, model, day = partition.kind, partition.model, partition.date.isoformat()
    with _partition_lock(None if log.remote else Path(folder), wait=True):
        try:
            names = [path.rsplit("/", 1)[-1] for path in log.names(partition)]
            names = _finish_interrupted(fs, folder, names, delete=not dry_run)
        except backend_errors() as exc:
            raise failure(exc, f"the log partition {folder}") from exc
        if len(names) < 2:
            return None
        if dry_run:
            _unified_schema(fs, folder, names)
            rows = sum(pq.read_metadata(f"{folder}/{n}", filesystem=fs).num_rows for n in names)
            return Compaction(kind, model, day, len(names), rows, None)
        output = f"compacted-{uuid.uuid4().hex[:12]}.parquet"
        rows, written = _rewrite(fs, folder, names, output, dedupe=kind == PREDICTIONS)
    duplicates = rows - written if kind == PREDICTIONS else 0
    return Compaction(kind, model, day, len(names), written, output, duplicates)


def _unified_schema(fs: Any, folder: str, names: list[str]) -> Any:
    """The schema of the files ``names`` of ``folder`` read as one (DuckDB's
    ``union_by_name``: a new column, an int that became a float)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        schemas = [pq.read_schema(f"{folder}/{n}", filesystem=fs) for n in names]
    except pa.ArrowException as exc:
        raise StorageError(f"cannot read the log partition {folder}: {exc}") from exc
    except backend_errors() as exc:
        raise failure(exc, f"the log partition {folder}") from exc
    try:
        return pa.unify_schemas(schemas, promote_options="permissive")
    except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
        raise StorageError(
            f"the files of {folder} disagree on a column's type ({exc}); leave them as they "
            "are (readers cope) or move the odd file out of the partition"
        ) from exc


def _read(fs: Any, folder: str, name: str) -> Any:
    """The rows of the file ``name`` of ``folder``; one that cannot be read is named."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    try:
        return pq.read_table(f"{folder}/{name}", filesystem=fs)
    except (pa.ArrowException, *backend_errors()) as exc:
        raise StorageError(
            f"cannot read the log file {folder}/{name} ({redact(first_line(exc))}); if the store "
            "answers, the file is torn: move it out of the partition, then run it again"
        ) from exc


def _rewrite(
    fs: Any, folder: str, names: list[str], output: str, *, dedupe: bool, keep: bool = False
) -> tuple[int, int]:
    """The files ``names`` of ``folder`` rewritten as one file ``output`` that names them
    in its metadata, then deleted (``keep``: left for :func:`_finish_interrupted`): (rows
    read, rows written). ``dedupe``: a request id's first row only (predictions)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    schema = _unified_schema(fs, folder, names)
    keyed = "request_id" in schema.names  # files written before a request column get it
    for name in REQUEST_COLUMNS if keyed else ():
        if name not in schema.names:
            schema = schema.append(pa.field(name, pa.int64()))
    schema = schema.with_metadata({COMPACTED_KEY: json.dumps(names).encode()})
    tmp = f"{folder}/.{output}.tmp"
    rows = written = 0
    try:
        with fs.open(tmp, "wb") as handle:
            writer = None  # opened on the first row group: its values choose the dictionaries
            pending: list[Any] = []
            held = 0
            seen: set[str] | None = set() if dedupe else None
            try:
                for n in names:  # one file in memory at a time, plus one row group
                    table = _read(fs, folder, n)
                    if keyed:
                        table = _derived(table)
                    table = _conform(table, schema)
                    rows += table.num_rows
                    if seen is not None:
                        table = _first_of_each_request(table, seen)
                    pending.append(table)
                    written += table.num_rows
                    held += table.num_rows
                    if held >= ROW_GROUP_ROWS or n == names[-1]:
                        group = pa.concat_tables(pending)
                        if writer is None:
                            writer = pq.ParquetWriter(handle, schema, **parquet_options(group))
                        writer.write_table(group, row_group_size=ROW_GROUP_ROWS)
                        pending, held = [], 0
            finally:
                if writer is not None:
                    writer.close()
        fs.mv(tmp, f"{folder}/{output}")
        for n in () if keep else names:
            fs.rm(f"{folder}/{n}")
    except StorageError:
        _remove(fs, tmp)
        raise
    except pa.ArrowException as exc:
        _remove(fs, tmp)
        raise StorageError(f"cannot compact {folder}: {first_line(exc)}; run it again") from exc
    except backend_errors() as exc:
        _remove(fs, tmp)
        raise failure(exc, f"the log partition {folder} (compacting it; run it again)") from exc
    return rows, written


def _first_of_each_request(table: Any, seen: set[str]) -> Any:
    """``table`` without the rows whose request id is in ``seen`` or earlier in the table
    (rows without an id are kept); the ids kept are added to ``seen``."""
    import pyarrow as pa

    if "request_id" not in table.column_names:
        return table
    keep = []
    for rid in table.column("request_id").to_pylist():
        fresh = rid is None or rid not in seen
        if fresh and rid is not None:
            seen.add(rid)
        keep.append(fresh)
    return table if all(keep) else table.filter(pa.array(keep, pa.bool_()))


def _remove(fs: Any, path: str) -> None:
    """Remove a temporary file if storage lets us (else it stays, a ``.x.tmp`` name every
    listing leaves out)."""
    try:
        if fs.exists(path):
            fs.rm(path)
    except backend_errors():
        pass


def _derived(table: Any) -> Any:
    """``table`` with the request columns of a file written before them: computed from
    its ids (hashes only where a row lacks its own: a file of ours has them)."""
    if all(name in table.column_names for name in REQUEST_COLUMNS):
        return table
    hashes = table.column(SAMPLE_HASH) if SAMPLE_HASH in table.column_names else None
    ids = table.column("request_id")
    return with_request_columns(table, hashes=hashes is None or hashes.null_count > ids.null_count)


def _conform(table: Any, schema: Any) -> Any:
    """``table`` with ``schema``'s columns, in its order and types (missing ones null)."""
    import pyarrow as pa

    columns = []
    for field in schema:
        if field.name in table.column_names:
            columns.append(table[field.name].cast(field.type))
        else:
            columns.append(pa.nulls(table.num_rows, field.type))
    return pa.Table.from_arrays(columns, schema=schema)


def _finish_interrupted(
    fs: Any, folder: str, names: list[str], *, delete: bool, kept_s: float = 0.0
) -> list[str]:
    """The partition's files without those a compacted file replaced (an earlier
    compaction that did not get to delete them, or a merge that kept them). They are
    deleted now, unless ``delete`` is False (a dry run changes nothing), once the file that
    replaced them is ``kept_s`` seconds old (local folders only). Plain files go first, then
    merged ones from the lowest tier: a stop in between never brings a replaced file back."""
    live = {p.rsplit("/", 1)[-1] for p in live_files(fs, [f"{folder}/{n}" for n in names])}
    replaced = [n for n in names if n not in live]
    if delete and replaced:
        due = _replaced_before(folder, names, time.time() - kept_s) if kept_s else set(replaced)
        for n in sorted((n for n in replaced if n in due), key=_deletion_order):
            fs.rm(f"{folder}/{n}")
    return [n for n in names if n in live]


def _replaced_before(folder: str, names: list[str], moment: float) -> set[str]:
    """The names that compacted files among ``names`` of the local ``folder``, written
    before ``moment`` (seconds since the epoch), replaced."""
    written: list[str] = []
    for n in names:
        try:
            if n.startswith("compacted-") and os.stat(f"{folder}/{n}").st_mtime <= moment:
                written.append(n)
        except FileNotFoundError:
            continue
    return replaced_within(None, folder, written)


def _deletion_order(name: str) -> tuple[bool, int]:
    merged = _MERGED.fullmatch(name)
    return name.startswith("compacted-"), int(merged["tier"]) if merged else 0
