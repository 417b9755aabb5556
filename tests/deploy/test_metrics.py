"""The Prometheus rules and the Grafana dashboard read only metrics a real `modelward serve`
exports (scraped from its /metrics, the gateway's included), promtool accepts the rules and
their unit tests, and the alerts' limits are the policy's defaults."""

from __future__ import annotations

import json
import re
import signal
import subprocess
from collections.abc import Iterator

import httpx
import pytest
import yaml

from deploy.balancer import spawn_server
from deploy.kit import (
    DASHBOARD,
    PROMETHEUS,
    dashboard_exprs,
    exported_series,
    metric_names,
    rule_exprs,
    run,
)

#: Series Prometheus makes itself for every target, not exported by anyone.
SYNTHETIC = {"up"}


@pytest.fixture(scope="module")
def exposition(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real server's /metrics, with the LLM gateway mounted (the workspace has an
    llm.yml)."""
    from modelward import Workspace

    root = tmp_path_factory.mktemp("metrics") / "ws"
    Workspace.init(root).close()
    (root / "llm.yml").write_text("providers: {}\n", encoding="utf-8")
    server = spawn_server(root, root.parent / "server.log")
    try:
        reply = httpx.get(server.url + "/metrics", timeout=10)
        assert reply.status_code == 200, reply.text
        yield reply.text
    finally:
        server.stop(signal.SIGTERM)


@pytest.fixture(scope="module")
def exported(exposition: str) -> set[str]:
    return exported_series(exposition)


def test_the_scrape_holds_the_server_and_the_gateway(exported):
    assert "modelward_requests_total" in exported
    assert "modelward_request_latency_seconds_bucket" in exported
    assert "modelward_llm_requests_total" in exported


def test_the_metric_reader_finds_names_and_only_names():
    expr = (
        'histogram_quantile(0.95, sum by (model, le) (rate(a_bucket{job="$job", x=~"y|z"}'
        "[$__rate_interval]))) / ignoring(p) group_left sum(b_total offset 5m) > bool 0.5 "
        'and count_values by (m) ("revision", c)'
    )
    assert metric_names(expr) == {"a_bucket", "b_total", "c"}


@pytest.mark.parametrize("name, expr", rule_exprs(), ids=lambda v: str(v)[:40])
def test_every_alert_reads_exported_metrics(name, expr, exported):
    names = metric_names(expr)
    assert names, f"{name}: no metric found in {expr!r}"
    assert names <= exported | SYNTHETIC, f"{name} reads {sorted(names - exported)}"


@pytest.mark.parametrize("title, expr", dashboard_exprs(), ids=lambda v: str(v)[:40])
def test_every_dashboard_panel_reads_exported_metrics(title, expr, exported):
    names = metric_names(expr)
    assert names, f"{title}: no metric found in {expr!r}"
    assert names <= exported | SYNTHETIC, f"{title} reads {sorted(names - exported)}"


def test_the_dashboard_is_grafana_json_with_one_prometheus_datasource():
    board = json.loads(DASHBOARD.read_text(encoding="utf-8"))
    ids = [panel["id"] for panel in board["panels"]]
    assert len(ids) == len(set(ids))
    graphs = [panel for panel in board["panels"] if panel["type"] != "row"]
    assert len(graphs) >= 15
    for panel in graphs:
        assert panel["datasource"] == {"type": "prometheus", "uid": "${datasource}"}
        assert panel["targets"], panel["title"]
        refs = [target["refId"] for target in panel["targets"]]
        assert len(refs) == len(set(refs)), panel["title"]
    variables = {v["name"]: v for v in board["templating"]["list"]}
    assert variables["datasource"]["type"] == "datasource"


def test_every_alert_says_what_to_do():
    rules = yaml.safe_load((PROMETHEUS / "modelward-rules.yml").read_text(encoding="utf-8"))
    for group in rules["groups"]:
        for rule in group["rules"]:
            assert rule["labels"]["severity"] in ("warning", "critical"), rule["alert"]
            assert {"summary", "description"} <= set(rule["annotations"]), rule["alert"]


def test_the_alerts_limits_are_the_policys_defaults():
    from modelward.policy.model import Policy

    policy = Policy()
    rules = dict(rule_exprs())

    def limit(alert: str) -> float:
        return float(re.search(r">\s*([0-9.]+)\s*$", rules[alert].strip()).group(1))

    assert limit("ModelwardPredictionErrors") == policy.rollout.max_error_rate
    assert limit("ModelwardSlowPredictions") == policy.rollout.max_p95_latency_ms / 1000
    assert limit("ModelwardLLMErrors") == policy.rollout.max_error_rate
    assert limit("ModelwardLLMSlow") == policy.llm.max_p95_latency_ms / 1000


def test_a_healthy_replicas_log_queue_never_raises_the_backlog_alert():
    """A replica publishes its rows every serving.flush_rows rows or serving.flush_ms:
    the alert waits for more rows than that, for longer than that."""
    from modelward.policy.model import Policy

    serving = Policy().serving
    rules = yaml.safe_load((PROMETHEUS / "modelward-rules.yml").read_text(encoding="utf-8"))
    (backlog,) = [
        rule
        for group in rules["groups"]
        for rule in group["rules"]
        if rule.get("alert") == "ModelwardLogBacklog"
    ]
    rows = int(re.fullmatch(r"modelward_log_queue_rows > (\d+)", backlog["expr"]).group(1))
    assert rows >= 2 * serving.flush_rows
    minutes = int(backlog["for"].removesuffix("m"))
    assert minutes * 60_000 > serving.flush_ms


def test_promtool_accepts_the_rules_and_their_unit_tests(promtool):
    checked = run(promtool, "check", "rules", "modelward-rules.yml", cwd=PROMETHEUS)
    assert checked.returncode == 0, checked.stdout + checked.stderr
    assert f"SUCCESS: {len(rule_exprs())} rules found" in checked.stdout
    tested = run(promtool, "test", "rules", "modelward-rules.test.yml", cwd=PROMETHEUS)
    assert tested.returncode == 0, tested.stdout + tested.stderr
    config = run(promtool, "check", "config", "--syntax-only", "prometheus.yml", cwd=PROMETHEUS)
    assert config.returncode == 0, config.stdout + config.stderr


def test_promtool_refuses_a_broken_rule(promtool, tmp_path):
    text = (PROMETHEUS / "modelward-rules.yml").read_text(encoding="utf-8")
    broken = tmp_path / "rules.yml"
    broken.write_text(
        text.replace("modelward_log_dropped_rows > 0", "modelward_log_dropped_rows >")
    )
    checked = run(promtool, "check", "rules", str(broken))
    assert checked.returncode != 0 and "FAILED" in checked.stdout + checked.stderr


def test_the_unavailable_alert_counts_every_503_a_replica_answers_and_only_those():
    import inspect

    import modelward.errors as errors

    codes = {
        cls.code
        for _, cls in inspect.getmembers(errors, inspect.isclass)
        if issubclass(cls, errors.ModelwardError) and getattr(cls, "status", None) == 503
    }
    expr = dict(rule_exprs())["ModelwardUnavailableAnswers"]
    (pattern,) = re.findall(r'code=~"([^"]+)"', expr)
    assert set(pattern.split("|")) == codes


def test_promtool_finds_nothing_to_lint_in_the_exposition(promtool, exposition):
    linted = subprocess.run(
        [promtool, "check", "metrics"], input=exposition, capture_output=True, text=True
    )
    assert linted.returncode == 0 and not linted.stdout.strip(), linted.stdout + linted.stderr
