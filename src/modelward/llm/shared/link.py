"""The gateway's one connection to Redis, and what it knows of Redis's health.

Redis failing is not the caller's mistake, and the gateway keeps answering without it:
every operation goes through :meth:`RedisLink.run` with a fallback value (a cache miss,
"no shared number"), which is what the caller gets while Redis is down. The first failure
marks the link down and logs one line; from then on requests do not touch Redis (no
request waits for a timeout) until the gateway's maintenance thread, once a tick, finds it
answering again (:meth:`RedisLink.probe`), which logs one line more. An outage is two log
lines, however many requests it saw; ``/readyz`` (or ``/healthz``) and ``/metrics`` say
how the link is now.

``redis`` (redis-py) is imported here only, when a Redis URL is configured.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from typing import Any, TypeVar

from modelward.errors import ConfigError, first_line
from modelward.llm.shared.url import shown
from modelward.redact import redact

__all__ = ["TIMEOUT_S", "RedisLink"]

log = logging.getLogger("modelward.llm.gateway")

T = TypeVar("T")

#: Connect and read timeout of one Redis operation: a request waits at most this long for
#: Redis when it fails mid-traffic (the ones after it do not ask Redis until it is back).
TIMEOUT_S = 0.5


class RedisLink:
    def __init__(self, url: str, *, timeout_s: float = TIMEOUT_S) -> None:
        try:
            import redis
            from redis.backoff import NoBackoff
            from redis.retry import Retry
        except ImportError as exc:  # installed without its dependencies
            raise ConfigError(
                "a Redis URL is set (gateway.redis_url or MODELWARD_REDIS_URL) but the redis "
                "package is not installed; pip install 'redis>=5', or unset the URL",
                field="redis_url",
            ) from exc

        self.url = shown(url)  # the form that may be printed
        self.client = redis.Redis.from_url(
            url,
            socket_timeout=timeout_s,
            socket_connect_timeout=timeout_s,
            retry=Retry(NoBackoff(), 0),  # one try: the fallback answers, the probe retries
            retry_on_timeout=False,
        )
        self._errors: tuple[type[BaseException], ...] = (redis.RedisError, OSError)
        # Redis answered, but refused the command (a foreign value under one of our keys, a
        # server that forbids scripts): not an outage, said once
        self._refusals: tuple[type[BaseException], ...] = (redis.ResponseError,)
        self._refused_said = False
        self._lock = threading.Lock()
        self.up = True
        self.problem: str | None = None
        self.down_since: float | None = None
        self.fallbacks = 0  # operations answered without Redis
        self.outages = 0

    def run(self, operation: Callable[[Any], T], fallback: T) -> T:
        """``operation(client)``, or ``fallback`` when Redis is down or fails now."""
        if not self.up:
            self._fell_back()
            return fallback
        try:
            return operation(self.client)
        except self._refusals as exc:
            self._refused(exc)
        except self._errors as exc:
            self._failed(exc)
        self._fell_back()
        return fallback

    def probe(self) -> bool:
        """Whether Redis answers now (a PING); a change of state is logged once."""
        try:
            self.client.ping()
        except self._errors as exc:
            self._failed(exc)
            return False
        with self._lock:
            came_back = not self.up
            was_down = self.down_since
            self.up, self.problem, self.down_since = True, None, None
        if came_back:
            lasted = time.time() - (was_down or time.time())
            log.info(
                "Redis at %s answers again after %.0f s; budgets and the response cache are "
                "shared again",
                self.url,
                lasted,
            )
        return True

    def status(self) -> dict[str, Any]:
        """What ``/readyz`` (``/healthz`` of the standalone gateway) says of the link."""
        return {
            "url": self.url,
            "ok": self.up,
            "problem": self.problem,
            "fallback": None if self.up else FALLBACK,
        }

    def close(self) -> None:
        self.client.close()

    def _fell_back(self) -> None:
        with self._lock:
            self.fallbacks += 1

    def _refused(self, exc: BaseException) -> None:
        with self._lock:
            first, self._refused_said = not self._refused_said, True
        if first:
            log.warning(
                "Redis at %s refused a command: %s; that operation falls back (the cache "
                "misses, the budget uses this process's spend); said once",
                self.url,
                redact(_first_line(exc)),
            )

    def _failed(self, exc: BaseException) -> None:
        reason = redact(_first_line(exc))
        with self._lock:
            first = self.up
            self.up = False
            self.problem = f"Redis at {self.url} does not answer: {reason}"
            if first:
                self.down_since = time.time()
                self.outages += 1
        if first:
            log.warning("%s; %s until it does", self.problem, FALLBACK)


def _first_line(exc: BaseException) -> str:
    return first_line(exc).rstrip(".")


#: What the gateway does while Redis is down (the log line and /readyz say it).
FALLBACK = (
    "serving on without it: budgets from this process's spend in the metadata DB, "
    "response-cache misses"
)
