"""Write-ahead segments: the files a served row is appended to before its client is answered.

``<wal>/<writer-id>-<n>.wal`` holds one JSON object per line. Its writer holds an exclusive
``flock`` on it while it is open (it appears under its ``.wal`` name only once locked) and
lets go when it closes it; from then on whoever takes the lock — its writer, or any live
writer adopting the segments of a dead one — publishes it to Parquet and deletes it, so
each segment is published by one process. An append is all or nothing: when the disk
refuses part of it, the file is cut back to where it was, so a row whose client got an
error never reaches the log.
"""

from __future__ import annotations

import fcntl
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

__all__ = ["TYPE_LINE", "Segment", "claimed", "rows_in"]

log = logging.getLogger("modelward.predlog")

#: How the lines declaring a model's column types begin (``{"k":"t","m":…,"types":…}``).
TYPE_LINE = b'{"k":"t"'
#: Bytes a writer that could not append must be able to write again before it takes rows.
ROOM = 64 * 1024


class Segment:
    """The open segment of a writer."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.size = 0
        self.broken = False  # an append failed and could not be undone: take no more rows

    @classmethod
    def create(cls, folder: Path, name: str) -> Segment:
        path = folder / f"{name}.wal"
        tmp = folder / f".{name}.wal.new"
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_APPEND | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            os.replace(tmp, path)  # visible to adopters only once locked
        except BaseException:
            os.close(fd)
            tmp.unlink(missing_ok=True)
            raise
        return cls(path, fd)

    def append(self, data: bytes) -> None:
        """Write all of ``data``, or raise OSError leaving the file as it was."""
        size = self.size
        view = memoryview(data)
        try:
            while view:
                view = view[os.write(self.fd, view) :]
        except OSError:
            self._cut(size)
            raise
        self.size = size + len(data)

    def check_room(self) -> None:
        """Raise OSError unless :data:`ROOM` more bytes fit (nothing is kept)."""
        self.append(b"\n" * ROOM)  # blank lines, skipped by the conversion if they stayed
        self.size -= ROOM
        self._cut(self.size)

    def _cut(self, size: int) -> None:
        try:
            os.ftruncate(self.fd, size)
        except OSError as exc:
            self.broken = True
            log.error(
                "cannot cut the write-ahead segment %s back after a failed append: %s",
                self.path,
                exc,
            )

    def close(self) -> None:
        """Let go of the segment (and its lock): it is now for whoever publishes it."""
        os.close(self.fd)

    def delete(self) -> None:
        self.path.unlink(missing_ok=True)
        os.close(self.fd)


@contextmanager
def claimed(path: Path) -> Iterator[bytes | None]:
    """The bytes of the closed segment at ``path`` while this process holds its lock, or
    None when another process holds it (a live writer, another adopter) or it is gone."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_CLOEXEC)
    except FileNotFoundError:
        yield None
        return
    try:
        yield _locked_bytes(path, fd)
    finally:
        os.close(fd)


def _locked_bytes(path: Path, fd: int) -> bytes | None:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return None
    try:
        if os.stat(path).st_ino != os.fstat(fd).st_ino:
            return None  # published and deleted meanwhile, and the name reused
    except FileNotFoundError:
        return None  # published and deleted by the process that held it
    chunks = []
    while chunk := os.read(fd, 1 << 20):
        chunks.append(chunk)
    return b"".join(chunks)


def rows_in(data: bytes) -> int:
    """How many rows a segment's bytes hold (lines, less the column-type lines)."""
    lines = data.count(b"\n") + (1 if data and not data.endswith(b"\n") else 0)
    return lines - data.count(TYPE_LINE)
