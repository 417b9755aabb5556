"""A rollout's decisions (the runs :meth:`RolloutEngine._record` stores: kind ``rollout``,
``inputs.rollout`` its id): the latest judgement of each stage with every check's canary
and stable value, limit, test and p-value, and the decisions a page at a time."""

from __future__ import annotations

from typing import Any

from modelward.store.plain import json_value, moment
from modelward.ui.pages.rollouts.lookup import DECISIONS_PAGE, id_range
from modelward.ui.sql import Json

__all__ = ["decision_rows"]


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


def decision_rows(
    run: Any, dialect: str, info: dict[str, Any], offset: int
) -> tuple[list[dict[str, Any]], bool, list[dict[str, Any]]]:
    """A page of the rollout's decisions (newest first), whether older ones follow, and
    the latest judged decision of each stage it reached."""
    # the kind index with an id range; "+" keeps the planner off the model_id index
    match = (
        "FROM runs r WHERE r.kind = 'rollout' AND r.id >= :low AND r.id <= :high "
        f"AND +r.model_id = :model AND {Json(dialect).integer('r.inputs', 'rollout')} = :id"
    )
    params = {"model": info["model_id"], "id": info["id"], **id_range(run, "runs", info)}
    columns = "SELECT r.id, r.created_at, r.inputs, r.results, r.verdict, r.actor "
    rows = run(
        f"{columns}{match} ORDER BY r.id DESC LIMIT :limit OFFSET :offset",
        {**params, "limit": DECISIONS_PAGE + 1, "offset": offset},
    )
    judged = (
        f"{columns}{match} AND {Json(dialect).integer('r.inputs', 'stage')} = :stage "
        f"AND {Json(dialect).length('r.results', 'checks')} > 0 ORDER BY r.id DESC LIMIT 1"
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
