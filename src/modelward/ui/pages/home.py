"""Home: what is in production, is it healthy, what is moving.

Every model (a page of them) with its production and staging versions and the traffic
split of each environment, the last result of each monitoring check, open alerts by
severity, running rollouts with their stage, and the LLM spend this month against the
policy's budget. Five indexed queries, whatever the workspace's size.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from modelward.store.plain import json_value, moment
from modelward.timeutil import utcnow
from modelward.ui.rows import rollout_row
from modelward.ui.sql import Json
from modelward.ui.view import Page, PageRoute, View

__all__ = ["ROUTES"]


def home(view: View) -> Page:
    limit, offset = view.paging()
    sql = view.ws.sql
    with sql.snapshot() as run:
        total = run("SELECT COUNT(*) FROM models")[0][0]
        models = run(
            "SELECT id, name, task FROM models ORDER BY name LIMIT :limit OFFSET :offset",
            {"limit": limit, "offset": offset},
        )
        ids = {row[0]: row[1] for row in models}
        stages = _stages(run, ids)
        deployments = _deployments(run, ids)
        checks = _checks(run, ids, sql.dialect)
        routes = _routes(run)
        alerts = run("SELECT level, COUNT(*) FROM alerts WHERE resolved_at IS NULL GROUP BY level")
        rollouts = run(
            "SELECT r.id, m.name, r.environment, r.canary_version, r.stable_version, r.state, "
            "r.stage_index, r.plan, r.stage_started_at FROM rollouts r JOIN models m "
            "ON r.model_id = m.id WHERE r.state IN ('running', 'paused') ORDER BY r.id DESC "
            "LIMIT 20"
        )
        month = utcnow().strftime("%Y-%m")
        spend = run(
            "SELECT COALESCE(SUM(cost), 0) FROM usage WHERE day >= :first AND day <= :last",
            {"first": f"{month}-01", "last": f"{month}-31"},
        )[0][0]
    rows = [
        {
            "name": name,
            "task": task,
            "production": stages[model_id].get("production"),
            "staging": stages[model_id].get("staging"),
            "deployments": deployments.get(model_id, []),
            "routes": routes.get(name, []),
            "checks": checks.get(model_id, []),
        }
        for model_id, name, task in models
    ]
    budget = view.ws.policy.llm.monthly_budget
    return Page(
        "home.html.j2",
        "modelward",
        {
            "models": rows,
            "total": total,
            "limit": limit,
            "offset": offset,
            "alerts": {level: count for level, count in alerts},
            "rollouts": [rollout_row(row) for row in rollouts],
            "spend": {"month": month, "cost": float(spend or 0), "budget": budget},
        },
    )


def _stages(run: Any, ids: dict[int, str]) -> dict[int, dict[str, list[int]]]:
    out: dict[int, dict[str, list[int]]] = defaultdict(dict)
    if not ids:
        return out
    listed = ", ".join(str(int(i)) for i in ids)
    for model_id, stage, version in run(
        "SELECT model_id, stage, version FROM model_versions WHERE stage IN "
        f"('production', 'staging') AND model_id IN ({listed}) ORDER BY version"
    ):
        out[model_id].setdefault(stage, []).append(version)
    return out


def _deployments(run: Any, ids: dict[int, str]) -> dict[int, list[dict[str, Any]]]:
    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return out
    listed = ", ".join(str(int(i)) for i in ids)
    for model_id, environment, targets, revision in run(
        "SELECT model_id, environment, targets, revision FROM deployments "
        f"WHERE model_id IN ({listed}) ORDER BY environment"
    ):
        split = json_value(targets) or []
        out[model_id].append({"environment": environment, "targets": split, "revision": revision})
    return out


def _routes(run: Any) -> dict[str, list[str]]:
    """Where each endpoint model serves in the latest routing table of each environment:
    ``production factual #1`` (its rank), ``production factual canary v3 25 %``."""
    out: dict[str, list[str]] = defaultdict(list)
    for environment, routes in run(
        "SELECT t.environment, t.routes FROM routing_tables t JOIN (SELECT environment, "
        "MAX(revision) AS revision FROM routing_tables GROUP BY environment) latest "
        "ON t.environment = latest.environment AND t.revision = latest.revision "
        "ORDER BY t.environment"
    ):
        for query_type, route in sorted((json_value(routes) or {}).items()):
            for rank, ref in enumerate(route.get("models") or [], start=1):
                name, _, version = str(ref).rpartition(":")
                out[name].append(f"{environment} {query_type} #{rank} (v{version})")
            canary = route.get("canary") or {}
            if canary.get("model"):
                name, _, version = str(canary["model"]).rpartition(":")
                weight = float(canary.get("weight") or 0)
                out[name].append(f"{environment} {query_type} canary v{version} {weight:g} %")
    return out


def _checks(run: Any, ids: dict[int, str], dialect: str) -> dict[int, list[dict[str, Any]]]:
    """The latest run of each monitoring check of each model: one indexed ``MAX(id)``
    lookup per model and check (runs' (model_id, kind, id) index), and only the breaches
    read out of each run's results."""
    from modelward.monitoring.monitor import RUN_PREFIX, STORED

    out: dict[int, list[dict[str, Any]]] = defaultdict(list)
    if not ids:
        return out
    js = Json(dialect)
    listed = ", ".join(str(int(i)) for i in ids)
    kinds = " UNION ALL ".join(f"SELECT '{RUN_PREFIX}{name}' AS kind" for name in STORED)
    for run_id, model_id, kind, verdict, breaches, created_at in run(
        f"SELECT r.id, r.model_id, r.kind, r.verdict, {js.part('r.results', 'breaches')}, "
        "r.created_at FROM runs r WHERE r.id IN (SELECT (SELECT MAX(x.id) FROM runs x "
        f"WHERE x.model_id = m.id AND x.kind = k.kind) FROM models m, ({kinds}) k "
        f"WHERE m.id IN ({listed})) ORDER BY r.kind"
    ):
        out[model_id].append(
            {
                "id": run_id,
                "check": kind.removeprefix(RUN_PREFIX),
                "verdict": verdict,
                "breaches": js.value(breaches) or [],
                "at": moment(created_at),
            }
        )
    return out


ROUTES = [PageRoute("/", home)]
