"""``/ui/llm``: the fleet at a glance: the month's spend against the policy's budget and
each API key's budget (``gateway.key_budgets`` in llm.yml), the current routing table of an
environment (``?env=``) with the canary weight of each route, the endpoint rollouts with
their users' satisfaction as the rollout judge stored it, the providers llm.yml names and
the open LLM alerts."""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING, Any

from modelward.errors import ModelwardError
from modelward.redact import redact
from modelward.store.plain import in_list, json_value, moment
from modelward.timeutil import utcnow
from modelward.ui.pages.llm.daily import daily_usage, usage_chart
from modelward.ui.pages.llm.table import TABLE_COLUMNS, table_row
from modelward.ui.pages.llm.window import DEFAULT_DAYS, ENVIRONMENTS, environment, window_start
from modelward.ui.rows import rollout_row
from modelward.ui.sql import Json
from modelward.ui.view import Page, View

if TYPE_CHECKING:
    from modelward.llm.config import LLMConfig

__all__ = ["overview"]


ROLLOUTS_SHOWN = 10
ALERTS_SHOWN = 20
HEALTH_KIND = "llm-health"


def _config(view: View) -> tuple[LLMConfig | None, str | None]:
    """llm.yml when the workspace has one (``None`` otherwise), and why it could not be
    read (its loader's message, redacted)."""
    if not view.ws.layout.llm_config.exists():
        return None, None
    try:
        return view.ws.llm.config, None
    except ModelwardError as exc:
        return None, redact(exc.message)


def _providers(config: LLMConfig | None) -> list[dict[str, Any]]:
    """Name, protocol, whether required, the models it must list (no URL, no key)."""
    if config is None:
        return []
    return [
        {
            "name": name,
            "kind": provider.kind,
            "required": provider.required,
            "models": list(provider.models),
        }
        for name, provider in sorted(config.providers.items())
    ]


def overview(view: View) -> Page:
    env = environment(view)
    config, config_error = _config(view)
    policy = view.ws.policy.llm
    month = utcnow().strftime("%Y-%m")
    key_budgets = dict(sorted(config.gateway.key_budgets.items())) if config else {}
    with view.ws.sql.snapshot() as run:
        spent = _month_spend(run, month, list(key_budgets))
        table = _current_table(run, env)
        rollouts = _endpoint_rollouts(run)
        alerts = _alerts(run)
        health = _stored_health(run)
        endpoints = _endpoint_models(run)
        daily = daily_usage(run, window_start(DEFAULT_DAYS), "model")
    gauges = [_gauge("all keys", spent["total"], policy.monthly_budget, policy)]
    gauges += [
        _gauge(f"key {key}", spent["keys"].get(key, 0.0), budget.monthly, policy)
        for key, budget in key_budgets.items()
    ]
    return Page(
        "llm.html.j2",
        "LLM fleet",
        {
            "env": env,
            "environments": ENVIRONMENTS,
            "has_config": view.ws.layout.llm_config.exists(),
            "config_error": config_error,
            "month": month,
            "gauges": gauges,
            "quota": {"warning": policy.quota_warning, "critical": policy.quota_critical},
            "table": table,
            "rollouts": rollouts,
            "alerts": alerts,
            "providers": _providers(config),
            "health": health,
            "endpoints": endpoints,
            "spend_chart": usage_chart(
                daily, DEFAULT_DAYS, "cost", f"Spend per day, last {DEFAULT_DAYS} days", "$"
            ),
        },
    )


def _month_spend(run: Any, month: str, keys: list[str]) -> dict[str, Any]:
    """This UTC month's spend in all and per budgeted key (what the gateway enforces)."""
    span = {"first": f"{month}-01", "last": f"{month}-31"}
    total = run(
        "SELECT COALESCE(SUM(cost), 0) FROM usage WHERE day >= :first AND day <= :last", span
    )[0][0]
    per_key: dict[str, float] = {}
    if keys:
        listed, params = in_list("k", keys)
        per_key = {
            key: float(cost or 0)
            for key, cost in run(
                "SELECT api_key, SUM(cost) FROM usage WHERE day >= :first AND day <= :last "
                f"AND api_key IN {listed} GROUP BY api_key",
                {**span, **params},
            )
        }
    return {"total": float(total or 0), "keys": per_key}


def _gauge(label: str, spent: float, budget: float, policy: Any) -> dict[str, Any]:
    share = spent / budget if budget > 0 else None
    level = None
    if share is not None:
        if share >= policy.quota_critical:
            level = "critical"
        elif share >= policy.quota_warning:
            level = "warning"
    return {
        "label": label,
        "spent": spent,
        "budget": budget,
        "share": share,
        "level": level,
        "warning": budget * policy.quota_warning,
        "critical": budget * policy.quota_critical,
    }


def _current_table(run: Any, env: str) -> dict[str, Any] | None:
    rows = run(
        f"SELECT {TABLE_COLUMNS} FROM routing_tables WHERE environment = :env "
        "ORDER BY revision DESC LIMIT 1",
        {"env": env},
    )
    return table_row(rows[0]) if rows else None


def _endpoint_rollouts(run: Any) -> list[dict[str, Any]]:
    """The latest rollouts of endpoint models, each with its stage's canary weight and the
    users' satisfaction the rollout judge last stored for it."""
    rows = run(
        "SELECT r.id, m.id, m.name, r.environment, r.canary_version, r.stable_version, "
        "r.state, r.stage_index, r.plan, r.stage_started_at, r.updated_at FROM rollouts r "
        "JOIN models m ON r.model_id = m.id WHERE m.task = 'text-generation' "
        f"ORDER BY r.id DESC LIMIT {ROLLOUTS_SHOWN}"
    )
    out = []
    for rid, _mid, name, env, canary, stable, state, index, plan, started, updated in rows:
        out.append(
            {
                **rollout_row((rid, name, env, canary, stable, state, index, plan, started)),
                "updated": moment(updated),
                "satisfaction": None,
            }
        )
    if out:
        _attach_satisfaction(run, out, sorted({row[1] for row in rows}))
    return out


def _attach_satisfaction(run: Any, rollouts: list[dict[str, Any]], model_ids: list[int]) -> None:
    """The newest stored satisfaction check of each rollout (one with data first): the
    rollout's number is read in SQL, and only the shown rollouts' checks are decoded."""
    listed, params = in_list("m", model_ids)
    js = Json(run.dialect)
    wanted = {rollout["id"] for rollout in rollouts}
    found: dict[int, dict[str, Any]] = {}
    for run_id, rollout_id, stored in run(
        f"SELECT id, {js.integer('inputs', 'rollout')}, {js.extract('results', 'checks')} "
        f"FROM runs WHERE kind = 'rollout' AND model_id IN {listed} ORDER BY id DESC LIMIT 200",
        params,
    ):
        if (
            rollout_id not in wanted
            or rollout_id in found
            and found[rollout_id]["status"] != ("no-data")
        ):
            continue
        for check in json_value(stored) or []:
            if check.get("name") != "satisfaction":
                continue
            seen = found.get(rollout_id)
            if seen is None or (seen["status"] == "no-data" and check["status"] != "no-data"):
                found[rollout_id] = {**check, "run_id": run_id}
    for rollout in rollouts:
        rollout["satisfaction"] = found.get(rollout["id"])


def _alerts(run: Any) -> list[dict[str, Any]]:
    """The LLM checks' alerts: the open ones, then the latest resolved (two indexed reads)."""
    select = (
        'SELECT id, "check", level, message, first_at, last_at, count, resolved_at FROM alerts '
        'WHERE "check" LIKE :llm AND resolved_at IS {} NULL ORDER BY last_at DESC LIMIT :n'
    )
    rows = run(select.format(""), {"llm": "llm-%", "n": ALERTS_SHOWN})
    rows += run(select.format("NOT"), {"llm": "llm-%", "n": ALERTS_SHOWN - len(rows)})
    return [
        {
            "id": alert_id,
            "check": check,
            "level": level,
            "message": redact(message),
            "first": moment(first),
            "last": moment(last),
            "count": count,
            "resolved": moment(resolved) if resolved else None,
        }
        for alert_id, check, level, message, first, last, count, resolved in rows
    ]


def _stored_health(run: Any) -> dict[str, Any] | None:
    """The newest stored provider health run, if a command stored one (``llm health``
    itself asks the providers live and stores nothing; the page never asks them)."""
    rows = run(
        "SELECT id, results, verdict, created_at FROM runs WHERE kind = :kind "
        "ORDER BY id DESC LIMIT 1",
        {"kind": HEALTH_KIND},
    )
    if not rows:
        return None
    run_id, results, verdict, created_at = rows[0]
    results = json_value(results)
    providers = results.get("providers") if isinstance(results, dict) else results
    return {
        "id": run_id,
        "verdict": verdict,
        "at": moment(created_at),
        "providers": [p for p in providers or [] if isinstance(p, dict)][:50],
    }


def _endpoint_models(run: Any) -> list[dict[str, Any]]:
    rows = run(
        "SELECT m.name, COUNT(v.id), MAX(v.version) FROM models m JOIN model_versions v "
        "ON v.model_id = m.id WHERE m.task = 'text-generation' GROUP BY m.name "
        "ORDER BY m.name LIMIT 50"
    )
    production = run(
        "SELECT m.name, v.version FROM models m JOIN model_versions v ON v.model_id = m.id "
        "WHERE m.task = 'text-generation' AND v.stage = 'production' ORDER BY v.version "
        "LIMIT 200"
    )
    live: dict[str, list[int]] = defaultdict(list)
    for name, version in production:
        live[name].append(version)
    return [
        {"name": name, "versions": count, "latest": latest, "production": live.get(name, [])}
        for name, count, latest in rows
    ]
