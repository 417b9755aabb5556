"""``/ui/rollouts``: rollouts, newest first, a page at a time, filtered by state or model."""

from __future__ import annotations

from typing import Any

from modelward.rollout.records import LIVE, TERMINAL
from modelward.store.plain import json_value, moment
from modelward.ui.filters import choice, model_id
from modelward.ui.pages.rollouts.lookup import canary_weight
from modelward.ui.view import Page, View

__all__ = ["rollouts"]


#: ?state= choices of the list: "live" is running or paused.
STATES = ("live", *LIVE, *TERMINAL)


def rollouts(view: View) -> Page:
    limit, offset = view.paging()
    state = choice(view, "state", STATES)
    model = view.arg("model")
    where, params = [], {"limit": limit, "offset": offset}
    if state is not None:
        chosen = LIVE if state == "live" else (state,)
        where.append("r.state IN (" + ", ".join(f"'{s}'" for s in chosen) + ")")
    with view.ws.sql.snapshot() as run:
        if model is not None:
            where.append("r.model_id = :model")
            params["model"] = model_id(run, model)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = run(f"SELECT COUNT(*) FROM rollouts r{clause}", params)[0][0]
        rows = run(
            "SELECT r.id, m.name, r.environment, r.canary_version, r.stable_version, r.state, "
            "r.stage_index, r.plan, r.created_at, r.created_by, r.updated_at FROM rollouts r "
            f"JOIN models m ON r.model_id = m.id{clause} ORDER BY r.id DESC "
            "LIMIT :limit OFFSET :offset",
            params,
        )
    return Page(
        "rollouts.html.j2",
        "Rollouts",
        {
            "rollouts": [_listed(row) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
            "states": STATES,
            "state": state,
            "model": model,
        },
    )


def _listed(row: tuple[Any, ...]) -> dict[str, Any]:
    rollout, model, env, canary, stable, state, index, plan, created, by, updated = row
    stages = (json_value(plan) or {}).get("stages") or []
    return {
        "id": rollout,
        "model": model,
        "environment": env,
        "canary": canary,
        "stable": stable,
        "state": state,
        "stage": index + 1,
        "stages": len(stages),
        "weight": canary_weight(state, stages, index),
        "created_at": moment(created),
        "created_by": by,
        "updated_at": moment(updated),
    }
