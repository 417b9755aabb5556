"""The gateway's response cache in Redis, shared by every replica: an answer one replica
got from a provider is answered from the cache by all (the same interface as
:class:`~modelward.llm.cache.MemoryCache`: ``get``, ``put``, ``on``).

Keys are ``<prefix>:llm:cache:<sha256 of the call>`` (:func:`~modelward.llm.cache.cache_key`),
values the answer as orjson bytes, kept ``gateway.cache_ttl_s`` (Redis expires them; its
``maxmemory-policy`` bounds the total). An answer larger than :data:`MAX_VALUE_BYTES` is
not cached. While Redis is down every lookup is a miss and nothing is stored.
"""

from __future__ import annotations

from typing import Any

import orjson

from modelward.llm.shared.link import RedisLink

__all__ = ["MAX_VALUE_BYTES", "RedisCache"]

#: The largest answer kept (bytes of its JSON); a bigger one is answered, not cached.
MAX_VALUE_BYTES = 1 << 20


class RedisCache:
    def __init__(self, link: RedisLink, prefix: str, *, ttl_s: float, size: int) -> None:
        self.link = link
        self.prefix = prefix
        self.ttl_ms = int(ttl_s * 1000)
        self.size = size  # the in-memory cache's bound; 0 turns the cache off here too

    @property
    def on(self) -> bool:
        return self.ttl_ms > 0 and self.size > 0

    def _key(self, key: str) -> str:
        return f"{self.prefix}:llm:cache:{key}"

    def get(self, key: str) -> Any:
        if not self.on:  # off: no round trip for a lookup that cannot hit
            return None
        raw = self.link.run(lambda r: r.get(self._key(key)), None)
        if raw is None or len(raw) > MAX_VALUE_BYTES:
            return None
        try:
            value = orjson.loads(raw)
        except orjson.JSONDecodeError:  # not ours: a foreign value under our key
            return None
        return value if _is_answer(value) else None

    def put(self, key: str, value: Any) -> None:
        if not self.on:
            return
        blob = orjson.dumps(value)
        if len(blob) > MAX_VALUE_BYTES:
            return
        self.link.run(lambda r: r.set(self._key(key), blob, px=self.ttl_ms), None)


def _is_answer(value: Any) -> bool:
    """(text, input tokens, output tokens, finish reason): what the gateway stores."""
    return (
        isinstance(value, list)
        and len(value) == 4
        and isinstance(value[0], str)
        and all(isinstance(n, int) and n >= 0 for n in value[1:3])
        and (value[3] is None or isinstance(value[3], str))
    )
