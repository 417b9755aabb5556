from __future__ import annotations

import json
from datetime import timedelta

from tests.monitor.conftest import END, set_policy
from tests.receiver import Hook


def _until(days_before: int) -> str:
    return (END - timedelta(days=days_before - 1)).isoformat()


def test_webhook_slack_and_file_sinks_get_one_alert_then_dedupe(served, cli, hook, tmp_path):
    slack, apprise = Hook(), Hook()
    try:
        log = tmp_path / "alerts.jsonl"
        set_policy(
            served.ws,
            alerts={
                "sinks": [
                    {"kind": "webhook", "url": hook.url},
                    {"kind": "slack", "url": slack.url},
                    {"kind": "file", "path": str(log)},
                    {"kind": "apprise", "url": f"json://127.0.0.1:{apprise.port}/"},
                ],
                "dedupe_window": "1h",
            },
        )
        first = cli("monitor", "metrics", "heart", "--until", _until(2))
        assert first.exit_code == 1
        assert len(hook.bodies) == 1
        body = hook.bodies[0]
        assert body["check"] == "metrics" and body["model"] == "heart"
        assert "v1 accuracy" in body["message"] and "< 0.80" in body["message"]
        assert body["count"] == 1
        assert slack.bodies[0]["text"].startswith((":warning:", ":red_circle:"))
        assert "v1 accuracy" in slack.bodies[0]["text"]
        lines = log.read_text().splitlines()
        assert json.loads(lines[0])["fingerprint"] == body["fingerprint"]
        (told,) = apprise.bodies
        assert told["message"] == body["message"] and told["title"].endswith(": metrics")
        # the same breach again: stored once more (count 2) but not sent again
        again = cli("monitor", "metrics", "heart", "--until", _until(2))
        assert again.exit_code == 1
        assert len(hook.bodies) == 1 and len(slack.bodies) == 1 and len(apprise.bodies) == 1
        assert len(log.read_text().splitlines()) == 1
        alerts = cli("monitor", "alerts", "heart", "--json").json
        assert len(alerts) == 1 and alerts[0]["count"] == 2
        # a different check is a different alert
        cli("monitor", "quality", "heart", "--until", _until(2))
        assert len(hook.bodies) == 2 and hook.bodies[1]["check"] == "quality"
    finally:
        slack.close()
        apprise.close()


def test_passing_check_resolves_and_manual_resolve(served, cli, hook):
    set_policy(served.ws, alerts={"sinks": [{"kind": "webhook", "url": hook.url}]})
    cli("monitor", "metrics", "heart", "--until", _until(2))
    assert len(cli("monitor", "alerts", "--json").json) == 1
    ok = cli(
        "monitor", "metrics", "heart", "--until", _until(4), "--thresholds", "0.5,0.5,0.5,0.5,0.5"
    )
    assert ok.exit_code == 0, ok.stderr
    assert cli("monitor", "alerts", "--json").json == []
    everything = cli("monitor", "alerts", "--all", "--json").json
    assert everything[0]["resolved_at"] is not None
    # the resolution is sent too, under the same dedupe key
    resolved = hook.bodies[1]
    assert (resolved["status"], resolved["kind"]) == ("resolved", "alert")
    assert resolved["key"] == hook.bodies[0]["key"] == hook.bodies[0]["fingerprint"]
    assert resolved["resolved_at"] is not None
    # a new breach opens a new alert that is sent again
    cli("monitor", "metrics", "heart", "--until", _until(2))
    assert [b["status"] for b in hook.bodies] == ["firing", "resolved", "firing"]
    open_id = cli("monitor", "alerts", "--json").json[0]["id"]
    assert cli("monitor", "alerts", "--resolve", open_id).exit_code == 0
    assert cli("monitor", "alerts", "--json").json == []
    assert hook.bodies[-1]["status"] == "resolved" and hook.bodies[-1]["id"] == open_id


def test_sink_failure_is_reported_and_the_alert_kept(served, cli):
    broken = Hook(status=500)
    try:
        set_policy(served.ws, alerts={"sinks": [{"kind": "webhook", "url": broken.url}]})
        ran = cli("monitor", "metrics", "heart", "--until", _until(2), "--json")
        assert ran.exit_code == 1
        assert any("answered HTTP 500" in w for w in ran.json["warnings"])
        assert len(cli("monitor", "alerts", "--json").json) == 1
    finally:
        broken.close()


def test_min_level_filters_warnings(served, cli, hook):
    set_policy(
        served.ws, alerts={"sinks": [{"kind": "webhook", "url": hook.url, "min_level": "critical"}]}
    )
    ran = cli("monitor", "drift", "heart", "--until", _until(4), "--json")
    assert ran.json["verdict"] in ("pass", "fail")
    if ran.json["verdict"] == "fail" and ran.json["level"] == "warning":
        assert hook.bodies == []
    cli("monitor", "quality", "heart", "--until", _until(2))  # critical: far beyond 5 %
    assert [b["level"] for b in hook.bodies] == ["critical"]


def test_bad_sink_config_and_unknown_alert(served, cli):
    (served.ws.root / "policy.yml").write_text(
        "version: 1\nalerts:\n  sinks:\n    - kind: webhook\n", encoding="utf-8"
    )
    ran = cli("monitor", "alerts")
    assert ran.exit_code == 2 and "webhook sink needs a url" in ran.stderr
    (served.ws.root / "policy.yml").write_text("version: 1\n", encoding="utf-8")
    ran = cli("monitor", "alerts", "--resolve", "99")
    assert ran.exit_code == 2 and "no alert #99" in ran.stderr


def test_monitor_history_lists_checks(served, cli):
    cli("monitor", "metrics", "heart", "--until", _until(2))
    cli("monitor", "drift", "heart", "--until", _until(2))
    history = cli("monitor", "history", "heart", "--json").json
    assert [h["kind"] for h in history] == ["monitor-drift", "monitor-metrics"]
    only = cli("monitor", "history", "heart", "--check", "metrics", "--json").json
    assert len(only) == 1 and only[0]["verdict"] == "fail"
    text = cli("monitor", "history", "heart")
    assert "drift" in text.stdout and "fail" in text.stdout


def test_alerts_are_per_environment(served, cli):
    """A breach in staging is its own alert, and staging passing does not close
    production's (the fingerprint and the resolution carry the environment)."""
    from datetime import timedelta

    from tests.monitor.conftest import END
    from tests.monitor.logdata import traffic, write_traffic

    swiss_day = (END - timedelta(days=1)).isoformat()
    ran = cli("monitor", "metrics", "heart", "--until", swiss_day)  # production: 0.59
    assert ran.exit_code == 1
    (production,) = served.ws.monitor.alerts.list(model="heart")
    pred, feedback = traffic(
        served.flavor, served.days["switzerland"], start=END - timedelta(days=2),
        spacing=timedelta(minutes=2), version=1, environment="staging", seed=5,
    )  # fmt: skip
    write_traffic(served.ws.logs_url, "heart", pred, feedback)
    staged = ("monitor", "metrics", "heart", "--until", swiss_day, "--env", "staging")
    assert cli(*staged).exit_code == 1  # the same breach, in staging: a second alert
    assert len(served.ws.monitor.alerts.list(model="heart")) == 2
    lenient = ("--metrics", "accuracy", "--thresholds", "0.3")
    assert cli(*staged, *lenient).exit_code == 0  # staging passes: its alert closes
    still = served.ws.monitor.alerts.list(model="heart")
    assert [a.id for a in still] == [production.id]
