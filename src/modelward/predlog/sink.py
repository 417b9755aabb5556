"""Where log files go: a local folder, or any fsspec URL. ``write`` a table, ``put`` bytes
(the quarantine), and ``has``: is a file there (or in a compacted file that replaced it)?

Files are written under a temporary name and renamed into place, so a reader globbing
``*.parquet`` never sees a partial file. (Object stores publish a PUT atomically, so
there the file is written under its final name.)
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modelward.errors import StorageError
from modelward.predlog.files import replaced_by_compaction
from modelward.predlog.layout import parquet_options
from modelward.storage import failure, filesystem

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FsspecSink", "LocalSink", "Sink", "open_sink"]


class Sink(Protocol):
    url: str

    def write(self, relpath: str, table: pa.Table) -> None: ...

    def put(self, relpath: str, data: bytes) -> None: ...

    def has(self, relpath: str) -> bool: ...


class LocalSink:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def write(self, relpath: str, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        self._atomic(relpath, lambda tmp: pq.write_table(table, tmp, **parquet_options(table)))

    def put(self, relpath: str, data: bytes) -> None:
        self._atomic(relpath, lambda tmp: Path(tmp).write_bytes(data))

    def _atomic(self, relpath: str, write: Any) -> None:
        path = self.root / relpath
        # unique: two writers publishing the same segment never share a temporary file
        tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(tmp)
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot write the prediction log at {path}: {exc}") from exc

    def has(self, relpath: str) -> bool:
        import fsspec

        path = self.root / relpath
        try:
            return path.exists() or replaced_by_compaction(fsspec.filesystem("file"), str(path))
        except OSError as exc:
            raise StorageError(f"cannot read the prediction log at {path}: {exc}") from exc


class FsspecSink:
    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.fs: Any
        self.fs, self.root = filesystem(self.url, "MODELWARD_LOGS")

    def write(self, relpath: str, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        with self._writing(relpath) as fh:
            pq.write_table(table, fh, **parquet_options(table))

    def put(self, relpath: str, data: bytes) -> None:
        with self._writing(relpath) as fh:
            fh.write(data)

    @contextmanager
    def _writing(self, relpath: str) -> Iterator[Any]:
        try:
            with self.fs.open(f"{self.root}/{relpath}", "wb") as fh:
                yield fh
        except Exception as exc:  # noqa: BLE001 - every fsspec backend has its own errors
            raise failure(exc, f"the prediction log at {self.url}") from exc

    def has(self, relpath: str) -> bool:
        path = f"{self.root}/{relpath}"
        try:
            # afresh: a listing cached earlier (s3fs keeps them) would miss a file another
            # writer published since, and the segment would be published twice
            self.fs.invalidate_cache(path.rsplit("/", 1)[0])
            return bool(self.fs.exists(path)) or replaced_by_compaction(self.fs, path)
        except Exception as exc:  # noqa: BLE001 - every fsspec backend has its own errors
            raise failure(exc, f"the prediction log at {self.url}") from exc


def open_sink(url: str) -> LocalSink | FsspecSink:
    if "://" not in url or url.startswith("file://"):
        return LocalSink(Path(url.removeprefix("file://")))
    return FsspecSink(url)
