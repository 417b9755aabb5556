"""LLM alerts from the usage table and the prediction log, against policy thresholds."""

from __future__ import annotations

from datetime import timedelta

import pytest
import yaml

from modelward.llm.usage import UsageBuffer
from modelward.predlog import LogWriter
from modelward.store.tables import UsageRow
from modelward.timeutil import utcnow

pytestmark = pytest.mark.sqlite_only


def _set_policy(ws, **llm) -> None:
    path = ws.root / "policy.yml"
    policy = yaml.safe_load(path.read_text())
    policy.setdefault("llm", {}).update(llm)
    path.write_text(yaml.safe_dump(policy))
    ws.__dict__.pop("policy", None)


def _usage(ws, days_ago: int, *, requests: int, errors: int = 0, cost: float = 0.0) -> None:
    day = (utcnow() - timedelta(days=days_ago)).strftime("%Y-%m-%d")
    with ws.db.session() as session:
        session.add(
            UsageRow(
                day=day,
                api_key="-",
                model="good",
                version=1,
                requests=requests,
                errors=errors,
                cache_hits=0,
                input_tokens=0,
                output_tokens=0,
                cost=cost,
            )
        )


def test_no_usage_no_alerts(fleet, cli):
    ran = cli("llm", "alerts", "--json")
    assert ran.exit_code == 0 and ran.json == []


def test_budget_quota_warning_then_critical(fleet, cli):
    _set_policy(fleet, monthly_budget=1.0)
    buffer = UsageBuffer(fleet.db)
    buffer.add("-", "good", 1, cost=0.85)
    buffer.flush()
    ran = cli("llm", "alerts", "--json")
    assert ran.exit_code == 0
    assert [(a["check"], a["level"]) for a in ran.json] == [("llm-budget", "warning")]
    buffer.add("-", "good", 1, cost=0.07)
    buffer.flush()
    ran = cli("llm", "alerts")
    assert ran.exit_code == 1
    assert "$0.92 of $1 (92%)" in ran.stderr


def test_error_rate_and_cost_increase(fleet, cli):
    _usage(fleet, 10, requests=100, cost=0.10)  # $0.001 per request the week before
    _usage(fleet, 0, requests=10, errors=1, cost=0.02)  # $0.002 now, 10 % errors
    ran = cli("llm", "alerts", "--json")
    assert ran.exit_code == 1
    found = {a["check"]: a for a in ran.json}
    assert found["llm-error-rate"]["level"] == "critical"
    assert "10.0%" in found["llm-error-rate"]["message"]
    assert found["llm-cost-increase"]["level"] == "warning"
    assert "rose 100%" in found["llm-cost-increase"]["message"]
    # stored once, a repeat bumps the count
    cli("llm", "alerts")
    from sqlalchemy import select

    from modelward.store.tables import AlertRow

    with fleet.db.session(readonly=True) as session:
        counts = {r.check: r.count for r in session.scalars(select(AlertRow))}
    assert counts["llm-error-rate"] == 2


def _log(fleet, when, latency_ms: float) -> dict:
    return {
        "request_id": "r",
        "ts": when,
        "version": 1,
        "environment": "production",
        "status": "ok",
        "error": None,
        "latency_ms": latency_ms,
        "prediction": "x",
        "score": None,
        "proba": None,
        "in_prompt_hash": "h",
        "query_type": "factual",
        "input_tokens": 1,
        "output_tokens": 1,
        "cost": 0.0,
        "cache_hit": False,
        "client": "-",
    }


def test_response_time_against_normal(fleet, cli):
    log = LogWriter(fleet.logs_url)
    now = utcnow()
    for i in range(20):
        log.log_prediction("good", _log(fleet, now - timedelta(days=2, minutes=i), 10.0))
        log.log_prediction("slow", _log(fleet, now - timedelta(days=2, minutes=i), 10.0))
        log.log_prediction("good", _log(fleet, now - timedelta(minutes=i), 16.0))  # 1.6x: warning
        log.log_prediction("slow", _log(fleet, now - timedelta(minutes=i), 25.0))  # 2.5x: critical
    log.close()
    ran = cli("llm", "alerts", "--json")
    levels = {a["model"]: a["level"] for a in ran.json if a["check"] == "llm-response-time"}
    assert levels == {"good": "warning", "slow": "critical"}
    assert ran.exit_code == 1


def test_rate_limit_usage_and_cost_per_query(fleet, cli):
    path = fleet.root / "llm.yml"
    path.write_text(
        path.read_text().replace(
            "    models: [good, cheap]\n", "    models: [good, cheap]\n    rate_limit_rpm: 20\n"
        )
    )
    fleet.llm._config = None
    log = LogWriter(fleet.logs_url)
    minute = utcnow().replace(second=0, microsecond=0) - timedelta(minutes=5)
    for i in range(17):  # 17 of 20 rpm in one minute: 85 % -> warning
        row = _log(fleet, minute + timedelta(seconds=i), 10.0)
        row["cost"] = 0.5 if i == 0 else 0.0  # one call above the $0.10 limit
        log.log_prediction("good", row)
    log.close()
    ran = cli("llm", "alerts", "--json")
    found = {a["check"]: a for a in ran.json}
    assert found["llm-rate-limit"]["level"] == "warning"
    assert "17 calls in the busiest minute" in found["llm-rate-limit"]["message"]
    assert (
        "1 call(s) in the last hour cost more than $0.1" in (found["llm-cost-per-query"]["message"])
    )
