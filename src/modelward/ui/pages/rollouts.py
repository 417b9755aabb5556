"""Rollouts: live and past canaries, and one rollout's analysis, plan, weights and actions.

``/ui/rollouts`` lists rollouts (newest first, a page at a time, filtered by state or
model). ``/ui/rollouts/{id}`` is one rollout as the controller saw it (the Argo Rollouts
analysis view): the latest judgement of each stage with every check's canary and stable
value, limit, test and p-value; the decisions a page at a time (the runs
:meth:`RolloutEngine._record` stores: kind ``rollout``, ``inputs.rollout`` its id); the
canary's weight over time from the rollout's history events; the plan it froze at start.

The actions (POST ``/ui/rollouts/{id}/pause|resume|advance|abort``, ``reason`` in the
form) call the engine's own methods, as ``modelward rollout pause|resume|advance|abort``
does, so history records them alike. The CLI names a rollout by model and environment;
the page by id, so an action on a rollout that is no longer live is refused here (it
would otherwise reach the model's newer rollout).
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from modelward.errors import ConflictError, NotFound, RequestError
from modelward.rollout.records import LIVE, TERMINAL
from modelward.store.plain import json_value, moment
from modelward.timeutil import format_duration, utcnow
from modelward.ui.render import chart_values
from modelward.ui.view import Page, PageRoute, Redirect, View

__all__ = ["ROUTES", "json_int"]

#: ?state= choices of the list: "live" is running or paused.
STATES = ("live", *LIVE, *TERMINAL)
ACTIONS = ("pause", "resume", "advance", "abort")
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
HISTORY_ROWS = 50
DECISIONS_PAGE = 20
REASON_MAX = 500
#: The test behind each check's p-value (modelward.rollout.judge).
TESTS = {
    "error_rate": "binomial vs limit; two-proportion z vs stable",
    "p95_latency_ms": "Mann-Whitney U vs stable",
    "accuracy": "binomial vs limit; two-proportion z vs stable",
    "abs_error_increase": "Welch's t vs stable",
    "cost_increase": "Welch's t vs stable",
    "p95_latency_ratio": "Mann-Whitney U vs stable",
    "satisfaction": "one-sample t vs floor; Welch's t vs stable",
}
_ID = re.compile(r"[0-9]{1,18}")


def json_int(dialect: str, column: str, key: str) -> str:
    """SQL for the integer at ``key`` of the JSON ``column`` (``key``: a constant)."""
    if dialect == "sqlite":
        return f"CAST(json_extract({column}, '$.{key}') AS INTEGER)"
    return f"CAST(({column} ->> '{key}') AS INTEGER)"


def json_length(dialect: str, column: str, key: str) -> str:
    """SQL for the length of the JSON array at ``key`` of ``column`` (``key``: a constant)."""
    if dialect == "sqlite":
        return f"json_array_length({column}, '$.{key}')"
    return f"json_array_length({column} -> '{key}')"


def rollout_id(text: str | None) -> int:
    """A rollout id from the path; NotFound for anything but a positive whole number."""
    if text is None or not _ID.fullmatch(text) or int(text) == 0:
        shown = (text or "")[:40]
        raise NotFound(f"no rollout {shown!r}: a rollout id is a number; see /ui/rollouts")
    return int(text)


# -- the list -----------------------------------------------------------------------------


def rollouts(view: View) -> Page:
    limit, offset = view.paging()
    state = view.arg("state")
    if state is not None and state not in STATES:
        raise RequestError(
            f"?state= must be one of {', '.join(STATES)}, not {state[:30]!r}", field="state"
        )
    model = view.arg("model")
    where, params = [], {"limit": limit, "offset": offset}
    if state is not None:
        chosen = LIVE if state == "live" else (state,)
        where.append("r.state IN (" + ", ".join(f"'{s}'" for s in chosen) + ")")
    with view.ws.sql.snapshot() as run:
        if model is not None:
            found = run("SELECT id FROM models WHERE name = :name", {"name": model})
            if not found:
                raise NotFound(f"no model {model[:60]!r}; see /ui/")
            where.append("r.model_id = :model")
            params["model"] = found[0][0]
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
        "weight": _weight(state, stages, index),
        "created_at": moment(created),
        "created_by": by,
        "updated_at": moment(updated),
    }


def _weight(state: str, stages: list[dict[str, Any]], index: int) -> float:
    """The canary's share now (as :attr:`RolloutInfo.weight` says)."""
    if state == "promoted":
        return 100.0
    if state in ("rolled-back", "aborted"):
        return 0.0
    return float(stages[index]["weight"]) if 0 <= index < len(stages) else 0.0


# -- one rollout --------------------------------------------------------------------------


def rollout(view: View) -> Page:
    ident = rollout_id(view.params.get("id"))
    page = view.number("page", 1, high=100_000)
    offset = (page - 1) * DECISIONS_PAGE
    sql = view.ws.sql
    with sql.snapshot() as run:
        info = _one(run, ident)
        decisions, more, stages = _decisions(run, sql.dialect, info, offset)
        events = _events(run, sql.dialect, info)
    shown = events[::-1][:HISTORY_ROWS]
    return Page(
        "rollout.html.j2",
        f"Rollout #{ident} of {info['model']}",
        {
            "r": info,
            "plan": _plan(info),
            "analysis": stages,
            "decisions": decisions,
            "page": page,
            "more": more,
            "history": shown,
            "weights": _weights(info, events),
            "actions": _actions(info),
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
        "stage": index + 1, "stages": len(stages), "weight": _weight(state, stages, index),
        "stage_started_at": moment(since), "failures": failures, "plan": plan,
        "details": json_value(details) or {}, "created_at": moment(created),
        "created_by": by, "updated_at": moment(updated),
    }  # fmt: skip


def _bounds(run: Any, table: str, info: dict[str, Any]) -> dict[str, Any]:
    """The id range of ``table``'s rows written during the rollout's life (with a minute
    either side for clocks and commits out of step): two index lookups on ``created_at``,
    so reading its decisions never walks the model's other runs."""
    margin = timedelta(minutes=1)
    first = run(
        f"SELECT id FROM {table} WHERE created_at >= :at ORDER BY created_at, id LIMIT 1",
        {"at": info["created_at"] - margin},
    )
    bounds = {"low": first[0][0] if first else 2**62, "high": 2**62}
    if not info["live"]:
        after = run(
            f"SELECT id FROM {table} WHERE created_at > :at ORDER BY created_at, id LIMIT 1",
            {"at": info["updated_at"] + margin},
        )
        if after:
            bounds["high"] = after[0][0]
    return bounds


def _decisions(
    run: Any, dialect: str, info: dict[str, Any], offset: int
) -> tuple[list[dict[str, Any]], bool, list[dict[str, Any]]]:
    """A page of the rollout's decisions (newest first), whether older ones follow, and
    the latest judged decision of each stage it reached."""
    # the kind index with an id range; "+" keeps the planner off the model_id index
    match = (
        "FROM runs r WHERE r.kind = 'rollout' AND r.id >= :low AND r.id <= :high "
        f"AND +r.model_id = :model AND {json_int(dialect, 'r.inputs', 'rollout')} = :id"
    )
    params = {"model": info["model_id"], "id": info["id"], **_bounds(run, "runs", info)}
    columns = "SELECT r.id, r.created_at, r.inputs, r.results, r.verdict, r.actor "
    rows = run(
        f"{columns}{match} ORDER BY r.id DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": DECISIONS_PAGE + 1, "offset": offset},
    )
    judged = (
        f"{columns}{match} AND {json_int(dialect, 'r.inputs', 'stage')} = :stage "
        f"AND {json_length(dialect, 'r.results', 'checks')} > 0 ORDER BY r.id DESC LIMIT 1"
    )
    reached = info["stages"] if not info["live"] else info["stage"]
    stages = [
        _decision(found[0])
        for stage in range(1, reached + 1)
        if (found := run(judged, {**params, "stage": stage}))
    ]
    return [_decision(row) for row in rows[:DECISIONS_PAGE]], len(rows) > DECISIONS_PAGE, stages


def _decision(row: tuple[Any, ...]) -> dict[str, Any]:
    run_id, created, inputs, results, verdict, actor = row
    inputs, results = json_value(inputs) or {}, json_value(results) or {}
    checks = [
        {**check, "test": TESTS.get(str(check.get("name", "")).split("[")[0], "")}
        for check in results.get("checks") or []
        if isinstance(check, dict)
    ]
    return {
        "id": run_id,
        "at": moment(created),
        "stage": inputs.get("stage"),
        "weight": inputs.get("weight"),
        "action": results.get("action"),
        "reason": results.get("reason"),
        "failures": results.get("failures"),
        "verdict": verdict,
        "actor": actor,
        "checks": checks,
        "canary": results.get("canary") or {},
        "stable": results.get("stable") or {},
        "elapsed": results.get("elapsed_s"),
    }


def _events(run: Any, dialect: str, info: dict[str, Any]) -> list[dict[str, Any]]:
    """The rollout's history events (the last :data:`CHART_POINTS`), oldest first."""
    kinds = ", ".join(f"'{k}'" for k in HISTORY_EVENTS)
    rows = run(
        "SELECT e.id, e.created_at, e.kind, e.actor, e.reason, e.details FROM events e "
        "WHERE e.id >= :low AND e.id <= :high AND +e.model_id = :model "
        f"AND e.kind IN ({kinds}) AND {json_int(dialect, 'e.details', 'rollout')} = :id "
        "ORDER BY e.id DESC LIMIT :limit",
        {
            "model": info["model_id"],
            "id": info["id"],
            "limit": CHART_POINTS,
            **_bounds(run, "events", info),
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


def _weights(info: dict[str, Any], events: list[dict[str, Any]]) -> dict[str, Any]:
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


def _plan(info: dict[str, Any]) -> dict[str, Any]:
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


def _actions(info: dict[str, Any]) -> list[dict[str, Any]]:
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


# -- actions ------------------------------------------------------------------------------


def act(view: View) -> Redirect:
    """pause | resume | advance | abort: the engine's method the CLI command calls."""
    action = view.params.get("action", "")
    if action not in ACTIONS:
        raise NotFound(
            f"no rollout action {action[:30]!r}; use one of {', '.join(ACTIONS)}", field="action"
        )
    ident = rollout_id(view.params.get("id"))
    reason = _reason(view)
    with view.ws.sql.snapshot() as run:
        found = run(
            "SELECT m.name, r.environment, r.state FROM rollouts r JOIN models m "
            "ON r.model_id = m.id WHERE r.id = :id",
            {"id": ident},
        )
    if not found:
        raise NotFound(f"no rollout #{ident}; see /ui/rollouts")
    model, env, state = found[0]
    if state not in LIVE:
        raise ConflictError(
            f"rollout #{ident} of {model!r} is {state}; only a running or paused rollout "
            f"can {action}"
        )
    from modelward.rollout.engine import RolloutEngine  # what `modelward rollout` uses

    engine = RolloutEngine(view.ws)
    method = getattr(engine, action)
    method(model, env=env, reason=reason, actor=_actor(view))
    return Redirect(f"/ui/rollouts/{ident}")


def _reason(view: View) -> str:
    reason = " ".join(str(view.form.get("reason", "")).split())
    if len(reason) > REASON_MAX:
        raise RequestError(
            f"the reason is {len(reason)} characters; keep it under {REASON_MAX}", field="reason"
        )
    return reason


def _actor(view: View) -> str | None:
    """Who acted: the token's name; None (the CLI's ``user@host``) on a loopback server
    without tokens, where whoever acts is a local user as at the CLI."""
    return None if view.viewer == "loopback" else view.viewer


ROUTES = [
    PageRoute("/rollouts", rollouts),
    PageRoute("/rollouts/{id}", rollout),
    PageRoute("/rollouts/{id}/{action}", act, action=True),
]
