"""The LLM fleet of a workspace: config, provider adapters, cached and priced calls."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import timedelta
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import modelward.llm.routing as routing
from modelward.llm.alerts import check_alerts
from modelward.llm.cache import DiskCache, cache_key
from modelward.llm.config import LLMConfig, load_config
from modelward.llm.cost import CostPlan
from modelward.llm.cost import optimize_cost as plan_cost
from modelward.llm.dataset import load_dataset
from modelward.llm.endpoints import register_endpoint
from modelward.llm.endpoints import resolve as resolve_endpoint
from modelward.llm.evaluate import evaluate as evaluate_models
from modelward.llm.health import health as check_health
from modelward.llm.pricing import cost_of
from modelward.llm.providers import make_provider
from modelward.llm.routing import RoutingTable
from modelward.llm.satisfaction import Satisfaction, satisfaction_stats
from modelward.llm.selection import Comparison, Selection, compare_models, select_models
from modelward.llm.tuning import parse_grid
from modelward.llm.tuning import tune as tune_endpoint
from modelward.llm.types import ChatResult, Endpoint, Message
from modelward.llm.usage import month_spend, usage_summary
from modelward.predlog.reader import Span

if TYPE_CHECKING:
    from modelward.llm.providers.base import Provider
    from modelward.predlog.reader import TimeRange
    from modelward.registry.records import VersionInfo
    from modelward.workspace import Workspace

__all__ = ["Call", "LLMFleet"]


@dataclass(frozen=True)
class Call:
    """One answered call: the result, its cost and whether the cache answered it."""

    result: ChatResult
    cost: float | None
    cached: bool


class LLMFleet:
    """``ws.llm``: everything the ``modelward llm`` commands use."""

    def __init__(self, ws: Workspace, *, config: LLMConfig | None = None) -> None:
        self.ws = ws
        self._config = config
        self._providers: dict[str, Provider] = {}

    @property
    def config_path(self) -> Path:
        return self.ws.layout.llm_config

    @property
    def config(self) -> LLMConfig:
        if self._config is None:
            self._config = load_config(self.config_path)
        return self._config

    @property
    def shared_state(self) -> dict[str, Any]:
        """Where the gateway keeps budgets and its response cache: ``redis_url`` (the
        password masked; None: in each process), ``source`` (``MODELWARD_REDIS_URL`` or
        ``llm.yml``) and the key ``prefix``. A bad URL is a ConfigError naming its key."""
        from modelward.llm.shared.url import ENV, resolve_url, shown

        configured = self.config.gateway.redis_url
        url = resolve_url(configured)
        source = None if url is None else (self.config_path.name if url == configured else ENV)
        return {
            "redis_url": None if url is None else shown(url),
            "source": source,
            "prefix": self.config.gateway.redis_prefix,
        }

    @cached_property
    def cache(self) -> DiskCache:
        return DiskCache(self.ws.layout.llm_cache)

    # -- registry -------------------------------------------------------------------------

    def register(self, name: str, *, provider: str, model: str, **options: Any) -> VersionInfo:
        return register_endpoint(
            self.ws, self.config, name, provider=provider, model=model, **options
        )

    def resolve(self, ref: str) -> Endpoint:
        return resolve_endpoint(self.ws, ref)

    def endpoints(self) -> list[VersionInfo]:
        """Every endpoint version in the registry."""
        out: list[VersionInfo] = []
        for model in self.ws.registry.list_models():
            if model.task == "text-generation":
                out.extend(
                    v for v in self.ws.registry.list_versions(model.name) if v.kind == "endpoint"
                )
        return out

    # -- the runbook, for Python callers (the CLI commands call the same functions) ----------

    def evaluate(self, models: list[str], dataset: str | Path, **options: Any) -> Any:
        """``modelward llm evaluate``: a list of :class:`~modelward.llm.evaluate.Evaluation`."""
        return evaluate_models(
            self.ws, models, load_dataset(dataset), dataset=str(dataset), **options
        )

    def compare(self, models: list[str], dataset: str | Path, **options: Any) -> Comparison:
        """``modelward llm compare``: the first model is the baseline of the pairs."""
        return compare_models(
            self.ws, models, load_dataset(dataset), dataset=str(dataset), **options
        )

    def select(self, dataset: str | Path, **options: Any) -> Selection:
        """``modelward llm select``; ``apply=True`` writes a routing revision."""
        return select_models(self.ws, load_dataset(dataset), dataset=str(dataset), **options)

    def tune(self, model: str, dataset: str | Path, params: str, **options: Any) -> Any:
        """``modelward llm tune``: ``params`` like ``"temperature,max_tokens"``."""
        grid = parse_grid(params, options.pop("grid", None))
        return tune_endpoint(
            self.ws, model, load_dataset(dataset), grid, dataset=str(dataset), **options
        )

    def health(self, providers: list[str] | None = None) -> list[dict[str, Any]]:
        return check_health(self.ws, providers)

    def routes(
        self, revision: int | None = None, *, environment: str = "production"
    ) -> RoutingTable | None:
        """The environment's current routing table (``None`` before the first), or one
        ``revision`` of it."""
        if revision is None:
            return routing.current_routes(self.ws, environment)
        return routing.get_revision(self.ws, revision, environment)

    def route_history(self, *, environment: str = "production") -> list[RoutingTable]:
        """Every revision of the environment's routing table, oldest first."""
        return routing.routing_history(self.ws, environment)

    def set_route(self, query_type: str, models: list[str], **options: Any) -> RoutingTable:
        """Set one query type's route by hand (``reason=`` is required): a new revision."""
        return routing.set_route(self.ws, query_type, models, **options)

    def revert_routes(
        self, revision: int, *, reason: str, environment: str = "production"
    ) -> RoutingTable:
        """Make an older revision current again (as a new revision)."""
        return routing.revert_routes(self.ws, revision, reason=reason, environment=environment)

    def usage(self, days: int = 30) -> dict[str, Any]:
        """Requests, tokens and spend per model version and API key over ``days`` (UTC
        days, today included), this month's spend, the policy's monthly budget, and
        ``satisfaction``: the users' ratings of those days' answers per model, version
        and query type (:meth:`satisfaction`, as dicts)."""
        from modelward.timeutil import utcnow

        today = utcnow().replace(hour=0, minute=0, second=0, microsecond=0)
        span = Span(today - timedelta(days=days - 1), today + timedelta(days=1))
        return {
            "usage": usage_summary(self.ws.db, days=days),
            "month_spend": month_spend(self.ws.db),
            "monthly_budget": self.ws.policy.llm.monthly_budget,
            "satisfaction": [s.to_dict() for s in self.satisfaction(span)],
        }

    def satisfaction(
        self,
        span: TimeRange,
        *,
        model: str | None = None,
        environment: str | None = None,
        version: int | None = None,
    ) -> list[Satisfaction]:
        """Users' ratings of the answers given in ``span`` per model, version and query
        type, from the prediction log (:func:`~modelward.llm.satisfaction.satisfaction_stats`)."""
        return satisfaction_stats(
            self.ws.logs_url, span, model=model, environment=environment, version=version
        )

    def optimize_cost(self, *, budget: float, **options: Any) -> CostPlan:
        return plan_cost(self.ws, budget=budget, **options)

    def alerts(self) -> list[dict[str, Any]]:
        return check_alerts(self.ws)

    # -- calls ----------------------------------------------------------------------------

    def provider(self, name: str) -> Provider:
        """The adapter for a configured provider (one per fleet and event loop)."""
        if name not in self._providers:
            self._providers[name] = make_provider(name, self.config.provider(name))
        return self._providers[name]

    async def aclose(self) -> None:
        providers, self._providers = self._providers, {}
        await asyncio.gather(*(p.aclose() for p in providers.values()))

    def cost(self, endpoint: Endpoint, input_tokens: int, output_tokens: int) -> float | None:
        return cost_of(self.config, endpoint.provider, endpoint.model, input_tokens, output_tokens)

    async def call(
        self,
        endpoint: Endpoint,
        messages: list[Message],
        *,
        use_cache: bool = True,
        params: dict[str, Any] | None = None,
        limiter: Any = None,
    ) -> Call:
        """Ask ``endpoint``; an identical earlier call is answered from the disk cache."""
        rendered = endpoint.render(messages)
        merged = {**endpoint.params, **(params or {})}
        key = cache_key(endpoint.provider, endpoint.model, merged, rendered)
        if use_cache:
            hit = self.cache.get(key)
            if hit is not None:
                result = ChatResult(**hit)
                return Call(
                    result, self.cost(endpoint, result.input_tokens, result.output_tokens), True
                )
        if limiter is not None:  # only real calls count against a rate limit
            await limiter.wait()
        result = await self.provider(endpoint.provider).chat(endpoint.model, rendered, merged)
        if use_cache:
            self.cache.put(key, result.to_dict())
        return Call(result, self.cost(endpoint, result.input_tokens, result.output_tokens), False)
