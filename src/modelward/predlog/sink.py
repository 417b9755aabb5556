"""Where log files go: a local folder, or any fsspec URL. One method: ``write``.

Files are written under a temporary name and renamed into place, so a reader globbing
``*.parquet`` never sees a partial file. (Object stores publish a PUT atomically, so
there the file is written under its final name.)
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

from modelward.errors import StorageError
from modelward.predlog.layout import parquet_options

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = ["FsspecSink", "LocalSink", "Sink", "open_sink"]


class Sink(Protocol):
    url: str

    def write(self, relpath: str, table: pa.Table) -> None: ...


class LocalSink:
    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def write(self, relpath: str, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        path = self.root / relpath
        tmp = path.with_name(f".{path.name}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            pq.write_table(table, tmp, **parquet_options(table))
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot write the prediction log at {path}: {exc}") from None


class FsspecSink:
    def __init__(self, url: str) -> None:
        import fsspec

        self.url = url.rstrip("/")
        self.fs: Any
        self.fs, self.root = fsspec.core.url_to_fs(self.url)

    def write(self, relpath: str, table: pa.Table) -> None:
        import pyarrow.parquet as pq

        path = f"{self.root}/{relpath}"
        try:
            with self.fs.open(path, "wb") as fh:
                pq.write_table(table, fh, **parquet_options(table))
        except Exception as exc:  # noqa: BLE001 - every fsspec backend has its own errors
            raise StorageError(f"cannot write the prediction log at {self.url}: {exc}") from None


def open_sink(url: str) -> LocalSink | FsspecSink:
    if "://" not in url or url.startswith("file://"):
        return LocalSink(Path(url.removeprefix("file://")))
    return FsspecSink(url)
