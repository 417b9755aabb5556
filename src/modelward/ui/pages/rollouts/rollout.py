"""``/ui/rollouts/{id}``: one rollout as the controller saw it (the Argo Rollouts analysis
view): the latest judgement of each stage, the decisions a page at a time, the canary's
weight over time and the plan it froze at start."""

from __future__ import annotations

from typing import Any

from modelward.errors import NotFound
from modelward.rollout.records import LIVE
from modelward.store.plain import json_value, moment
from modelward.ui.pages.rollouts.decisions import decision_rows
from modelward.ui.pages.rollouts.lookup import DECISIONS_PAGE, REASON_MAX, canary_weight, rollout_id
from modelward.ui.pages.rollouts.plan import allowed_actions, frozen_plan
from modelward.ui.pages.rollouts.weights import history_events, weight_chart
from modelward.ui.view import Page, View

__all__ = ["rollout"]


#: Rows of the rollout's history shown at most.
HISTORY_ROWS = 50


def rollout(view: View) -> Page:
    ident = rollout_id(view.params.get("id"))
    page = view.number("page", 1, high=100_000)
    offset = (page - 1) * DECISIONS_PAGE
    sql = view.ws.sql
    with sql.snapshot() as run:
        info = _one(run, ident)
        decisions, more, stages = decision_rows(run, sql.dialect, info, offset)
        events = history_events(run, sql.dialect, info)
    shown = events[::-1][:HISTORY_ROWS]
    return Page(
        "rollout.html.j2",
        f"Rollout #{ident} of {info['model']}",
        {
            "r": info,
            "plan": frozen_plan(info),
            "analysis": stages,
            "decisions": decisions,
            "page": page,
            "more": more,
            "history": shown,
            "weights": weight_chart(info, events),
            "actions": allowed_actions(info),
            "reason_max": REASON_MAX,
        },
    )


def _one(run: Any, ident: int) -> dict[str, Any]:
    found = run(
        "SELECT r.id, m.name, m.task, r.environment, r.canary_version, r.stable_version, "
        "r.state, r.stage_index, r.stage_started_at, r.failures, r.plan, r.details, "
        "r.created_at, r.created_by, r.updated_at, r.model_id FROM rollouts r "
        "JOIN models m ON r.model_id = m.id WHERE r.id = :id",
        {"id": ident},
    )
    if not found:
        raise NotFound(f"no rollout #{ident}; see /ui/rollouts")
    (rid, model, task, env, canary, stable, state, index, since, failures, plan, details,
     created, by, updated, model_id) = found[0]  # fmt: skip
    plan = json_value(plan) or {}
    stages = plan.get("stages") or []
    return {
        "id": rid, "model": model, "model_id": model_id, "task": task, "environment": env,
        "canary": canary, "stable": stable, "state": state, "live": state in LIVE,
        "stage": index + 1, "stages": len(stages), "weight": canary_weight(state, stages, index),
        "stage_started_at": moment(since), "failures": failures, "plan": plan,
        "details": json_value(details) or {}, "created_at": moment(created),
        "created_by": by, "updated_at": moment(updated),
    }  # fmt: skip
