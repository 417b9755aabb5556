"""The LLM fleet: routing, spend against budgets, evaluations, endpoint canaries, alerts.

``/ui/llm`` is the fleet at a glance: the month's spend against the policy's budget and
each API key's budget (``gateway.key_budgets`` in llm.yml), the current routing table of an
environment (``?env=``) with the canary weight of each route, the endpoint rollouts with
their users' satisfaction as the rollout judge stored it, the providers llm.yml names and
the open LLM alerts. ``/ui/llm/routes`` pages through the routing table's revisions,
``/ui/llm/usage`` charts requests and spend per model and API key by day (``?days=``), and
``/ui/llm/evaluations`` lists the stored evaluation runs per query category against the
policy's thresholds.

Every number comes from stored rows (``usage``, ``routing_tables``, ``runs``, ``rollouts``,
``alerts``), aggregated in SQL and LIMITed: a page never calls a provider, never re-runs a
check and never reads the prediction log. The usage window is the CLI's (``modelward llm
usage --days N``: UTC days, today included), so both show the same sums.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from modelward.errors import ModelwardError, RequestError
from modelward.redact import redact
from modelward.store.plain import in_list, json_value, moment
from modelward.timeutil import utcnow
from modelward.ui.render import chart_values
from modelward.ui.view import Page, PageRoute, View

if TYPE_CHECKING:
    from modelward.llm.config import LLMConfig

__all__ = ["ROUTES"]

ENVIRONMENTS = ("production", "staging")
DEFAULT_DAYS = 30
MAX_DAYS = 365
#: Models (or keys) drawn as their own series; the rest are summed as "other".
CHART_SERIES = 6
#: Usage groups a page reads at most (days x models); a window holds far fewer.
MAX_GROUPS = 20_000
ROLLOUTS_SHOWN = 10
ALERTS_SHOWN = 20
HEALTH_KIND = "llm-health"
OTHER_RUN_KINDS = ("llm-comparison", "llm-selection", "llm-tuning")
USAGE_FIELDS = ("requests", "errors", "cache_hits", "input_tokens", "output_tokens", "cost")


# -- query parameters -----------------------------------------------------------------------


def _environment(view: View) -> str:
    env = view.arg("env", "production") or "production"
    if env not in ENVIRONMENTS:
        raise RequestError(f"?env= must be production or staging, not {env[:20]!r}", field="env")
    return env


def _days(view: View) -> int:
    return view.number("days", DEFAULT_DAYS, low=1, high=MAX_DAYS)


def _since(days: int) -> str:
    """The first UTC day of a ``days`` window ending today (the CLI's window)."""
    return (utcnow() - timedelta(days=days - 1)).strftime("%Y-%m-%d")


def _part(dialect: str, column: str, key: str) -> str:
    """SQL for the object or array under ``key`` of a JSON column (``key`` is ours, never
    the request's)."""
    if dialect == "sqlite":
        return f"json_extract({column}, '$.{key}')"
    return f"({column} -> '{key}')"


# -- the config: providers and key budgets, never keys --------------------------------------


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


# -- /ui/llm --------------------------------------------------------------------------------


def overview(view: View) -> Page:
    env = _environment(view)
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
        daily = _daily(run, _since(DEFAULT_DAYS), "model")
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
            "spend_chart": _chart(
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


def _table(row: tuple[Any, ...]) -> dict[str, Any]:
    revision, routes, reason, source_run_id, created_at, created_by = row
    routes = json_value(routes) or {}
    return {
        "revision": revision,
        "reason": reason,
        "source_run_id": source_run_id,
        "created_at": moment(created_at),
        "created_by": created_by,
        "routes": [
            {
                "query_type": query_type,
                "models": list(route.get("models") or []),
                "canary": route.get("canary"),
            }
            for query_type, route in sorted(routes.items())
        ],
    }


TABLE_COLUMNS = "revision, routes, reason, source_run_id, created_at, created_by"


def _current_table(run: Any, env: str) -> dict[str, Any] | None:
    rows = run(
        f"SELECT {TABLE_COLUMNS} FROM routing_tables WHERE environment = :env "
        "ORDER BY revision DESC LIMIT 1",
        {"env": env},
    )
    return _table(rows[0]) if rows else None


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
        stages = (json_value(plan) or {}).get("stages") or []
        stage = stages[index] if 0 <= index < len(stages) else {}
        out.append(
            {
                "id": rid,
                "model": name,
                "environment": env,
                "canary": canary,
                "stable": stable,
                "state": state,
                "stage": index + 1,
                "stages": len(stages),
                "weight": stage.get("weight"),
                "since": moment(started),
                "updated": moment(updated),
                "satisfaction": None,
            }
        )
    if out:
        _attach_satisfaction(run, out, sorted({row[1] for row in rows}))
    return out


def _attach_satisfaction(run: Any, rollouts: list[dict[str, Any]], model_ids: list[int]) -> None:
    """The newest stored satisfaction check of each rollout (one with data first)."""
    listed, params = in_list("m", model_ids)
    checks = _part(run.dialect, "results", "checks")
    found: dict[int, dict[str, Any]] = {}
    for run_id, inputs, stored in run(
        f"SELECT id, inputs, {checks} FROM runs WHERE kind = 'rollout' AND model_id IN "
        f"{listed} ORDER BY id DESC LIMIT 200",
        params,
    ):
        rollout_id = (json_value(inputs) or {}).get("rollout")
        if not isinstance(rollout_id, int):
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


# -- usage by day ---------------------------------------------------------------------------


Daily = list[tuple[str, str, dict[str, Any]]]


def _daily(run: Any, since: str, by: str) -> Daily:
    """``(day, model or api_key, sums)`` per day from ``since``, newest first: one grouped
    scan of the window, at most :data:`MAX_GROUPS` groups (the oldest dropped)."""
    column = {"model": "model", "api_key": "api_key"}[by]
    sums = ", ".join(f"SUM({f})" for f in USAGE_FIELDS)
    return [
        (day, str(name), _sums({}, tuple(values)))
        for day, name, *values in run(
            f"SELECT day, {column}, {sums} FROM usage WHERE day >= :since "
            f"GROUP BY day, {column} ORDER BY day DESC, {column} LIMIT {MAX_GROUPS}",
            {"since": since},
        )
    ]


def _totals(daily: Daily, by: str) -> list[dict[str, Any]]:
    """The window's sums per model (or key), costliest first, from the daily groups."""
    totals: dict[str, dict[str, Any]] = {}
    for _day, name, sums in daily:
        entry = totals.setdefault(name, {by: name, **dict.fromkeys(USAGE_FIELDS, 0)})
        for field in USAGE_FIELDS:
            entry[field] += sums[field]
    return sorted(totals.values(), key=lambda t: (-t["cost"], t[by]))


def _chart(daily: Daily, days: int, what: str, title: str, unit: str) -> dict[str, Any]:
    """One series per model (or key) over every day of the window, zero on days without
    usage; beyond :data:`CHART_SERIES` names the rest are summed as "other"."""
    start = datetime.strptime(_since(days), "%Y-%m-%d").replace(tzinfo=UTC)
    position = {(start + timedelta(days=i)).strftime("%Y-%m-%d"): i for i in range(days)}
    totals: dict[str, float] = defaultdict(float)
    for _day, name, sums in daily:
        totals[name] += float(sums[what])
    named = sorted(totals, key=lambda n: (-totals[n], n))[:CHART_SERIES]
    series: dict[str, list[float | None]] = {n: [0.0] * days for n in named}
    for day, name, sums in daily:
        at = position.get(day)
        if at is None:
            continue
        key = name if name in series else "other"
        if key not in series:
            series[key] = [0.0] * days
        values = series[key]
        values[at] = (values[at] or 0.0) + float(sums[what])
    x = [(start + timedelta(days=i)).timestamp() for i in range(days)]
    return chart_values(x, series or {"total": [0.0] * days}, title=title, unit=unit)


def usage(view: View) -> Page:
    days = _days(view)
    limit, offset = view.paging()
    since = _since(days)
    sums = ", ".join(f"SUM({f})" for f in USAGE_FIELDS)
    with view.ws.sql.snapshot() as run:
        rows = run(
            f"SELECT model, version, api_key, {sums}, COUNT(*) OVER () FROM usage "
            "WHERE day >= :since GROUP BY model, version, api_key "
            "ORDER BY model, version, api_key LIMIT :limit OFFSET :offset",
            {"since": since, "limit": limit, "offset": offset},
        )
        if rows or offset == 0:
            total = rows[0][-1] if rows else 0
        else:  # past the last page: how many there are, for the pager
            total = run(
                "SELECT COUNT(*) FROM (SELECT 1 FROM usage WHERE day >= :since "
                "GROUP BY model, version, api_key) groups",
                {"since": since},
            )[0][0]
        daily_models = _daily(run, since, "model")
        daily_keys = _daily(run, since, "api_key")
    return Page(
        "llm_usage.html.j2",
        f"LLM usage, last {days} days",
        {
            "days": days,
            "since": since,
            "by_model": _totals(daily_models, "model")[:200],
            "by_key": _totals(daily_keys, "api_key")[:200],
            "rows": [
                _sums({"model": r[0], "version": r[1], "api_key": r[2]}, r[3:-1]) for r in rows
            ],
            "total": total,
            "limit": limit,
            "offset": offset,
            "partial": max(len(daily_models), len(daily_keys)) >= MAX_GROUPS,
            "charts": [
                ("llm-cost", _chart(daily_models, days, "cost", "Spend per model per day", "$")),
                (
                    "llm-requests",
                    _chart(daily_models, days, "requests", "Requests per model per day", ""),
                ),
                (
                    "llm-errors",
                    _chart(daily_models, days, "errors", "Errors per model per day", ""),
                ),
                (
                    "llm-key-cost",
                    _chart(daily_keys, days, "cost", "Spend per API key per day", "$"),
                ),
            ],
        },
    )


def _sums(head: dict[str, Any], values: tuple[Any, ...]) -> dict[str, Any]:
    """A usage group as the CLI prints it (``modelward llm usage --json``)."""
    out = dict(head)
    for name, value in zip(USAGE_FIELDS, values, strict=True):
        out[name] = float(value or 0) if name == "cost" else int(value or 0)
    return out


# -- /ui/llm/routes -------------------------------------------------------------------------


def routes(view: View) -> Page:
    env = _environment(view)
    limit, offset = view.paging()
    with view.ws.sql.snapshot() as run:
        total = run("SELECT COUNT(*) FROM routing_tables WHERE environment = :env", {"env": env})[
            0
        ][0]
        revisions = run(
            f"SELECT {TABLE_COLUMNS} FROM routing_tables WHERE environment = :env "
            "ORDER BY revision DESC LIMIT :limit OFFSET :offset",
            {"env": env, "limit": limit, "offset": offset},
        )
    return Page(
        "llm_routes.html.j2",
        f"LLM routing table revisions ({env})",
        {
            "env": env,
            "environments": ENVIRONMENTS,
            "revisions": [_table(row) for row in revisions],
            "total": total,
            "limit": limit,
            "offset": offset,
        },
    )


# -- /ui/llm/evaluations --------------------------------------------------------------------


def evaluations(view: View) -> Page:
    limit, offset = view.paging()
    policy = view.ws.policy.llm
    with view.ws.sql.snapshot() as run:
        metrics = _part(run.dialect, "r.results", "metrics")
        by_category = _part(run.dialect, "r.results", "by_category")
        total = run("SELECT COUNT(*) FROM runs WHERE kind = 'llm-evaluation'")[0][0]
        rows = run(
            f"SELECT r.id, m.name, r.version, r.verdict, r.created_at, r.actor, {metrics}, "
            f"{by_category} FROM runs r LEFT JOIN models m ON r.model_id = m.id "
            "WHERE r.kind = 'llm-evaluation' ORDER BY r.id DESC LIMIT :limit OFFSET :offset",
            {"limit": limit, "offset": offset},
        )
        listed, params = in_list("k", list(OTHER_RUN_KINDS))
        others = run(
            f"SELECT id, kind, inputs, verdict, created_at FROM runs WHERE kind IN {listed} "
            "ORDER BY id DESC LIMIT 20",
            params,
        )
    return Page(
        "llm_evaluations.html.j2",
        "LLM evaluations",
        {
            "runs": [_evaluation(row, policy) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
            "policy": {
                "accuracy": dict(policy.category_thresholds),
                "response_time": dict(policy.max_response_time_s),
                "max_cost_per_query": policy.max_cost_per_query,
                "max_error_rate": policy.max_error_rate,
            },
            "others": [
                {
                    "id": run_id,
                    "kind": kind.removeprefix("llm-"),
                    "models": (json_value(inputs) or {}).get("models") or [],
                    "verdict": verdict,
                    "at": moment(at),
                }
                for run_id, kind, inputs, verdict, at in others
            ],
        },
    )


def _value(metric: Any) -> float | None:
    """A stored metric: ``{"value", "low", "high"}`` or a bare number."""
    if isinstance(metric, dict):
        metric = metric.get("value")
    return float(metric) if isinstance(metric, int | float) else None


def _summary(metrics: dict[str, Any]) -> dict[str, Any]:
    latency = metrics.get("response_time") or {}
    cost = metrics.get("cost") or {}
    return {
        "items": metrics.get("items"),
        "accuracy": _value(metrics.get("accuracy")),
        "error_rate": _value(metrics.get("error_rate")),
        "median": _value(latency.get("median")),
        "p95": _value(latency.get("p95")),
        "p99": _value(latency.get("p99")),
        "cost_per_query": _value(cost.get("per_query")),
        "cost_total": _value(cost.get("total")),
    }


def _evaluation(row: tuple[Any, ...], policy: Any) -> dict[str, Any]:
    run_id, model, version, verdict, at, actor, metrics, by_category = row
    categories = []
    for category, stored in sorted((json_value(by_category) or {}).items()):
        summary = _summary(stored or {})
        floor = policy.category_thresholds.get(category)
        ceiling = policy.max_response_time_s.get(category)
        accuracy, p95 = summary["accuracy"], summary["p95"]
        summary.update(
            category=category,
            floor=floor,
            ceiling=ceiling,
            accuracy_ok=None if floor is None or accuracy is None else accuracy >= floor,
            p95_ok=None if ceiling is None or p95 is None else p95 <= ceiling,
        )
        categories.append(summary)
    return {
        "id": run_id,
        "model": model,
        "version": version,
        "verdict": verdict,
        "at": moment(at),
        "actor": actor,
        "overall": _summary(json_value(metrics) or {}),
        "categories": categories,
    }


ROUTES = [
    PageRoute("/llm", overview),
    PageRoute("/llm/routes", routes),
    PageRoute("/llm/usage", usage),
    PageRoute("/llm/evaluations", evaluations),
]
