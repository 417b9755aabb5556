"""Weighted routing, deterministic per request id: a retry with the same id gets the same
version as long as the weights have not changed."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

__all__ = ["bucket", "pick_version"]


def bucket(request_id: str) -> float:
    """A number in [0, 1) fixed by the request id (first 8 bytes of its blake2b)."""
    digest = hashlib.blake2b(request_id.encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def pick_version(targets: Sequence[tuple[int, float]], request_id: str) -> int:
    """The version of ``targets`` ([(version, weight)], weights > 0) that serves the id."""
    if len(targets) == 1:
        return targets[0][0]
    total = sum(weight for _, weight in targets)
    point = bucket(request_id) * total
    running = 0.0
    for version, weight in targets:
        running += weight
        if point < running:
            return version
    return targets[-1][0]
