"""``modelward llm alerts``: the runbook's LLM alerts from the usage table and the log.

- budget: the month's spend against ``llm.monthly_budget`` (and each key's budget in
  llm.yml): warning at ``quota_warning`` (80 %), critical at ``quota_critical`` (90 %);
- cost increase: cost per request of the last 7 days against the 7 before, warning above
  ``cost_increase_alert`` (20 %);
- error rate: today's errors per request per model, critical above ``max_error_rate``;
- response time: each model's p95 latency over the last hour against its p95 over the
  7 days before (the normal): warning at 1.5x, critical at 2x;
- cost per query: calls in the last hour above ``max_cost_per_query`` (warning);
- rate limit: each provider's busiest minute in the last hour against its
  ``rate_limit_rpm`` in llm.yml, warning at 80 %, critical at 90 %.

Each is fired through :mod:`modelward.alerting` (stored in the ``alerts`` table,
deduplicated, sent to the sinks of ``policy.yml``); an open LLM alert that a check no longer
finds is resolved and its resolution sent — a budget alert when the spend is back under its
share (a new month, a raised budget). A check that could not look (no log yet) leaves its
alerts as they are.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from modelward.errors import ModelwardError
from modelward.llm.usage import month_spend
from modelward.predlog.engine import count_where
from modelward.predlog.reader import LogReader, Span
from modelward.store.tables import UsageRow
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["check_alerts"]


def _level(share: float, warning: float, critical: float) -> str | None:
    if share >= critical:
        return "critical"
    if share >= warning:
        return "warning"
    return None


def _budget_alerts(ws: Workspace) -> list[dict[str, Any]]:
    policy = ws.policy.llm
    out: list[dict[str, Any]] = []
    budgets: list[tuple[str, str | None, float]] = [("all keys", None, policy.monthly_budget)]
    budgets += [(k, k, b.monthly) for k, b in ws.llm.config.gateway.key_budgets.items()]
    for label, key, budget in budgets:
        if budget <= 0:
            continue
        spent = month_spend(ws.db, api_key=key)
        level = _level(spent / budget, policy.quota_warning, policy.quota_critical)
        if level:
            out.append(
                {
                    "check": "llm-budget",
                    "level": level,
                    "model": None,
                    "keys": [label],
                    "message": f"LLM spend of {label} is ${spent:.2f} of ${budget:g} "
                    f"({spent / budget:.0%}) this month",
                }
            )
    return out


def _usage_alerts(ws: Workspace) -> list[dict[str, Any]]:
    policy = ws.policy.llm
    today = utcnow().date()
    day = today.isoformat()
    recent = (today - timedelta(days=6)).isoformat()
    before = (today - timedelta(days=13)).isoformat()
    out: list[dict[str, Any]] = []
    with ws.db.session(readonly=True) as session:
        rows = session.execute(
            select(UsageRow.model, func.sum(UsageRow.requests), func.sum(UsageRow.errors))
            .where(UsageRow.day == day)
            .group_by(UsageRow.model)
        ).all()
        windows = {}
        for name, start, end in (("recent", recent, day), ("before", before, recent)):
            found = session.execute(
                select(
                    func.sum(UsageRow.cost), func.sum(UsageRow.requests - UsageRow.cache_hits)
                ).where(
                    UsageRow.day >= start,
                    UsageRow.day <= end if name == "recent" else UsageRow.day < end,
                )
            ).one()
            windows[name] = found
    for model, requests, errors in rows:
        if requests and errors / requests > policy.max_error_rate:
            out.append(
                {
                    "check": "llm-error-rate",
                    "level": "critical",
                    "model": model,
                    "message": f"{model}: error rate {errors / requests:.1%} today is above "
                    f"{policy.max_error_rate:.0%} ({errors} of {requests})",
                }
            )
    (cost_now, calls_now), (cost_then, calls_then) = windows["recent"], windows["before"]
    if calls_now and calls_then and cost_then:
        per_now, per_then = cost_now / calls_now, cost_then / calls_then
        increase = per_now / per_then - 1
        if increase > policy.cost_increase_alert:
            out.append(
                {
                    "check": "llm-cost-increase",
                    "level": "warning",
                    "model": None,
                    "message": f"LLM cost per request rose {increase:.0%} week over week "
                    f"(${per_then:.5f} -> ${per_now:.5f}); limit "
                    f"{policy.cost_increase_alert:.0%}",
                }
            )
    return out


def _latency_alerts(ws: Workspace) -> list[dict[str, Any]] | None:
    """None when there is no log to look at (yet) or it cannot be read."""
    log = LogReader(ws.logs_url)
    try:
        rows = _latency_rows(log, ws.policy.llm.max_cost_per_query)
    except ModelwardError:
        return None
    finally:
        log.close()
    if rows is None:
        return None
    policy = ws.policy.llm
    out: list[dict[str, Any]] = []
    for model, _recent, _normal, over, _ in rows:
        if over:
            out.append(
                {
                    "check": "llm-cost-per-query",
                    "level": "warning",
                    "model": model,
                    "message": f"{model}: {over} call(s) in the last hour cost more than "
                    f"${policy.max_cost_per_query:g}",
                }
            )
    out += _rate_alerts(ws, rows)
    for model, recent, normal, _, _ in rows:
        if recent is None or not normal:
            continue
        ratio = recent / normal
        level = _level(ratio, policy.latency_warning_factor, policy.latency_critical_factor)
        if level:
            out.append(
                {
                    "check": "llm-response-time",
                    "level": level,
                    "model": model,
                    "message": f"{model}: p95 response time {recent:.0f} ms in the last "
                    f"hour is {ratio:.1f}x its normal {normal:.0f} ms",
                }
            )
    return out


def _latency_rows(log: LogReader, limit: float) -> list[tuple[Any, ...]] | None:
    """Per model with LLM calls this week: (model, p95 latency of the last hour, p95 of
    the week before it, calls of the last hour costing more than ``limit``, calls in the
    busiest minute of the last hour); None when the log has no file at all."""
    now = utcnow()
    hour, week, end = now - timedelta(hours=1), now - timedelta(days=7), now + timedelta(days=1)
    recent, before = Span(hour, end), Span(week, hour)
    scans = [
        log.scan(None, span, status=("ok",), where=("query_type IS NOT NULL",))
        for span in (recent, before)
    ]
    if all(s.empty for s in scans) and not log.models():
        return None
    scans = [s if s.has("query_type") else s.only(files=()) for s in scans]  # LLM calls
    p95 = log.quantile("latency_ms", 0.95)
    costly = count_where(f"cost > {float(limit)!r}") if scans[0].has("cost") else "0"
    now_rows = log.aggregate(scans[0], ["model", p95, costly], group_by="model")
    normal = dict(log.aggregate(scans[1], ["model", p95], group_by="model"))
    minutes = log.aggregate(
        log.scan(None, recent),
        ["model", "count(*)"],
        group_by="model, date_trunc('minute', ts)",
    )
    busiest: dict[str, int] = {}
    for model, n in minutes:
        busiest[model] = max(busiest.get(model, 0), int(n))
    found = {m: (p, over) for m, p, over in now_rows}
    return [
        (m, found.get(m, (None, 0))[0], normal.get(m), found.get(m, (None, 0))[1], busiest.get(m))
        for m in sorted(set(found) | set(normal))
    ]


def _rate_alerts(ws: Workspace, rows: list[Any]) -> list[dict[str, Any]]:
    """Busiest minute of the last hour per provider vs its ``rate_limit_rpm``."""
    policy = ws.policy.llm
    providers: dict[str, str] = {}
    for info in ws.llm.endpoints():
        providers[info.model] = str(info.spec.get("provider"))
    per_provider: dict[str, int] = {}
    for model, *_, busiest in rows:
        provider = providers.get(model)
        if provider is not None and busiest:
            per_provider[provider] = per_provider.get(provider, 0) + int(busiest)
    out = []
    for provider, busiest in sorted(per_provider.items()):
        config = ws.llm.config.providers.get(provider)
        if config is None or not config.rate_limit_rpm:
            continue
        share = busiest / config.rate_limit_rpm
        level = _level(share, policy.quota_warning, policy.quota_critical)
        if level:
            out.append(
                {
                    "check": "llm-rate-limit",
                    "level": level,
                    "model": None,
                    "keys": [provider],
                    "message": f"provider {provider}: {busiest} calls in the busiest minute "
                    f"of the last hour, {share:.0%} of its {config.rate_limit_rpm}"
                    " rpm limit",
                }
            )
    return out


#: the checks each function makes (what it resolves when it finds nothing)
_CHECKS = (
    (("llm-budget",), _budget_alerts),
    (("llm-error-rate", "llm-cost-increase"), _usage_alerts),
    (("llm-cost-per-query", "llm-rate-limit", "llm-response-time"), _latency_alerts),
)


def check_alerts(ws: Workspace, *, store: bool = True) -> list[dict[str, Any]]:
    """The LLM alerts that hold now; with ``store``, fired (and the ones that no longer
    hold resolved) through the workspace's alerting. Sink failures are logged."""
    found: list[dict[str, Any]] = []
    looked: list[str] = []
    for checks, evaluate in _CHECKS:
        alerts = evaluate(ws)
        if alerts is not None:
            found += alerts
            looked += checks
    if store:
        _fire(ws, found, looked)
    return found


def _fire(ws: Workspace, found: list[dict[str, Any]], looked: list[str]) -> None:
    alerts = ws.alerting.alerts
    errors: list[str] = []
    firing = []
    for alert in found:
        info, failed = alerts.fire(
            source="llm", model=alert["model"], check=alert["check"], level=alert["level"],
            message=alert["message"], keys=alert.get("keys") or [alert["check"]],
        )  # fmt: skip
        firing.append(info.fingerprint)
        errors += failed
    errors += alerts.resolve_gone(looked, firing)[1]
    for error in errors:
        logging.getLogger("modelward.alerting").warning("alert not delivered: %s", error)
