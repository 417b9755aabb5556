"""Metrics of an evaluation and their direction, in one place.

Direction matters for ranking and thresholds: ``accuracy``, ``relevance`` and
``coherence`` are higher-is-better; ``response_time`` (seconds), ``cost`` (dollars per
query) and ``error_rate`` are lower-is-better.
"""

from __future__ import annotations

from typing import Any

from modelward.stats import bootstrap_ci

__all__ = ["DIRECTIONS", "percentile", "summarize"]

DIRECTIONS: dict[str, str] = {
    "accuracy": "higher",
    "relevance": "higher",
    "coherence": "higher",
    "response_time": "lower",
    "cost": "lower",
    "error_rate": "lower",
}


def percentile(values: Any, q: float) -> float | None:
    import numpy as np

    arr = np.asarray(values, dtype=float)
    return float(np.percentile(arr, q)) if len(arr) else None


def _ci(statistic: Any, values: list[float], seed: int = 0) -> dict[str, Any]:
    if not values:
        return {"value": None, "low": None, "high": None}
    interval = bootstrap_ci(statistic, values, resamples=500, seed=seed)
    return {"value": interval.value, "low": interval.low, "high": interval.high}


def summarize(rows: list[dict[str, Any]]) -> dict[str, Any]:
    """Metrics over per-item rows (each: correct, latency_ms, cost, tokens, error, ...)."""
    import numpy as np

    def p95(x: Any) -> float:
        return float(np.percentile(x, 95))

    ok = [r for r in rows if r["error"] is None]
    correct = [float(r["correct"]) for r in rows]  # an error counts as wrong
    latencies = [r["latency_ms"] / 1000 for r in ok]
    costs = [r["cost"] for r in ok if r["cost"] is not None]
    tokens = sum(r["input_tokens"] + r["output_tokens"] for r in ok)
    total_cost = float(sum(costs)) if costs else None
    return {
        "items": len(rows),
        "accuracy": _ci(np.mean, correct),
        "error_rate": _ci(np.mean, [float(r["error"] is not None) for r in rows]),
        "relevance": _ci(np.mean, [r["relevance"] for r in ok]),
        "coherence": _ci(np.mean, [r["coherence"] for r in ok]),
        "response_time": {
            "mean": _ci(np.mean, latencies),
            "median": percentile(latencies, 50),
            "p95": _ci(p95, latencies),
            "p99": percentile(latencies, 99),
        },
        "cost": {
            "total": total_cost,
            "per_query": _ci(np.mean, costs)
            if costs
            else {"value": None, "low": None, "high": None},
            "per_token": (total_cost / tokens) if total_cost is not None and tokens else None,
            "priced": len(costs) == len(ok),
        },
        "tokens": {
            "input": int(sum(r["input_tokens"] for r in ok)),
            "output": int(sum(r["output_tokens"] for r in ok)),
        },
        "cached": sum(1 for r in rows if r.get("cached")),
    }
