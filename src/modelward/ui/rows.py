"""Stored rows more than one page shows alike: a rollout's (its stage of the plan it froze
and that stage's weight)."""

from __future__ import annotations

from typing import Any

from modelward.store.plain import json_value, moment

__all__ = ["rollout_row"]


def rollout_row(row: tuple[Any, ...]) -> dict[str, Any]:
    """``(id, model, environment, canary, stable, state, stage_index, plan, started)`` as
    the pages list a rollout."""
    rollout_id, model, environment, canary, stable, state, index, plan, started = row
    stages = (json_value(plan) or {}).get("stages") or []
    stage = stages[index] if 0 <= index < len(stages) else {}
    return {
        "id": rollout_id,
        "model": model,
        "environment": environment,
        "canary": canary,
        "stable": stable,
        "state": state,
        "stage": index + 1,
        "stages": len(stages),
        "weight": stage.get("weight"),
        "since": moment(started),
    }
