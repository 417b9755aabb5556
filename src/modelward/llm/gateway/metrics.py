"""Prometheus metrics of the gateway, in their own registry (mountable next to others)."""

from __future__ import annotations

from typing import Any

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
        self.requests.labels(model, query_type, status).inc()
        self.latency.labels(model).observe(latency_ms / 1000)
        if input_tokens:
            self.tokens.labels(model, "input").inc(input_tokens)
        if output_tokens:
            self.tokens.labels(model, "output").inc(output_tokens)
        if cost:
            self.cost.labels(model).inc(cost)
        if cache_hit:
            self.cache_hits.labels(model).inc()

    def render(self) -> tuple[bytes, Any]:
        from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

        return generate_latest(self.registry), CONTENT_TYPE_LATEST
