"""Content-addressed artifact storage (local folder or any fsspec URL)."""

from modelward.artifacts.store import (
    ArtifactStore,
    FsspecArtifactStore,
    LocalArtifactStore,
    open_store,
    sha256,
)

__all__ = ["ArtifactStore", "FsspecArtifactStore", "LocalArtifactStore", "open_store", "sha256"]
