"""What the gateway keeps between requests: the routing table, endpoints, spend, the
response cache, usage counters and the prediction log.

Nothing on the request path touches the database: a background thread (started with the
first request) flushes usage rows in batches, re-reads the month's spend and follows new
routing revisions and API tokens once per ``flush_ms``.

An answer's usage, spend and metrics are counted once it is sent (:meth:`later`): after a
wait on a provider the CPU's caches are cold, and every piece of code first touched between
the provider's answer and ours costs several times its usual time (counting took ~0.08 ms
there with a 50 ms provider, ~0.03 ms with an instant one). Whatever reads those counts (a
budget check, the usage flush, ``/metrics``) settles them first, so none is ever missed.

With a Redis URL (``gateway.redis_url`` or ``MODELWARD_REDIS_URL``) the month's spend and
the response cache are shared by every replica (:mod:`modelward.llm.shared`): a budget
check reads the shared counters, an answered call adds its cost to them. While Redis is
down the process falls back to what it knows itself (the spend re-read from the DB, its
own cache misses), and the background thread notices when Redis is back.

It is also the standalone gateway's token source (:class:`modelward.http.auth.Auth`):
tokens name callers for budgets and the log, and are never required (``auth_on``).
"""

from __future__ import annotations

import asyncio
import logging
import random
import threading
from collections import deque
from typing import TYPE_CHECKING, Any

from modelward.errors import BudgetExceeded, NotFound
from modelward.http.tokens import active_tokens

if TYPE_CHECKING:
    from collections.abc import Callable

    from modelward.http.tokens import TokenInfo
    from modelward.llm.cache import MemoryCache
    from modelward.llm.config import LLMConfig
    from modelward.llm.shared.cache import RedisCache
    from modelward.llm.shared.link import RedisLink
    from modelward.llm.shared.spend import SharedSpend
    from modelward.llm.types import Endpoint
    from modelward.workspace import Workspace

__all__ = ["GatewayState"]

log = logging.getLogger("modelward.llm.gateway")


class GatewayState:
    #: the standalone gateway has no auth of its own (bound to loopback only); mounted in
    #: ``modelward serve``, the server's tokens guard it
    auth_on = False

    def __init__(
        self, ws: Workspace, *, config: LLMConfig | None = None, environment: str = "production"
    ) -> None:
        from modelward.llm.fleet import LLMFleet
        from modelward.llm.shared.url import resolve_url
        from modelward.llm.usage import UsageBuffer
        from modelward.predlog.writer import LogWriter

        self.ws = ws
        self.fleet = LLMFleet(ws, config=config)
        self.config = self.fleet.config
        self.gateway = self.config.gateway
        self.policy = ws.policy.llm
        self.environment = environment
        self.redis: RedisLink | None = None
        self.shared_spend: SharedSpend | None = None
        self.cache = self._cache(resolve_url(self.gateway.redis_url))
        self.usage = UsageBuffer(ws.db)
        # The server's prediction-log writer, write-ahead file included: a call answered
        # is in the log even if the process is killed (replayed at the next start).
        self.predlog = LogWriter(
            ws.logs_url,
            wal_dir=ws.layout.wal,
            flush_ms=self.gateway.flush_ms,
            max_wal_bytes=ws.policy.serving.wal_max_mb * 2**20,
        )
        self.routes: dict[str, Any] = {}
        self.revision = 0
        self.endpoints: dict[str, Endpoint] = {}
        self.tokens: dict[str, TokenInfo] = {}
        self.spend_month = 0.0
        self.spend_keys: dict[str, float] = {}
        self._unflushed = 0.0
        self._unflushed_keys: dict[str, float] = {}
        self._lock = threading.Lock()
        self._later: deque[Callable[[], None]] = deque()  # counts of answers sent
        self._settle_due = False  # a settle() is scheduled on the event loop
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.refresh()

    def _cache(self, url: str | None) -> MemoryCache | RedisCache:
        """The response cache: this process's, or Redis's (then the spend is shared too)."""
        from modelward.llm.cache import MemoryCache

        ttl_s, size = self.gateway.cache_ttl_s, self.gateway.cache_size
        if url is None:
            return MemoryCache(ttl_s=ttl_s, size=size)
        from modelward.llm.shared.cache import RedisCache
        from modelward.llm.shared.link import RedisLink
        from modelward.llm.shared.spend import SharedSpend

        prefix = self.gateway.redis_prefix
        self.redis = link = RedisLink(url)
        link.probe()  # unreachable: serve on with the fallback, said once in the log
        self.shared_spend = SharedSpend(link, prefix)
        return RedisCache(link, prefix, ttl_s=ttl_s, size=size)

    # -- background -----------------------------------------------------------------------

    def ensure_started(self) -> None:
        if self._thread is None:
            with self._lock:
                if self._thread is None:
                    self.predlog.start()
                    self._thread = threading.Thread(
                        target=self._loop, name="llm-gateway", daemon=True
                    )
                    self._thread.start()

    def _loop(self) -> None:
        while not self._stop.wait(self.gateway.flush_ms / 1000):
            self.share()
            try:
                self.flush()
                self.refresh()
            except Exception:  # noqa: BLE001 - keep serving on a DB hiccup; retried next tick
                log.exception("gateway maintenance failed; retrying")

    def share(self) -> None:
        """Redis down: ask whether it is back. Up: raise its counters to at least the spend
        this replica knows (what Redis missed or lost comes back through the DB)."""
        link, spend = self.redis, self.shared_spend
        if link is None or spend is None:
            return
        self.settle()
        try:
            if link.up or link.probe():
                with self._lock:
                    total = self.spend_month + self._unflushed
                    keys = self.spend_keys.keys() | self._unflushed_keys.keys()
                    per_key = [
                        (k, self.spend_keys.get(k, 0.0) + self._unflushed_keys.get(k, 0.0))
                        for k in sorted(keys)
                    ]
                spend.raise_to(total, per_key)
        except Exception:  # noqa: BLE001 - a bug must not stop the usage flushes
            log.exception("sharing the spend through Redis failed; retrying")

    def shared_status(self) -> dict[str, Any]:
        """What ``/readyz`` says of the shared state (nothing without Redis)."""
        return {} if self.redis is None else {"redis": self.redis.status()}

    def flush(self) -> None:
        self.settle()
        with self._lock:  # the same calls leave the unflushed spend and the buffer
            self._unflushed = 0.0
            self._unflushed_keys = {}
            batch = self.usage.take()
        self.usage.write(batch)

    def refresh(self) -> None:
        """Follow the routing table, tokens and the month's spend."""
        from sqlalchemy import select

        from modelward.llm.routing import current_routes
        from modelward.llm.usage import month_spend
        from modelward.store.tables import UsageRow

        table = current_routes(self.ws, self.environment)
        if table is not None and table.revision != self.revision:
            endpoints = {}
            for route in table.routes.values():
                refs = list(route["models"])
                if route.get("canary"):
                    refs.append(route["canary"]["model"])
                for ref in refs:
                    try:
                        endpoints[ref] = self.fleet.resolve(ref)
                    except NotFound:
                        log.warning("routing table names %s, which no longer exists", ref)
            self.endpoints = {**self.endpoints, **endpoints}
            self.routes, self.revision = dict(table.routes), table.revision
        with self.ws.db.session(readonly=True) as session:
            keys = session.scalars(select(UsageRow.api_key).distinct()).all()
        self.tokens = active_tokens(self.ws.db)
        spend = month_spend(self.ws.db)
        per_key = {k: month_spend(self.ws.db, api_key=k) for k in keys}
        with self._lock:
            self.spend_month, self.spend_keys = spend, per_key

    def close(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()
        self.predlog.close()
        if self.redis is not None:
            self.redis.close()

    # -- per request ----------------------------------------------------------------------

    def later(self, work: Callable[[], None]) -> None:
        """Count an answer once it is sent: ``work`` runs at the event loop's next turn (the
        answer is written in this one), or sooner in :meth:`settle` by whoever reads the
        counts. Outside an event loop it runs now."""
        self._later.append(work)
        if self._settle_due:
            return
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            self.settle()
            return
        self._settle_due = True
        loop.call_soon(self._settle_soon)

    def _settle_soon(self) -> None:
        self._settle_due = False  # what is added from now on schedules another
        self.settle()

    def settle(self) -> None:
        """Run the counting left for later (any thread; each piece runs once)."""
        while self._later:
            try:
                work = self._later.popleft()
            except IndexError:  # another thread took the last one
                return
            try:
                work()
            except Exception:  # noqa: BLE001 - the answer has gone; the next ones count on
                log.exception("counting a gateway answer failed")

    def check_budget(self, key: str) -> None:
        self.settle()
        spent, spent_key = self._seeds(key)
        if self.shared_spend is not None:  # every replica's spend, when Redis knows it
            # never below what this process knows (a counter Redis re-seeded late)
            shared, shared_key = self.shared_spend.read(key)
            spent = max(spent, shared or 0.0)
            spent_key = max(spent_key, shared_key or 0.0)
        if spent >= self.policy.monthly_budget:
            raise BudgetExceeded(
                f"the monthly LLM budget (${self.policy.monthly_budget:g}) is spent "
                f"(${spent:.2f}); raise llm.monthly_budget in policy.yml or wait for next month"
            )
        budget = self.gateway.key_budgets.get(key)
        if budget is not None and spent_key >= budget.monthly:
            raise BudgetExceeded(
                f"API key {key!r} has spent its monthly budget (${budget.monthly:g}); raise "
                "gateway.key_budgets in llm.yml or wait for next month"
            )

    def record_usage(
        self,
        key: str,
        model: str,
        version: int,
        *,
        error: bool,
        cache_hit: bool,
        input_tokens: int,
        output_tokens: int,
        cost: float,
    ) -> None:
        """Count one attempt: its usage row and its spend (in Redis first, so a counter
        raised to this replica's spend never holds a call it is about to add)."""
        if cost and self.shared_spend is not None:
            self.shared_spend.add(key, cost, self._seeds(key))
        with self._lock:
            self.usage.add(
                key,
                model,
                version,
                error=error,
                cache_hit=cache_hit,
                input_tokens=input_tokens,
                output_tokens=output_tokens,
                cost=cost,
            )
            if cost:
                self._unflushed += cost
                self._unflushed_keys[key] = self._unflushed_keys.get(key, 0.0) + cost

    def _seeds(self, key: str) -> tuple[float, float]:
        """The month's spend and ``key``'s as this process knows them: re-read from the
        metadata DB, plus what it has not flushed there yet."""
        with self._lock:
            spent = self.spend_month + self._unflushed
            spent_key = self.spend_keys.get(key, 0.0) + self._unflushed_keys.get(key, 0.0)
        return spent, spent_key

    def classify(self, text: str) -> str:
        lowered = text.lower()
        for query_type, words in self.gateway.classifier.items():
            if any(w.lower() in lowered for w in words):
                return query_type
        return self.gateway.default_query_type

    def candidates(self, model: str, query_type: str | None, prompt: str) -> tuple[str, list[str]]:
        """(query type, endpoint refs to try in order) for a request."""
        if model.startswith("route:"):
            query_type = model[6:]
        elif model not in ("", "auto", "default") and query_type is None:
            ref = self.direct(model)
            return "direct", [ref]
        query_type = query_type or self.classify(prompt)
        route = self.routes.get(query_type)
        if route is None:
            known = ", ".join(sorted(self.routes)) or "none"
            raise NotFound(
                f"no route for query type {query_type!r} (routes: {known}); see "
                "`modelward llm routes show`",
                field="model",
            )
        refs = list(route["models"])
        canary = route.get("canary")
        if canary and random.random() * 100 < float(canary["weight"]):
            refs = [canary["model"], *[r for r in refs if r != canary["model"]]]
        return query_type, refs

    def direct(self, model: str) -> str:
        """A registered endpoint named directly (``name`` or ``name:3``)."""
        from modelward.errors import ConfigError

        if model in self.endpoints:
            return model
        try:
            endpoint = self.fleet.resolve(model)
        except (NotFound, ConfigError) as exc:
            raise NotFound(
                f"no model or route named {model!r}; use route:<query type> or a registered "
                "endpoint (GET /v1/models lists them)",
                field="model",
            ) from exc
        self.endpoints[model] = endpoint
        return model
