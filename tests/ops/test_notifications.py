"""Alerts and notifications reach people: every source goes through one alerting path to the
sinks of policy.yml, received here by real HTTP servers on 127.0.0.1 (the webhook sink, and
Apprise's ``json://`` URL)."""

from __future__ import annotations

import pytest
from tests.ops.conftest import add_versions, to_stage
from tests.ops.simulate import Behaviour
from tests.receiver import Hook

from modelward.rollout import RolloutEngine, ServingTraffic

pytestmark = pytest.mark.sqlite_only


def _set_policy(ws, **sections) -> None:
    from modelward.policy import Policy, dump_policy

    raw = ws.policy.model_dump()
    for name, values in sections.items():
        raw[name] = {**raw[name], **values} if isinstance(values, dict) else values
    (ws.root / "policy.yml").write_text(dump_policy(Policy.model_validate(raw)), "utf-8")
    ws.__dict__.pop("policy", None)


class Receivers:
    """A webhook sink and an Apprise sink, each on its own receiver, taking every level."""

    def __init__(self, ws, **sink) -> None:
        self.webhook, self.apprise = Hook(), Hook()
        _set_policy(ws, alerts={"sinks": [
            {"kind": "webhook", "url": self.webhook.url, "min_level": "info", **sink},
            {"kind": "apprise", "url": f"json://127.0.0.1:{self.apprise.port}/",
             "min_level": "info", **sink},
        ]})  # fmt: skip

    def events(self) -> list[tuple[str, str, str | None]]:
        return [(b["event"], b["level"], b["status"]) for b in self.webhook.bodies]

    def close(self) -> None:
        self.webhook.close()
        self.apprise.close()


@pytest.fixture
def receivers(workspace):
    made = Receivers(workspace)
    yield made
    made.close()


def _spend(ws, cost: float) -> None:
    from modelward.llm.usage import UsageBuffer

    buffer = UsageBuffer(ws.db)
    buffer.add("-", "gpt-small", 1, cost=cost)
    buffer.flush()


def test_llm_budget_at_90_percent_is_sent_once_and_resolved_next_month(workspace, receivers, cli):
    from sqlalchemy import update

    from modelward.store.tables import UsageRow

    _set_policy(workspace, llm={"monthly_budget": 100.0})
    _spend(workspace, 91.0)
    ran = cli("llm", "alerts")
    assert ran.exit_code == 1  # a critical
    (body,) = receivers.webhook.bodies
    assert (body["kind"], body["status"], body["source"]) == ("alert", "firing", "llm")
    assert (body["event"], body["level"]) == ("llm-budget", "critical")
    assert "$91.00 of $100 (91%)" in body["message"]
    (told,) = receivers.apprise.bodies
    assert told["type"] == "failure" and told["title"] == "modelward critical: llm-budget"
    assert told["message"] == body["message"]

    assert cli("llm", "alerts").exit_code == 1  # still over: counted, not sent again
    assert len(receivers.webhook.bodies) == 1 and len(receivers.apprise.bodies) == 1
    (stored,) = cli("monitor", "alerts", "--json").json
    assert stored["count"] == 2 and stored["check"] == "llm-budget"

    with workspace.db.session() as session:  # a new month: this spend is last month's
        session.execute(update(UsageRow).values(day="2020-01-15"))
    assert cli("llm", "alerts").exit_code == 0
    resolved = receivers.webhook.bodies[-1]
    assert (resolved["status"], resolved["key"]) == ("resolved", body["key"])
    assert receivers.apprise.bodies[-1]["type"] == "success"
    assert cli("monitor", "alerts", "--json").json == []


def test_a_budget_warning_escalates_to_critical(workspace, receivers, cli):
    _set_policy(workspace, llm={"monthly_budget": 100.0})
    _spend(workspace, 85.0)
    assert cli("llm", "alerts").exit_code == 0
    _spend(workspace, 6.0)
    assert cli("llm", "alerts").exit_code == 1
    assert receivers.events() == [
        ("llm-budget", "warning", "firing"),
        ("llm-budget", "critical", "firing"),
    ]
    assert len(cli("monitor", "alerts", "--json").json) == 1  # one alert, escalated


def _drive(engine, rollout_id, clock, traffic, *, until: str) -> None:
    for _ in range(60):
        targets = engine.traffic.current("heart", "production").targets
        start = clock.now
        traffic.serve(start, clock.advance(60), targets)
        if engine.step(rollout_id).action == until:
            return
    raise AssertionError(f"no {until} in an hour")


def test_rollout_advance_and_rollback_are_notified(setup):
    ws, clock, traffic = setup
    receivers = Receivers(ws, sources=["rollout"])
    try:
        traffic.behaviour = {1: Behaviour(), 2: Behaviour()}
        engine = RolloutEngine(ws, clock=clock)
        rollout = engine.start("heart", 2, stages="5:10m,25:10m,100", reason="new model")
        _drive(engine, rollout.id, clock, traffic, until="advance")
        traffic.behaviour = {1: Behaviour(), 2: Behaviour(error_rate=0.3)}
        _drive(engine, rollout.id, clock, traffic, until="rollback")
    finally:
        receivers.close()
    assert receivers.events() == [
        ("rollout-started", "info", None),
        ("rollout-advanced", "info", None),
        ("rollout-rolled-back", "warning", None),
    ]
    advanced, rolled_back = receivers.webhook.bodies[1:]
    assert advanced["message"].startswith(
        f"rollout #{rollout.id} of heart:2 in production advanced to 25 %: stage 1 at 5 % passed"
    )
    assert (advanced["source"], advanced["kind"], advanced["environment"]) == (
        "rollout", "notification", "production",
    )  # fmt: skip
    assert "error rate" in rolled_back["message"] and rolled_back["details"]["stable"] == 1
    assert len({b["key"] for b in receivers.webhook.bodies}) == 3
    assert [b["type"] for b in receivers.apprise.bodies] == ["info", "info", "warning"]


def test_each_breach_is_notified_with_its_numbers(setup):
    ws, clock, traffic = setup
    receivers = Receivers(ws, sources=["rollout"])
    try:
        # above the latency limit but no slower than stable: a breach, not a failure
        traffic.behaviour = {1: Behaviour(latency_ms=900), 2: Behaviour(latency_ms=900)}
        engine = RolloutEngine(ws, clock=clock)
        rollout = engine.start("heart", 2, stages="50:30m,100")
        _drive(engine, rollout.id, clock, traffic, until="breach")
        _drive(engine, rollout.id, clock, traffic, until="breach")
    finally:
        receivers.close()
    breaches = [b for b in receivers.webhook.bodies if b["event"] == "rollout-breach"]
    assert [b["level"] for b in breaches] == ["warning", "warning"]
    assert breaches[1]["message"].startswith(
        f"rollout #{rollout.id} of heart:2 in production breach: breach 2 of 3: p95 latency"
    )
    latency = next(c for c in breaches[0]["details"]["checks"] if c["name"] == "p95_latency_ms")
    assert latency["status"] == "breach" and latency["canary"] > latency["limit"]


def test_a_promotion_by_the_controller_is_notified(setup):
    ws, clock, traffic = setup
    receivers = Receivers(ws, sources=["rollout"])
    try:
        engine = RolloutEngine(ws, clock=clock)
        rollout = engine.start("heart", 2, stages="50:5m,100")
        _drive(engine, rollout.id, clock, traffic, until="promote")
    finally:
        receivers.close()
    assert receivers.events()[-1] == ("rollout-promoted", "info", None)


def test_forced_transition_warns_and_a_plain_one_is_info(workspace, cleveland, fitted):
    add_versions(workspace, cleveland, fitted, 1)
    receivers = Receivers(workspace)
    hook = Hook()  # a sink for warnings only
    sinks = [*workspace.policy.alerts.model_dump()["sinks"], {"kind": "webhook", "url": hook.url}]
    _set_policy(workspace, alerts={"sinks": sinks})
    try:
        workspace.transition("heart", 1, "testing", reason="tests written")
        workspace.transition("heart", 1, "staging", reason="urgent fix", force=True)
    finally:
        receivers.close()
        hook.close()
    assert receivers.events() == [
        ("transition", "info", None),
        ("forced-transition", "warning", None),
    ]
    forced = receivers.webhook.bodies[1]
    assert forced["source"] == "lifecycle" and forced["model"] == "heart"
    overriding = "heart:1: testing → staging by tester, overriding gate(s) validation"
    assert overriding in forced["message"]
    assert forced["message"].endswith(": urgent fix")
    assert [b["event"] for b in hook.bodies] == ["forced-transition"]  # min_level: warning


def test_lifecycle_review_apply_move_is_notified(workspace, cleveland, fitted, cli):
    add_versions(workspace, cleveland, fitted, 2, aucs=[0.70, 0.90])
    to_stage(workspace, "heart", 1, "production")
    to_stage(workspace, "heart", 2, "staging")
    ServingTraffic(workspace.deployments).set_targets(
        "heart", "production", [(1, 100)], reason="t", actor="t", expected_revision=0
    )
    receivers = Receivers(workspace, sources=["lifecycle"])
    try:
        ran = cli("lifecycle", "review", "heart", "--apply")
        assert ran.exit_code == 0, ran.stderr
    finally:
        receivers.close()
    (moved,) = receivers.webhook.bodies
    assert (moved["event"], moved["version"]) == ("transition", 1)
    assert "heart:1: production → maintenance" in moved["message"]
    assert "lifecycle review: version 2 is 29% better by roc_auc" in moved["message"]
    assert receivers.apprise.bodies[0]["title"] == "modelward info: transition"


def test_a_failing_sink_never_undoes_the_action(workspace, cleveland, fitted, caplog):
    """A sink that fails is logged, one line without its URL; the transition stands."""
    add_versions(workspace, cleveland, fitted, 1)
    broken = Hook(status=500)
    secret = f"{broken.url}/T000/B000/s3cr3t-token"
    _set_policy(workspace, alerts={"sinks": [
        {"kind": "slack", "url": secret, "min_level": "info"},
        {"kind": "apprise", "url": "nosuchservice://user:hunter2@example", "min_level": "info"},
    ]})  # fmt: skip
    try:
        workspace.transition("heart", 1, "testing", reason="tests written")
    finally:
        broken.close()
    assert workspace.registry.get_version("heart", 1).stage == "testing"
    assert len(broken.bodies) == 1 and ":information_source:" in broken.bodies[0]["text"]
    logged = [r.getMessage() for r in caplog.records if r.name == "modelward.alerting"]
    assert any(f"slack http://127.0.0.1:{broken.port} answered HTTP 500" in m for m in logged)
    assert any("apprise cannot use the nosuchservice:// URL" in m for m in logged)
    assert not any("s3cr3t" in m or "hunter2" in m for m in logged)


def test_bad_sink_settings_are_one_line_errors(workspace, cli):
    for sink, problem in [
        ("{kind: apprise}", "apprise sink needs a url"),
        ("{kind: webhook, url: 'ftp://x/'}", "needs an http:// or https:// url"),
        ("{kind: console, sources: [rollouts]}", "alerts.sinks.0.sources.0"),
        ("{kind: console, sources: []}", "sources lists no source"),
        ("{kind: console, min_level: debug}", "alerts.sinks.0.min_level"),
    ]:
        (workspace.root / "policy.yml").write_text(
            f"version: 1\nalerts:\n  sinks:\n    - {sink}\n", encoding="utf-8"
        )
        ran = cli("monitor", "alerts")
        assert ran.exit_code == 2 and problem in ran.stderr, (sink, ran.stderr)
        assert len(ran.stderr.strip().splitlines()) == 1
