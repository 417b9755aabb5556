"""``modelward llm optimize-cost``: the runbook's cost strategies, each with its projected
monthly cost and quality, against a budget.

Inputs are measured, not assumed: cost per query and accuracy per query type come from
each endpoint's latest ``llm-evaluation`` run, the volume and the cache hit rate from the
``usage`` table (or ``--volume`` / ``--cache-hit-rate``). Strategies:

- ``current``: the routing table as it is;
- ``cheaper-model``: per query type, the cheapest evaluated model that still meets the
  type's thresholds;
- ``tuning``: cap ``max_tokens`` at the observed p95 of output tokens (answers that fit
  are unchanged; confirm with ``modelward llm tune --params max_tokens``);
- ``caching``: the measured (or given) cache hit rate removes that share of paid calls;
- ``batching``: the batch APIs of OpenAI and Anthropic charge half price; applies to the
  ``--batch-share`` of traffic that can wait;
- ``combined``: all of the above.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.llm.routing import current_routes
from modelward.llm.usage import usage_summary

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["BATCH_DISCOUNT", "CostPlan", "optimize_cost"]

BATCH_DISCOUNT = 0.5


@dataclass
class CostPlan:
    budget: float
    volume: int
    strategies: list[dict[str, Any]]

    @property
    def within_budget(self) -> list[dict[str, Any]]:
        return [s for s in self.strategies if s["monthly_cost"] <= self.budget]

    def to_dict(self) -> dict[str, Any]:
        return {"budget": self.budget, "volume": self.volume, "strategies": self.strategies}


def _latest_evaluations(ws: Workspace) -> dict[str, dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for run in ws.registry.list_runs(kinds=["llm-evaluation"]):
        ref = f"{run.model}:{run.version}"
        out.setdefault(ref, run.results)  # newest first
    return out


def _per_query(results: dict[str, Any], query_type: str) -> tuple[float | None, float | None]:
    metrics = results.get("by_category", {}).get(query_type)
    if not metrics:
        return None, None
    return metrics["cost"]["per_query"]["value"], metrics["accuracy"]["value"]


def _eligible(ws: Workspace, results: dict[str, Any], query_type: str) -> bool:
    checks = results.get("checks", [])
    return all(
        c["passed"]
        for c in checks
        if c["check"].endswith(f"[{query_type}]") or "[" not in c["check"]
    )


def optimize_cost(
    ws: Workspace,
    *,
    budget: float,
    volume: int | None = None,
    cache_hit_rate: float | None = None,
    batch_share: float = 0.0,
) -> CostPlan:
    import numpy as np

    if budget <= 0:
        raise ConfigError(
            f"--budget must be a positive amount of dollars, got {budget:g}", field="budget"
        )
    if not 0 <= batch_share <= 1:
        raise ConfigError(
            f"--batch-share must be between 0 and 1, got {batch_share:g}", field="batch_share"
        )
    if cache_hit_rate is not None and not 0 <= cache_hit_rate < 1:
        raise ConfigError(
            f"--cache-hit-rate must be in [0, 1), got {cache_hit_rate:g}", field="cache_hit_rate"
        )
    table = current_routes(ws)
    if table is None or not table.routes:
        raise ConfigError(
            "no routing table yet; run `modelward llm select --dataset FILE --apply` first",
            field="routes",
        )
    usage = usage_summary(ws.db, days=30)
    requests = sum(u["requests"] for u in usage)
    if volume is None:
        if not requests:
            raise ConfigError(
                "no usage recorded in the last 30 days; pass --volume QUERIES_PER_MONTH",
                field="volume",
            )
        volume = requests
    if volume < 1:
        raise ConfigError(f"--volume must be at least 1, got {volume}", field="volume")
    if cache_hit_rate is None:
        hits = sum(u["cache_hits"] for u in usage)
        cache_hit_rate = hits / requests if requests else 0.0
    evaluations = _latest_evaluations(ws)
    query_types = sorted(table.routes)
    share = volume / len(query_types)

    def project(choice: dict[str, str], factor: float = 1.0) -> tuple[float, float | None]:
        cost, quality, weights = 0.0, 0.0, 0
        for query_type, ref in choice.items():
            per_query, accuracy = _per_query(evaluations.get(ref, {}), query_type)
            cost += (per_query or 0.0) * share * factor
            if accuracy is not None:
                quality += accuracy
                weights += 1
        return cost, (quality / weights if weights else None)

    current = {q: table.models_for(q)[0] for q in query_types}
    cheaper: dict[str, str] = {}
    for query_type in query_types:
        options = []
        for ref, results in evaluations.items():
            per_query, _ = _per_query(results, query_type)
            if per_query is not None and _eligible(ws, results, query_type):
                options.append((per_query, ref))
        cheaper[query_type] = min(options)[1] if options else current[query_type]
    # max_tokens cap at the observed p95 of output tokens: output cost above it is saved
    saved = []
    for query_type, ref in current.items():
        items = [
            i
            for i in evaluations.get(ref, {}).get("items", [])
            if i["category"] == query_type and i["error"] is None
        ]
        if items:
            out = np.array([i["output_tokens"] for i in items], dtype=float)
            cap = float(np.percentile(out, 95))
            saved.append(float(np.minimum(out, cap).sum() / out.sum()) if out.sum() else 1.0)
    tuning_factor = float(np.mean(saved)) if saved else 1.0
    cache_factor = 1 - cache_hit_rate
    batch_factor = 1 - batch_share * BATCH_DISCOUNT
    plans = [
        ("current", current, 1.0, "the routing table as it is"),
        ("cheaper-model", cheaper, 1.0, "cheapest model meeting each type's thresholds"),
        ("tuning", current, tuning_factor, "max_tokens capped at observed p95 output tokens"),
        ("caching", current, cache_factor, f"cache hit rate {cache_hit_rate:.0%}"),
        ("batching", current, batch_factor, f"{batch_share:.0%} of traffic at batch price"),
        ("combined", cheaper, tuning_factor * cache_factor * batch_factor, "all of the above"),
    ]
    strategies = []
    for name, choice, factor, detail in plans:
        cost, quality = project(choice, factor)
        strategies.append(
            {
                "strategy": name,
                "monthly_cost": cost,
                "quality": quality,
                "models": choice,
                "detail": detail,
                "within_budget": cost <= budget,
            }
        )
    return CostPlan(budget, volume, strategies)
