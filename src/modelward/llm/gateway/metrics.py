"""Prometheus metrics of the gateway, in their own registry (mountable next to others)."""

from __future__ import annotations

from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelward.llm.shared.link import RedisLink

__all__ = ["GatewayMetrics"]


class GatewayMetrics:
    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Histogram

        self.registry = CollectorRegistry()
        labels = ("model", "query_type", "status")
        self.requests = Counter(
            "modelward_llm_requests", "Gateway calls", labels, registry=self.registry
        )
        self.latency = Histogram(
            "modelward_llm_latency_seconds", "Gateway latency", ("model",), registry=self.registry
        )
        self.tokens = Counter(
            "modelward_llm_tokens", "Tokens", ("model", "direction"), registry=self.registry
        )
        self.cost = Counter(
            "modelward_llm_cost_dollars", "Spend", ("model",), registry=self.registry
        )
        self.cache_hits = Counter(
            "modelward_llm_cache_hits", "Cache hits", ("model",), registry=self.registry
        )
        self.fallbacks = Counter(
            "modelward_llm_fallbacks",
            "Fallbacks to the next model",
            ("model",),
            registry=self.registry,
        )
        self.rejected = Counter(
            "modelward_llm_rejected", "Requests refused", ("code",), registry=self.registry
        )
        self.ratings = Counter(
            "modelward_llm_ratings",
            "Ratings of answers stored (user satisfaction)",
            ("model",),
            registry=self.registry,
        )
        self.over_cost_limit = Counter(
            "modelward_llm_over_cost_limit",
            "Calls above llm.max_cost_per_query",
            ("model",),
            registry=self.registry,
        )
        self._children: dict[tuple[object, ...], Any] = {}

    def watch(self, link: RedisLink) -> None:
        """Export how the gateway's Redis link is: up or not, outages, fallbacks."""
        self.registry.register(_RedisCollector(link))

    def _child(self, metric: Any, *labels: str) -> Any:
        """``metric.labels(*labels)``, looked up once (the client's lookup checks the
        labels and takes a lock each time: five a call). The client keeps every child it
        made as well, so this holds no more than it does."""
        key = (id(metric), *labels)
        child = self._children.get(key)
        if child is None:
            child = self._children[key] = metric.labels(*labels)
        return child

    def observe(
        self,
        model: str,
        query_type: str,
        status: str,
        latency_ms: float,
        input_tokens: int,
        output_tokens: int,
        cost: float,
        cache_hit: bool,
    ) -> None:
        child = self._child
        child(self.requests, model, query_type, status).inc()
        child(self.latency, model).observe(latency_ms / 1000)
        if input_tokens:
            child(self.tokens, model, "input").inc(input_tokens)
        if output_tokens:
            child(self.tokens, model, "output").inc(output_tokens)
        if cost:
            child(self.cost, model).inc(cost)
        if cache_hit:
            child(self.cache_hits, model).inc()

    def render(self) -> tuple[bytes, Any]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST


class _RedisCollector:
    """``modelward_llm_redis_up`` (1 / 0), ``modelward_llm_redis_outages_total`` and
    ``modelward_llm_redis_fallbacks_total`` (operations answered without Redis: a cache
    miss, a budget checked on this process's spend), read from the link when scraped."""

    def __init__(self, link: RedisLink) -> None:
        self.link = link

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        link = self.link
        yield GaugeMetricFamily(
            "modelward_llm_redis_up",
            "Whether the gateway's Redis (shared budgets and cache) answers",
            value=1.0 if link.up else 0.0,
        )
        yield CounterMetricFamily(
            "modelward_llm_redis_outages", "Times Redis stopped answering", value=link.outages
        )
        yield CounterMetricFamily(
            "modelward_llm_redis_fallbacks",
            "Gateway operations answered without Redis while it was down",
            value=link.fallbacks,
        )
