"""The month's LLM spend shared by every gateway replica: one Redis counter per UTC month
(``<prefix>:llm:spend:<YYYY-MM>``) and one per API token name (``…:<YYYY-MM>:key:<name>``),
expiring a week after the month.

Every answered call adds its cost atomically (:data:`ADD`: ``INCRBYFLOAT``, or, when the
month's counter does not exist yet, ``SET`` it to the spend this replica knows from the
metadata DB plus the call: a new month, or a Redis restarted without its data, does not
reset a budget to zero). Every budget check reads the counters (``MGET``), so across N
replicas the month's spend passes the budget by no more than the calls in flight.

The usage table stays the record of truth. Once per ``flush_ms`` each replica raises the
counters to at least what it knows (:data:`RAISE`: the DB's spend plus its own calls not
flushed there yet), never lowering them: a cost a replica could not add while Redis was
down (or which Redis lost) comes back through the DB within a tick or two, and nothing is
counted twice, since a call is added to Redis before it is counted anywhere else.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from modelward.llm.shared.link import RedisLink
from modelward.timeutil import utcnow

__all__ = ["SharedSpend"]

#: KEYS[1..2]: the month's counter and the key's; ARGV[1]: expiry (s); ARGV[2]: the cost;
#: ARGV[3..4]: each counter's value when it does not exist yet (the cost included).
ADD = """
for i = 1, 2 do
  if redis.call('EXISTS', KEYS[i]) == 1 then
    redis.call('INCRBYFLOAT', KEYS[i], ARGV[2])
  else
    redis.call('SET', KEYS[i], ARGV[2 + i], 'EX', ARGV[1])
  end
end
return 1
"""

#: KEYS: counters; ARGV[1]: expiry (s) of a new one; ARGV[1 + i]: KEYS[i]'s floor.
RAISE = """
for i = 1, #KEYS do
  local now = tonumber(redis.call('GET', KEYS[i]))
  local floor = tonumber(ARGV[1 + i])
  if now == nil then
    redis.call('SET', KEYS[i], ARGV[1 + i], 'EX', ARGV[1])
  elseif now < floor then
    redis.call('SET', KEYS[i], ARGV[1 + i], 'KEEPTTL')
  end
end
return #KEYS
"""


class SharedSpend:
    def __init__(self, link: RedisLink, prefix: str) -> None:
        self.link = link
        self.prefix = prefix
        self._add = link.client.register_script(ADD)
        self._raise = link.client.register_script(RAISE)

    def keys(self, api_key: str) -> tuple[str, str]:
        """The current month's counter, and ``api_key``'s."""
        base = f"{self.prefix}:llm:spend:{utcnow():%Y-%m}"
        return base, f"{base}:key:{api_key}"

    def read(self, api_key: str) -> tuple[float | None, float | None]:
        """The month's spend and ``api_key``'s, as Redis counts them (None: not known there:
        Redis is down, or has no counter for this month yet)."""
        found = self.link.run(lambda r: r.mget(self.keys(api_key)), [None, None])
        return _number(found[0]), _number(found[1])

    def add(self, api_key: str, cost: float, known: tuple[float, float]) -> bool:
        """Add ``cost`` to the month's and ``api_key``'s counters; ``known``: the two
        spends this replica knows, the call not included (a missing counter starts there).
        False: Redis is down (the next :meth:`raise_to` after it is back brings it in)."""
        args = [str(_expiry_s()), repr(cost), repr(known[0] + cost), repr(known[1] + cost)]
        keys = self.keys(api_key)
        return self.link.run(lambda r: bool(self._add(keys=keys, args=args, client=r)), False)

    def raise_to(self, total: float, per_key: Iterable[tuple[str, float]]) -> None:
        """Raise the counters to at least these spends (the month's, each key's)."""
        month = self.keys("")[0]
        names, floors = [month], [total]
        for api_key, spent in per_key:
            names.append(self.keys(api_key)[1])
            floors.append(spent)
        args = [str(_expiry_s()), *(repr(f) for f in floors)]
        self.link.run(lambda r: self._raise(keys=names, args=args, client=r), None)


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
