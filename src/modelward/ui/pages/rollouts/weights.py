"""A rollout's history events and the canary's weight over time drawn from them."""

from __future__ import annotations

from typing import Any

from modelward.store.plain import json_value, moment
from modelward.timeutil import utcnow
from modelward.ui.pages.rollouts.lookup import id_range
from modelward.ui.render import chart_values
from modelward.ui.sql import Json

__all__ = ["history_events", "weight_chart"]


#: Weight changes of a rollout, as its history events record them.
WEIGHT_EVENTS = (
    "rollout-started",
    "rollout-advanced",
    "rollout-promoted",
    "rollout-rolled-back",
    "rollout-aborted",
)
HISTORY_EVENTS = (*WEIGHT_EVENTS, "rollout-paused", "rollout-resumed")
#: Points of the weight chart and rows of the rollout's history at most.
CHART_POINTS = 500


def history_events(run: Any, dialect: str, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The rollout's history events (the last :data:`CHART_POINTS`), oldest first."""
    kinds = ", ".join(f"'{k}'" for k in HISTORY_EVENTS)
    rows = run(
        "SELECT e.id, e.created_at, e.kind, e.actor, e.reason, e.details FROM events e "
        "WHERE e.id >= :low AND e.id <= :high AND +e.model_id = :model "
        f"AND e.kind IN ({kinds}) AND {Json(dialect).integer('e.details', 'rollout')} = :id "
        "ORDER BY e.id DESC LIMIT :limit",
        {
            "model": info["model_id"],
            "id": info["id"],
            "limit": CHART_POINTS,
            **id_range(run, "events", info),
        },
    )
    out = []
    for event_id, created, kind, actor, reason, details in reversed(rows):
        details = json_value(details) or {}
        out.append(
            {
                "id": event_id,
                "at": moment(created),
                "kind": kind,
                "actor": actor,
                "reason": reason,
                "weight": details.get("weight"),
            }
        )
    return out


def weight_chart(info: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
    """The canary's and stable's share over time: a step at every weight change."""
    stages = info["plan"].get("stages") or [{"weight": 0.0}]
    x: list[float] = []
    canary: list[float | None] = []
    for event in events:
        weight = {
            "rollout-started": float(stages[0]["weight"]),
            "rollout-advanced": event["weight"],
            "rollout-promoted": 100.0,
            "rollout-rolled-back": 0.0,
            "rollout-aborted": 0.0,
        }.get(event["kind"])
        if weight is None:
            continue
        x.append(event["at"].timestamp())
        canary.append(float(weight))
    if not x:
        x, canary = [info["created_at"].timestamp()], [float(stages[0]["weight"])]
    end = utcnow() if info["live"] else info["updated_at"]
    if len(x) < 2 or info["live"]:
        x.append(max(end.timestamp(), x[-1] + 1))
        canary.append(float(info["weight"]))
    series = {f"v{info['canary']} (canary)": canary}
    if info["stable"] is not None:
        series[f"v{info['stable']} (stable)"] = [None if c is None else 100.0 - c for c in canary]
    return chart_values(
        x,
        series,
        title="Traffic share over time",
        unit="%",
        steps=True,
    )
