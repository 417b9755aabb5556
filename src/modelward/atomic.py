"""Files written whole or not at all: a hidden temporary name beside the target, then a rename.

Every file modelward writes into a workspace or for a user (policy.yml, reports, cards,
artifacts, backups, cached answers) goes through here, so a crash or a concurrent reader
never sees half a file, and the temporary names follow one pattern:
``.<name>.<random>.tmp`` (hidden, unique per writer, swept by nobody but the writer).
"""

from __future__ import annotations

import uuid
from pathlib import Path

__all__ = ["temp_sibling", "write_atomic"]


def temp_sibling(path: Path) -> Path:
    """A unique hidden name in ``path``'s folder to write before renaming onto ``path``."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")


def write_atomic(path: Path, data: bytes | str) -> Path:
    """Write ``data`` (text is UTF-8) to ``path`` through a temporary sibling; ``path``."""
    tmp = temp_sibling(path)
    try:
        if isinstance(data, str):
            tmp.write_text(data, encoding="utf-8")
        else:
            tmp.write_bytes(data)
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    return path
