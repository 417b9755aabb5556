"""Content-addressed artifact stores.

An artifact is a blob named by its sha256 (``sha256/ab/abcdef…``). Writes go to a
temporary name and are renamed into place, so a reader never sees half a file; every
read recomputes the checksum and refuses a blob that does not match its name.

The interface is four methods (``put``, ``get``, ``exists``, ``delete``) plus ``iter``;
the local folder and any fsspec URL (s3://, gcs://, memory://, ...) implement it.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any, Protocol

from modelward.errors import ArtifactDamaged, ArtifactError, StorageError
from modelward.storage import backend_errors, failure, filesystem

__all__ = ["ArtifactStore", "FsspecArtifactStore", "LocalArtifactStore", "open_store", "sha256"]


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


class ArtifactStore(Protocol):
    url: str

    def put(self, data: bytes) -> str: ...

    def get(self, digest: str) -> bytes: ...

    def exists(self, digest: str) -> bool: ...

    def delete(self, digest: str) -> bool: ...

    def iter(self) -> Iterator[str]: ...


def _relpath(digest: str) -> str:
    if len(digest) != 64 or any(c not in "0123456789abcdef" for c in digest):
        raise ArtifactError(f"{digest!r} is not a sha256 digest (64 lowercase hex characters)")
    return f"sha256/{digest[:2]}/{digest}"


def _verified(digest: str, data: bytes, where: str) -> bytes:
    actual = sha256(data)
    if actual != digest:
        raise ArtifactDamaged(
            f"artifact {where} is corrupted: its sha256 is {actual[:12]}…, expected "
            f"{digest[:12]}…; restore it from a backup (modelward restore) or re-register the model"
        )
    return data


class LocalArtifactStore:
    """Artifacts in a local folder."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root)
        self.url = str(self.root)

    def _path(self, digest: str) -> Path:
        return self.root / _relpath(digest)

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        path = self._path(digest)
        if path.exists():
            return digest
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{digest}.{uuid.uuid4().hex}.tmp")
        try:
            with open(tmp, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, path)
        except OSError as exc:
            tmp.unlink(missing_ok=True)
            raise StorageError(f"cannot write artifact to {self.root}: {exc.strerror}") from exc
        return digest

    def get(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            data = path.read_bytes()
        except FileNotFoundError as exc:
            raise ArtifactDamaged(
                f"artifact {path} is missing; restore the workspace from a backup "
                "(modelward restore)"
            ) from exc
        return _verified(digest, data, str(path))

    def exists(self, digest: str) -> bool:
        return self._path(digest).exists()

    def delete(self, digest: str) -> bool:
        path = self._path(digest)
        if not path.exists():
            return False
        path.unlink()
        return True

    def iter(self) -> Iterator[str]:
        base = self.root / "sha256"
        if base.exists():
            for path in sorted(base.glob("*/*")):
                if not path.name.startswith("."):
                    yield path.name


class FsspecArtifactStore:
    """Artifacts under any fsspec URL, through the same interface."""

    def __init__(self, url: str) -> None:
        self.url = url.rstrip("/")
        self.fs: Any
        self.fs, self.base = filesystem(self.url, "MODELWARD_ARTIFACTS")
        self.what = f"the artifact store at {self.url}"

    def _path(self, digest: str) -> str:
        return f"{self.base}/{_relpath(digest)}"

    def put(self, data: bytes) -> str:
        digest = sha256(data)
        path = self._path(digest)
        try:
            if self.fs.exists(path):
                return digest
            tmp = f"{self.base}/tmp/{digest}.{uuid.uuid4().hex}"
            self.fs.pipe_file(tmp, data)
            self.fs.mv(tmp, path)
        except backend_errors() as exc:
            raise failure(exc, self.what) from exc
        return digest

    def get(self, digest: str) -> bytes:
        path = self._path(digest)
        try:
            data = self.fs.cat_file(path)
        except FileNotFoundError as exc:
            raise ArtifactDamaged(
                f"artifact {self.url}/{_relpath(digest)} is missing; restore it from a backup"
            ) from exc
        except backend_errors() as exc:
            raise failure(exc, self.what) from exc
        return _verified(digest, data, f"{self.url}/{_relpath(digest)}")

    def exists(self, digest: str) -> bool:
        try:
            return bool(self.fs.exists(self._path(digest)))
        except backend_errors() as exc:
            raise failure(exc, self.what) from exc

    def delete(self, digest: str) -> bool:
        path = self._path(digest)
        try:
            if not self.fs.exists(path):
                return False
            self.fs.rm_file(path)
        except backend_errors() as exc:
            raise failure(exc, self.what) from exc
        return True

    def iter(self) -> Iterator[str]:
        base = f"{self.base}/sha256"
        try:
            found = sorted(self.fs.find(base)) if self.fs.exists(base) else []
        except backend_errors() as exc:
            raise failure(exc, self.what) from exc
        for path in found:
            yield path.rsplit("/", 1)[-1]


def open_store(url: str) -> ArtifactStore:
    """A local path (or ``file://``) gives a LocalArtifactStore; anything else goes to fsspec."""
    if "://" not in url:
        return LocalArtifactStore(Path(url))
    if url.startswith("file://"):
        return LocalArtifactStore(Path(url.removeprefix("file://")))
    return FsspecArtifactStore(url)
