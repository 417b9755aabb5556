"""``/ui/llm/evaluations``: the stored evaluation runs per query category against the
policy's thresholds."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.store.plain import in_list, json_value, moment
from modelward.ui.sql import Json
from modelward.ui.view import Page, View

if TYPE_CHECKING:
    pass

__all__ = ["evaluations"]


OTHER_RUN_KINDS = ("llm-comparison", "llm-selection", "llm-tuning")


def evaluations(view: View) -> Page:
    limit, offset = view.paging()
    policy = view.ws.policy.llm
    with view.ws.sql.snapshot() as run:
        metrics = Json(run.dialect).extract("r.results", "metrics")
        by_category = Json(run.dialect).extract("r.results", "by_category")
        total = run("SELECT COUNT(*) FROM runs WHERE kind = 'llm-evaluation'")[0][0]
        rows = run(
            f"SELECT r.id, m.name, r.version, r.verdict, r.created_at, r.actor, {metrics}, "
            f"{by_category} FROM runs r LEFT JOIN models m ON r.model_id = m.id "
            "WHERE r.kind = 'llm-evaluation' ORDER BY r.id DESC LIMIT :limit OFFSET :offset",
            {"limit": limit, "offset": offset},
        )
        listed, params = in_list("k", list(OTHER_RUN_KINDS))
        others = run(
            f"SELECT id, kind, inputs, verdict, created_at FROM runs WHERE kind IN {listed} "
            "ORDER BY id DESC LIMIT 20",
            params,
        )
    return Page(
        "llm_evaluations.html.j2",
        "LLM evaluations",
        {
            "runs": [_evaluation(row, policy) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
            "policy": {
                "accuracy": dict(policy.category_thresholds),
                "response_time": dict(policy.max_response_time_s),
                "max_cost_per_query": policy.max_cost_per_query,
                "max_error_rate": policy.max_error_rate,
            },
            "others": [
                {
                    "id": run_id,
                    "kind": kind.removeprefix("llm-"),
                    "models": (json_value(inputs) or {}).get("models") or [],
                    "verdict": verdict,
                    "at": moment(at),
                }
                for run_id, kind, inputs, verdict, at in others
            ],
        },
    )


def _value(metric: Any) -> float | None:
    """A stored metric: ``{"value", "low", "high"}`` or a bare number."""
    if isinstance(metric, dict):
        metric = metric.get("value")
    return float(metric) if isinstance(metric, int | float) else None


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    latency = metrics.get("response_time") or {}
    cost = metrics.get("cost") or {}
    return {
        "items": metrics.get("items"),
        "accuracy": _value(metrics.get("accuracy")),
        "error_rate": _value(metrics.get("error_rate")),
        "median": _value(latency.get("median")),
        "p95": _value(latency.get("p95")),
        "p99": _value(latency.get("p99")),
        "cost_per_query": _value(cost.get("per_query")),
        "cost_total": _value(cost.get("total")),
    }


def _evaluation(row: tuple[Any, ...], policy: Any) -> dict[str, Any]:
    run_id, model, version, verdict, at, actor, metrics, by_category = row
    categories = []
    for category, stored in sorted((json_value(by_category) or {}).items()):
        summary = _summary(stored or {})
        floor = policy.category_thresholds.get(category)
        ceiling = policy.max_response_time_s.get(category)
        accuracy, p95 = summary["accuracy"], summary["p95"]
        summary.update(
            category=category,
            floor=floor,
            ceiling=ceiling,
            accuracy_ok=None if floor is None or accuracy is None else accuracy >= floor,
            p95_ok=None if ceiling is None or p95 is None else p95 <= ceiling,
        )
        categories.append(summary)
    return {
        "id": run_id,
        "model": model,
        "version": version,
        "verdict": verdict,
        "at": moment(at),
        "actor": actor,
        "overall": _summary(json_value(metrics) or {}),
        "categories": categories,
    }
