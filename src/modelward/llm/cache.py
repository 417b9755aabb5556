"""The response cache: an exact-match key over (provider, model, params, messages).

:class:`DiskCache` keeps answers under ``<workspace>/cache/llm/`` so a re-run of an
evaluation costs nothing; :class:`MemoryCache` is the gateway's LRU with a TTL.
"""

from __future__ import annotations

import hashlib
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import orjson

from modelward.atomic import write_atomic

__all__ = ["DiskCache", "MemoryCache", "cache_key"]


def cache_key(provider: str, model: str, params: dict[str, Any], messages: list[Any]) -> str:
    blob = orjson.dumps(
        {"p": provider, "m": model, "k": params, "x": messages}, option=orjson.OPT_SORT_KEYS
    )
    return hashlib.sha256(blob).hexdigest()


class DiskCache:
    def __init__(self, root: str | Path) -> None:
        self.root = Path(root)

    def _path(self, key: str) -> Path:
        return self.root / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, Any] | None:
        try:
            value = orjson.loads(self._path(key).read_bytes())
        except (FileNotFoundError, orjson.JSONDecodeError):
            return None
        return value if isinstance(value, dict) else None

    def put(self, key: str, value: dict[str, Any]) -> None:
        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_atomic(path, orjson.dumps(value))


class MemoryCache:
    """LRU with a time to live; ``ttl_s=0`` or ``size=0`` turns it off."""

    def __init__(self, *, ttl_s: float, size: int) -> None:
        self.ttl_s = ttl_s
        self.size = size
        self._items: OrderedDict[str, tuple[float, Any]] = OrderedDict()

    @property
    def on(self) -> bool:
        """Whether anything is kept (a caller need not make keys when not)."""
        return self.ttl_s > 0 and self.size > 0

    def get(self, key: str) -> Any:
        found = self._items.get(key)
        if found is None:
            return None
        stored, value = found
        if time.monotonic() - stored > self.ttl_s:
            self._items.pop(key, None)
            return None
        self._items.move_to_end(key)
        return value

    def put(self, key: str, value: Any) -> None:
        if not self.on:
            return
        self._items[key] = (time.monotonic(), value)
        self._items.move_to_end(key)
        while len(self._items) > self.size:
            self._items.popitem(last=False)

    def __len__(self) -> int:
        return len(self._items)
