"""End to end: clients call an endpoint version through the gateway (the official openai SDK
with their API tokens); deprecating the version sends a notice naming them to a real HTTP
receiver, and the version is not retired while it still has traffic."""

from __future__ import annotations

import pytest
from tests.receiver import Hook

from llm.helpers import Served
from modelward.llm.routing import save_routes

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def notified(fleet):
    from modelward.policy import Policy, dump_policy

    hook = Hook()
    raw = fleet.policy.model_dump()
    raw["alerts"] = {"sinks": [{"kind": "webhook", "url": hook.url, "sources": ["lifecycle"]}]}
    (fleet.root / "policy.yml").write_text(dump_policy(Policy.model_validate(raw)), "utf-8")
    fleet.__dict__.pop("policy", None)
    yield fleet, hook
    hook.close()


def test_deprecation_names_the_token_names_that_called_the_version(notified, cli):
    from openai import OpenAI

    from modelward.llm.gateway import create_gateway_app

    ws, hook = notified
    save_routes(ws, {"factual": {"models": ["good"]}}, reason="test")
    secrets = {name: ws.tokens.create(name)[1] for name in ("mobile-app", "batch-job")}
    served = Served(create_gateway_app(ws))
    try:
        calls = {"mobile-app": 3, "batch-job": 1}
        for name, count in calls.items():
            with OpenAI(base_url=served.url + "/v1", api_key=secrets[name], max_retries=0) as c:
                for i in range(count):
                    c.chat.completions.create(
                        model="route:factual",
                        messages=[{"role": "user", "content": f"capital of France? {name} {i}"}],
                    )
        state = served.app.state.gateway
        state.flush()
        state.predlog.flush()
    finally:
        served.stop()

    ws.registry.record_run("llm-evaluation", model="good", version=1, inputs={}, results={},
                           verdict="pass")  # fmt: skip
    for stage in ("testing", "staging", "production", "deprecated"):
        ran = cli("transition", "good", "1", "--to", stage, "--reason", "replaced by good:2")
        assert ran.exit_code == 0, ran.stderr

    (notice,) = hook.bodies
    assert notice["event"] == "deprecation-notice" and notice["level"] == "warning"
    assert notice["details"]["clients"] == ["batch-job", "mobile-app"]
    assert notice["details"]["requests"] == calls
    assert "batch-job (1 requests), mobile-app (3 requests)" in notice["message"]
    assert not any(secret in str(notice) for secret in secrets.values())

    ran = cli("transition", "good", "1", "--to", "retired", "--reason", "done")
    assert ran.exit_code == 2 and "gate migration failed" in ran.stderr
    assert "served 4 predictions in the last 30 days" in ran.stderr
