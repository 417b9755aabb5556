"""The month's LLM spend shared by every gateway replica: one Redis counter per UTC month
(``<prefix>:llm:spend:<YYYY-MM>``) and one per API token name (``…:<YYYY-MM>:key:<name>``).

Every answered call adds its cost atomically (a Lua script: ``INCRBYFLOAT`` when the month's
counter exists, else ``SET`` it, with an expiry after the month, to the spend this process
knows from the metadata DB, which already holds the call: a Redis restart does not reset a
budget to zero). Every budget check reads the counters (``MGET``), so across N replicas the
month's spend passes the budget by no more than the calls in flight when it was reached.

The usage table stays the record of truth; these counters only make it visible to every
replica at once, not one ``flush_ms`` later. A cost Redis could not take (it was down) is
kept and added when it answers again, so the counters do not forget an outage's spend.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from modelward.llm.shared.link import RedisLink
from modelward.timeutil import utcnow

__all__ = ["SharedSpend"]

#: KEYS: the counters; ARGV[1]: expiry (s); ARGV[1+i]: what to add to KEYS[i];
#: ARGV[1+n+i]: its value when it does not exist yet (already including what to add).
ADD = """
local n = #KEYS
for i = 1, n do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBYFLOAT', KEYS[i], ARGV[1 + i])
  else
    redis.call('SET', KEYS[i], ARGV[1 + n + i], 'EX', ARGV[1])
  end
end
return n
"""

#: (month spend, this key's month spend) the metadata DB and this process know of
Seeds = Callable[[str], tuple[float, float]]


class SharedSpend:
    def __init__(self, link: RedisLink, prefix: str) -> None:
        self.link = link
        self.prefix = prefix
        self._add = link.client.register_script(ADD)
        self._lock = threading.Lock()
        self._missed: dict[tuple[str, str], float] = {}  # (month, api key) -> cost not added

    def keys(self, api_key: str, month: str | None = None) -> tuple[str, str]:
        month = month or _month()
        base = f"{self.prefix}:llm:spend:{month}"
        return base, f"{base}:key:{api_key}"

    def read(self, api_key: str) -> tuple[float | None, float | None]:
        """The month's spend and ``api_key``'s, as Redis counts them (None: not known there:
        Redis is down, or has no counter for this month yet)."""
        found = self.link.run(lambda r: r.mget(self.keys(api_key)), [None, None])
        return _number(found[0]), _number(found[1])

    def add(self, api_key: str, cost: float, seeds: Seeds) -> None:
        """Count ``cost`` for ``api_key`` (and the month); kept for later if Redis is down."""
        with self._lock:
            month = _month()
            self._missed[(month, api_key)] = self._missed.get((month, api_key), 0.0) + cost
        self.push(seeds)

    def push(self, seeds: Seeds) -> None:
        """Add every cost not yet in Redis (this month's; an older month's budget is over)."""
        month = _month()
        with self._lock:
            pending = {k: v for k, v in self._missed.items() if k[0] == month}
            self._missed = {}
        if not pending:
            return
        counters: dict[str, list[float]] = {}  # name -> [what to add, value when new]
        for (_, api_key), cost in pending.items():
            total, spent_key = seeds(api_key)
            month_key, key_key = self.keys(api_key, month)
            counters.setdefault(month_key, [0.0, total])[0] += cost
            counters[key_key] = [cost, spent_key]
        names = list(counters)
        args = [
            str(_expiry_s()),
            *(repr(counters[n][0]) for n in names),
            *(repr(counters[n][1]) for n in names),
        ]
        if self.link.run(lambda r: self._add(keys=names, args=args, client=r), None) is None:
            with self._lock:  # Redis is down: keep them for the next push
                for key, cost in pending.items():
                    self._missed[key] = self._missed.get(key, 0.0) + cost

    @property
    def unsent(self) -> float:
        """Spend this process has not been able to add to Redis yet (dollars)."""
        with self._lock:
            return sum(self._missed.values())


def _month() -> str:
    return utcnow().strftime("%Y-%m")


def _expiry_s() -> int:
    """Seconds until a week after the current UTC month ends (its counters are read no
    more; the week covers clocks that disagree)."""
    now = utcnow()
    start = datetime(now.year, now.month, 1, tzinfo=UTC)
    following = (start + timedelta(days=32)).replace(day=1)
    return int((following - now).total_seconds()) + 7 * 86400


def _number(value: Any) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):  # not ours: a foreign value under our key
        return None
