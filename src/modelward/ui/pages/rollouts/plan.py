"""The plan a rollout froze at start, and the actions its state allows."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from modelward.timeutil import format_duration

__all__ = ["allowed_actions", "frozen_plan"]


def frozen_plan(info: dict[str, Any]) -> dict[str, Any]:
    plan = info["plan"]
    stages = []
    for number, stage in enumerate(plan.get("stages") or [], start=1):
        seconds = float(stage.get("seconds") or 0)
        stages.append(
            {
                "number": number,
                "weight": stage.get("weight"),
                "duration": format_duration(timedelta(seconds=seconds)) if seconds else "",
                "current": info["live"] and number == info["stage"],
            }
        )
    skip = "min_accuracy" if plan.get("task") == "regression" else "max_abs_error_increase"
    limits = [
        (label, plan[key], unit) for key, label, unit in _LIMITS if key in plan and key != skip
    ]
    interval = plan.get("check_interval_s")
    evaluation = plan.get("online_evaluation") or {}
    return {
        "stages": stages,
        "limits": limits,
        "interval": format_duration(timedelta(seconds=float(interval))) if interval else "",
        "routes": plan.get("routes") or [],
        "evaluation": str(evaluation.get("dataset", "")).rsplit("/", 1)[-1],
    }


_LIMITS = (
    ("min_samples", "canary requests before judging", ""),
    ("min_labels", "labels (or ratings) before judging quality", ""),
    ("max_error_rate", "maximum error rate", "ratio"),
    ("max_p95_latency_ms", "maximum p95 latency", "ms"),
    ("min_accuracy", "minimum accuracy", "ratio"),
    ("max_abs_error_increase", "maximum increase of mean absolute error", "ratio"),
    ("max_cost_increase", "maximum cost increase per query", "ratio"),
    ("latency_warning_factor", "p95 response time vs stable: warning at", "x"),
    ("latency_critical_factor", "p95 response time vs stable: critical at", "x"),
    ("latency_min_gap_ms", "smallest response-time gap that counts", "ms"),
    ("min_satisfaction", "minimum user satisfaction", ""),
    ("per_query_type", "judged per query type too", ""),
    ("failure_limit", "breaches before rolling back", ""),
    ("alpha", "significance level", ""),
    ("latency_effect_size", "latency effect size (P canary slower) that counts", ""),
)


def allowed_actions(info: dict[str, Any]) -> list[dict[str, Any]]:
    """The actions a live rollout takes now, as the page offers them."""
    if not info["live"]:
        return []
    stages = info["plan"].get("stages") or []
    nxt = info["stage"]  # the next stage's index (``stage`` counts from 1)
    last = nxt >= len(stages) or (
        stages[nxt]["weight"] >= 100 and stages[nxt]["seconds"] <= 0
    )  # as RolloutEngine._next decides: advancing from here promotes
    return [
        {"name": "pause", "label": "Pause", "hint": "hold the current split",
         "show": info["state"] == "running", "danger": False},
        {"name": "resume", "label": "Resume", "hint": "the stage's clock starts again",
         "show": info["state"] == "paused", "danger": False},
        {"name": "advance", "label": "Promote now" if last else "Advance",
         "hint": "skip the checks: next stage" + (" (promote)" if last else ""),
         "show": True, "danger": False},
        {"name": "abort", "label": "Abort", "hint": "all traffic back to the stable version",
         "show": True, "danger": True},
    ]  # fmt: skip
