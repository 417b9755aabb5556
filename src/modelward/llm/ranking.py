"""Comparison and selection: paired tests, normalized weighted scores, thresholds as
hard constraints.

Each metric is min-max normalized to [0, 1] across the candidates *with its direction*
(:data:`modelward.llm.metrics.DIRECTIONS`): the best value maps to 1, the worst to 0, so
lower response time and lower cost score higher. (The runbook's sketch multiplied raw
values by the weights, which rewards slow, expensive models; we do not.) The score of a
model for a query type is the sum of ``weight × normalized metric`` with the policy's
weights for that type. A model that fails a threshold of the type (accuracy, response
time, cost per query) cannot be selected for it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.llm.metrics import DIRECTIONS
from modelward.stats import mcnemar, paired_bootstrap

if TYPE_CHECKING:
    from modelward.llm.evaluate import Evaluation
    from modelward.workspace import Workspace

__all__ = ["compare", "normalize", "rank"]

DEFAULT_WEIGHTS = {"accuracy": 0.5, "response_time": 0.3, "cost": 0.2}


def normalize(values: list[float | None], direction: str) -> list[float]:
    """Min-max to [0, 1], best = 1; all-equal -> 1; missing -> 0."""
    known = [v for v in values if v is not None]
    if not known:
        return [0.0 for _ in values]
    low, high = min(known), max(known)
    out = []
    for value in values:
        if value is None:
            out.append(0.0)
        elif high == low:
            out.append(1.0)
        elif direction == "higher":
            out.append((value - low) / (high - low))
        else:
            out.append((high - value) / (high - low))
    return out


def _num(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def _metric(metrics: dict[str, Any], name: str) -> float | None:
    if name == "response_time":
        value = metrics["response_time"]["mean"]["value"]
    elif name == "cost":
        value = metrics["cost"]["per_query"]["value"]
    else:
        value = metrics[name]["value"]
    return None if value is None else float(value)


def rank(ws: Workspace, evaluations: list[Evaluation], query_type: str) -> list[dict[str, Any]]:
    """Candidates for one query type, best first; ineligible ones last with the reason."""
    policy = ws.policy.llm
    weights = policy.weights.get(query_type, DEFAULT_WEIGHTS)
    present = [e for e in evaluations if query_type in e.by_category]
    columns = {
        name: normalize(
            [_metric(e.by_category[query_type], name) for e in present],
            DIRECTIONS.get(name, "higher"),
        )
        for name in weights
    }
    out: list[dict[str, Any]] = []
    for index, evaluation in enumerate(present):
        metrics = evaluation.by_category[query_type]
        failed = [
            c
            for c in evaluation.checks
            if not c["passed"] and (c["check"].endswith(f"[{query_type}]") or "[" not in c["check"])
        ]
        score = sum(w * columns[name][index] for name, w in weights.items())
        out.append(
            {
                "model": evaluation.ref,
                "score": score,
                "eligible": not failed,
                "failed": [
                    f"{c['check']} {_num(c['value'])} vs {_num(c['limit'])}" for c in failed
                ],
                "accuracy": _metric(metrics, "accuracy"),
                "response_time": _metric(metrics, "response_time"),
                "cost": _metric(metrics, "cost"),
                "normalized": {name: columns[name][index] for name in weights},
            }
        )
    out.sort(key=lambda r: (not r["eligible"], -float(r["score"]), str(r["model"])))
    return out


def compare(evaluations: list[Evaluation]) -> dict[str, Any]:
    """Every model against the first, paired on the same items: McNemar on correctness,
    paired bootstrap on latency (seconds) and cost."""
    import numpy as np

    base = evaluations[0]
    out: dict[str, Any] = {"baseline": base.ref, "pairs": []}
    for other in evaluations[1:]:
        by_id = {r["id"]: r for r in other.rows}
        pairs = [(r, by_id[r["id"]]) for r in base.rows if r["id"] in by_id]
        a_ok = np.array([p[0]["correct"] for p in pairs], dtype=bool)
        b_ok = np.array([p[1]["correct"] for p in pairs], dtype=bool)
        both = [(a, b) for a, b in pairs if a["error"] is None and b["error"] is None]
        lat_a = np.array([a["latency_ms"] / 1000 for a, _ in both])
        lat_b = np.array([b["latency_ms"] / 1000 for _, b in both])
        zeros = np.zeros(len(both))

        def mean_of(_truth: Any, values: Any) -> float:
            return float(np.mean(values))

        entry: dict[str, Any] = {
            "model": other.ref,
            "items": len(pairs),
            "accuracy": mcnemar(a_ok, b_ok).to_dict()
            | {
                "a": float(a_ok.mean()) if len(a_ok) else None,
                "b": float(b_ok.mean()) if len(b_ok) else None,
            },
            "response_time": paired_bootstrap(mean_of, zeros, lat_a, lat_b, resamples=500).to_dict()
            if len(both)
            else None,
        }
        costs = [
            (a["cost"], b["cost"])
            for a, b in both
            if a["cost"] is not None and b["cost"] is not None
        ]
        if costs:
            ca, cb = np.array([c[0] for c in costs]), np.array([c[1] for c in costs])
            entry["cost"] = paired_bootstrap(
                mean_of, np.zeros(len(costs)), ca, cb, resamples=500
            ).to_dict()
        out["pairs"].append(entry)
    return out
