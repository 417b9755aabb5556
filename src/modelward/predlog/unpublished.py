"""The rows of a write-ahead folder not yet published: what a reader adds to the Parquet
files so a check sees rows within a second of their being served.

The writer publishes a segment only when it is large or old enough
(:data:`~modelward.predlog.writer.ROLL_ROWS`, :data:`~modelward.predlog.writer.ROLL_MS`),
so the freshest rows are JSON lines in ``<wal>/<segment>.wal``. :class:`Unpublished`
converts them with the conversion that publishing uses (:func:`.convert.convert_segment`,
Arrow's C++ JSON reader) into Parquet files in a private temporary folder, laid out as the
log is (``<kind>/model=<m>/date=<d>/``), which a scan then reads beside the log's files.

Each row once, whatever a writer does meanwhile. The segments are listed *before* the
log's files; a segment's rows of a partition are left out when that partition's listing
holds the file named after the segment (published, or a compacted file that replaced it),
so a segment published between the two listings is read from Parquet. A segment gone
when it is read was published after the log's listing: its files are looked for again
among the partitions. A live segment is read up to its last complete line (the writer
may be appending to it), and what it grew by since a scan is converted on the next.
Rows Arrow cannot store are left out (the writer sets them aside when it publishes).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import weakref
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from modelward.errors import StorageError
from modelward.predlog.convert import convert_segment
from modelward.predlog.derive import with_request_columns
from modelward.predlog.files import LogChanged, LogFile, LogFiles, replaced_within
from modelward.predlog.layout import partition

__all__ = ["SUFFIX", "Unpublished"]

log = logging.getLogger("modelward.predlog")

#: The name ending of a write-ahead segment.
SUFFIX = ".wal"
#: Conversions of a growing segment after which it is converted whole again, into one
#: file per partition (a long-lived reader of a live segment, the feedback resolver,
#: would otherwise pile up small files).
MAX_PIECES = 16
#: Seconds the files of a conversion no longer used are kept (for scans listed before).
GRACE_S = 300.0


@dataclass
class _Read:
    """What was converted of one segment: up to ``offset`` of the file ``inode``."""

    inode: int
    offset: int = 0
    pieces: int = 0  # conversions so far
    types: dict[str, dict[str, str]] = field(default_factory=dict)
    #: (kind, model, date) -> the Parquet files of its rows, one per conversion
    parts: dict[tuple[str, str, str], list[str]] = field(default_factory=dict)


class Unpublished:
    """The segments of the write-ahead folder ``folder`` as Parquet files (private to this
    reader, deleted with it)."""

    def __init__(self, folder: str | Path) -> None:
        self.folder = Path(folder)
        self._out: Path | None = None
        self._read: dict[str, _Read] = {}
        self._dropped: list[tuple[float, str]] = []  # (when, path) of files no longer used
        self._made = 0  # files written: each has its own name

    def segments(self) -> list[str]:
        """The names of the folder's segments now (list them before the log's files)."""
        try:
            return sorted(
                entry.name
                for entry in os.scandir(self.folder)
                if entry.name.endswith(SUFFIX) and not entry.name.startswith(".")
            )
        except FileNotFoundError:
            return []
        except OSError as exc:  # the published rows are still read
            log.warning(
                "cannot list the write-ahead folder %s (%s): reading Parquet only", self.folder, exc
            )
            return []

    def files(
        self,
        names: list[str],
        log: LogFiles,
        listed: list[LogFile],
        kind: str,
        model: str | None,
        *,
        first: date | None = None,
        last: date | None = None,
    ) -> list[LogFile]:
        """The files of the rows of segments ``names`` (listed before ``listed``: the log's
        live files of ``kind`` for ``model``, every model when None, from ``first`` to
        ``last``) in those dates that ``listed`` does not hold already, and the log's
        files of segments published between the two listings."""
        published = _published(log, listed)
        lo, hi = (first.isoformat() if first else ""), (last.isoformat() if last else "~")
        out: list[LogFile] = []
        for name in names:
            stem = name.removesuffix(SUFFIX)
            read = self._convert(name)
            if read is None:  # published and deleted since it was listed
                out += _published_since(log, listed, stem, kind, model, first, last)
                continue
            for (k, m, day), paths in read.parts.items():
                if k != kind or (model is not None and m != model) or not lo <= day <= hi:
                    continue
                if f"{partition(k, m, day)}/{stem}" not in published:
                    out += [LogFile(path, m, day) for path in paths]
        return out

    def models(self, names: list[str], kind: str) -> set[str]:
        """The models that segments ``names`` hold rows of ``kind`` for."""
        found: set[str] = set()
        for name in names:
            read = self._convert(name)
            if read is not None:
                found.update(m for k, m, _ in read.parts if k == kind)
        return found

    def _drop(self, read: _Read | None) -> None:
        """Delete the files of a conversion no longer used once :data:`GRACE_S` passed
        (a scan listed a moment ago may still read them)."""
        now = time.monotonic()
        if read is not None:
            self._dropped += [(now, path) for paths in read.parts.values() for path in paths]
        while self._dropped and self._dropped[0][0] < now - GRACE_S:
            Path(self._dropped.pop(0)[1]).unlink(missing_ok=True)

    def close(self) -> None:
        if self._out is not None:
            shutil.rmtree(self._out, ignore_errors=True)
            self._out = None
        self._read.clear()

    # -- converting -------------------------------------------------------------------------

    def _convert(self, name: str) -> _Read | None:
        """The segment converted up to its last complete line; None when it is gone."""
        try:
            fd = os.open(self.folder / name, os.O_RDONLY | os.O_CLOEXEC)
        except FileNotFoundError:
            self._drop(self._read.pop(name, None))
            return None
        try:
            stat = os.fstat(fd)
            read = self._read.get(name)
            if (
                read is None
                or read.inode != stat.st_ino
                or stat.st_size < read.offset  # an append undone
                or (read.pieces >= MAX_PIECES and stat.st_size > read.offset)
            ):
                self._drop(read)
                read = self._read[name] = _Read(stat.st_ino)
            data = _complete_lines(fd, read.offset)
        finally:
            os.close(fd)
        if data:
            try:
                self._add(name, read, data)
            except OSError as exc:  # the temporary folder is full or gone
                raise StorageError(
                    f"cannot convert the write-ahead segment {self.folder / name} for reading "
                    f"({exc}); free space in {tempfile.gettempdir()} (or set TMPDIR)"
                ) from exc
        return read

    def _add(self, name: str, read: _Read, data: bytes) -> None:
        import pyarrow.parquet as pq

        converted = convert_segment(data, read.types, threads=True)
        read.types = converted.types
        stem = name.removesuffix(SUFFIX)
        for (kind, model, day), table in converted.tables.items():
            if not table.num_rows:
                continue
            folder = self._folder() / partition(kind, model, day)
            folder.mkdir(parents=True, exist_ok=True)
            self._made += 1
            path = folder / f"{stem}-{self._made}.parquet"
            table = with_request_columns(table)  # the columns published files have
            pq.write_table(table, path, compression="none")
            read.parts.setdefault((kind, model, day), []).append(str(path))
        read.offset += len(data)
        read.pieces += 1

    def _folder(self) -> Path:
        if self._out is None:
            self._out = Path(tempfile.mkdtemp(prefix="modelward-unpublished-"))
            weakref.finalize(self, shutil.rmtree, str(self._out), True)
        return self._out


def _complete_lines(fd: int, offset: int) -> bytes:
    """The bytes of ``fd`` from ``offset`` up to its last complete line (a live segment's
    last line may be half written)."""
    chunks: list[bytes] = []
    while chunk := os.pread(fd, 1 << 22, offset):
        chunks.append(chunk)
        offset += len(chunk)
    data = b"".join(chunks)
    return data[: data.rfind(b"\n") + 1]


def _published(log: LogFiles, listed: list[LogFile]) -> set[str]:
    """``<partition>/<stem>`` of every file ``listed`` holds, and of every file a compacted
    file among them replaced."""
    out = set()
    fs = log.fs if log.remote else None  # a local log's paths are opened as they are
    for log_file in listed:
        folder, name = log_file.path.rsplit("/", 1)
        relative = "/".join(folder.rsplit("/", 3)[-3:])  # <kind>/model=<m>/date=<d>
        for held in {name} | replaced_within(fs, log.local(folder), [name]):
            out.add(f"{relative}/{held.removesuffix('.parquet')}")
    return out


def _published_since(
    log: LogFiles,
    listed: list[LogFile],
    stem: str,
    kind: str,
    model: str | None,
    first: date | None,
    last: date | None,
) -> list[LogFile]:
    """The log's files named after segment ``stem`` that the listing ``listed`` missed
    (published since). A file a writer's rolling merge folded into a file of the listing
    is left out (the listing holds its rows); one it folded into a newer file is read as
    it is while the merge keeps it (:data:`.compact.MERGE_KEEP_S`). Once it is deleted,
    the newer file holds files of the listing too: the log changed under the listing
    (:class:`LogChanged`), and a listing made again reads each row once."""
    held = {f.path for f in listed}
    target = f"{stem}.parquet"
    fs = log.fs if log.remote else None
    out = []
    for part in log.partitions(kind, model, first=first, last=last):
        paths = {p.rsplit("/", 1)[-1]: p for p in log.names(part)}
        listed_here = [n for n, p in paths.items() if log.full(p) in held]
        if target in listed_here or target in replaced_within(fs, part.folder, listed_here):
            continue  # the listing holds its rows
        if target in paths:
            out.append(LogFile(log.full(paths[target]), part.model, part.date.isoformat()))
        elif target in replaced_within(fs, part.folder, list(paths)):
            raise LogChanged(f"a merged file replaced {target}, of files listed a moment ago")
    return out
