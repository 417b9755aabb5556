"""`modelward promote` for an LLM endpoint version: evaluation (llm evaluate + a paired
test against production), testing (prompt tests + provider health), staging (the gateway's
staging routing table, verified by live calls), production (a canary over the routing
table). Fake providers on real sockets; the gateway on 127.0.0.1, the openai SDK as client."""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from llm.helpers import Served, write_dataset
from modelward.llm.fake import FakeModel
from modelward.llm.routing import current_routes, save_routes
from modelward.rollout import RolloutEngine

pytestmark = pytest.mark.sqlite_only

CASES = """
cases:
  - name: capital of France
    input: What is the capital of France?
    expect: {exact: Paris}
  - name: arithmetic
    input: What is 17 * 3?
    expect: {numeric: 51}
"""


def _cases(tmp_path: Path, text: str = CASES) -> Path:
    path = tmp_path / "cases.yml"
    path.write_text(text, encoding="utf-8")
    return path


def _to_production(ws, name: str, version: int) -> None:
    for stage in ("testing", "staging", "production"):
        ws.transition(name, version, stage, reason="test")


@pytest.fixture
def chat(llm_ws, dataset, tmp_path, cli):
    """chat:1 serves production (factual and technical routes); chat:2 is evaluated with it
    on the same dataset and its prompt tests pass."""
    ws = llm_ws
    ws.llm.register("chat", provider="openai", model="good")
    ws.llm.evaluate(["chat:1"], dataset)
    _to_production(ws, "chat", 1)
    save_routes(
        ws,
        {"factual": {"models": ["chat:1"]}, "technical": {"models": ["chat:1"]}},
        reason="test",
    )
    ws.llm.register("chat", provider="openai", model="good", params={"temperature": 0.0})
    ws.llm.evaluate(["chat:1", "chat:2"], dataset)
    ran = cli("test-predictions", "chat", "2", "--cases", _cases(tmp_path))
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    return ws


def _checks(result: dict, stage: str) -> dict[str, dict]:
    found = next(s for s in result["stages"] if s["name"] == stage)
    return {c["name"]: c for c in found["checks"]}


def test_dry_run_shows_every_stage_and_changes_nothing(chat, cli):
    history = chat.registry.history("chat")
    ran = cli("promote", "chat", "2", "--to", "production", "--dry-run", "--json")
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert [s["name"] for s in ran.json["stages"]] == [
        "evaluation", "testing", "staging", "production",
    ]  # fmt: skip
    evaluation = _checks(ran.json, "evaluation")
    assert evaluation["accuracy[factual]"]["passed"]
    assert "paired on 8 item(s)" in evaluation["vs-production"]["detail"]
    assert "no significant difference" in evaluation["vs-production"]["detail"]
    testing = _checks(ran.json, "testing")
    assert testing["test-predictions"]["passed"] and testing["provider-health"]["passed"]
    staging = _checks(ran.json, "staging")
    assert staging["validation"]["passed"]
    assert (
        "staging route(s) factual, technical (from the production table)"
        in (staging["verify"]["detail"])
    )
    plan = _checks(ran.json, "production")["plan"]["detail"]
    assert plan.startswith("canary on route(s) factual, technical against version(s) [1]: 5 %")
    assert chat.registry.history("chat") == history
    assert current_routes(chat, environment="staging") is None
    assert chat.registry.list_runs(kinds=["promote"]) == []


def test_promote_to_staging_points_the_staging_table_and_verifies_it_live(chat, cli):
    ran = cli("promote", "chat", "2", "--to", "staging", "--json")
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert ran.json["passed"]
    verify = _checks(ran.json, "staging")["verify"]
    assert (
        "through an in-process gateway on 127.0.0.1 (routes factual, technical)"
        in (verify["detail"])
    )
    assert chat.registry.get_version("chat", 2).stage == "staging"
    staged = current_routes(chat, environment="staging")
    assert staged.routes["factual"]["models"] == ["chat:2"]
    assert current_routes(chat).routes["factual"]["models"] == ["chat:1"]  # production as was
    run = chat.registry.list_runs(model="chat", version=2, kinds=["verification"])[0]
    assert run.verdict == "pass" and run.results["calls"] == 4  # 2 routes x 2 prompt tests
    # the staging gateway, asked by a client with the official SDK, answers with chat:2
    from openai import OpenAI

    from modelward.llm.gateway import create_gateway_app

    served = Served(create_gateway_app(chat, environment="staging"))
    try:
        with OpenAI(base_url=served.url + "/v1", api_key="x", max_retries=0) as client:
            answer = client.chat.completions.create(
                model="route:factual",
                messages=[{"role": "user", "content": "What is the capital of France?"}],
            )
        assert (answer.model, answer.choices[0].message.content) == ("chat:2", "Paris")
    finally:
        served.stop()
        served.app.state.gateway.close()


def test_staging_verified_on_a_running_gateway_given_by_url(chat, cli):
    from modelward.llm.gateway import create_gateway_app

    served = Served(create_gateway_app(chat, environment="staging"))
    try:
        ran = cli("promote", "chat", "2", "--to", "staging", "--url", served.url, "--json")
    finally:
        served.stop()
        served.app.state.gateway.close()
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert (
        f"through {served.url} (routes factual, technical)"
        in (_checks(ran.json, "staging")["verify"]["detail"])
    )


def test_an_unreachable_gateway_url_fails_staging_and_undoes_it(chat, cli):
    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    ran = cli("promote", "chat", "2", "--to", "staging", "--url", url)
    assert ran.exit_code == 1
    assert f"cannot reach the gateway at {url} (ConnectError); start it or drop --url" in (
        ran.stdout
    )
    assert "undone: staging routing table restored (no routes" in ran.stdout
    assert current_routes(chat, environment="staging").routes == {}
    assert chat.registry.get_version("chat", 2).stage == "testing"


def test_promote_to_production_runs_every_stage_and_starts_a_canary(chat, cli):
    ran = cli("promote", "chat", "2", "--to", "production", "--json")
    assert ran.exit_code == 0, ran.stdout + ran.stderr
    assert all(s["passed"] for s in ran.json["stages"])
    assert ran.json["rollout_id"] is not None
    assert "on route(s) factual, technical" in ran.json["stages"][3]["changes"][0]
    for route in current_routes(chat).routes.values():  # both routes: chat:2 takes 5 %
        assert route == {"models": ["chat:1"], "canary": {"model": "chat:2", "weight": 5.0}}
    assert current_routes(chat, environment="staging").routes["technical"]["models"] == ["chat:2"]
    rollout = RolloutEngine(chat).get(ran.json["rollout_id"])
    assert (rollout.canary_version, rollout.stable_version, rollout.state) == (2, 1, "running")


def test_a_failing_prompt_test_stops_it_at_testing(chat, cli, tmp_path, fake):
    failing = CASES + "  - name: says hello\n    input: Say hello.\n    expect: {exact: hello}\n"
    assert cli("test-predictions", "chat", "2", "--cases", _cases(tmp_path, failing)).exit_code
    ran = cli("promote", "chat", "2", "--to", "production", "--json")
    assert ran.exit_code == 1
    assert ran.json["failed_stage"] == "testing"
    assert [s["passed"] for s in ran.json["stages"]] == [True, False, None, None]
    assert chat.registry.get_version("chat", 2).stage == "development"  # undone
    assert current_routes(chat, environment="staging") is None
    assert "stopped at testing" in ran.stderr


def test_staging_fails_and_is_undone_when_the_provider_fails_every_call(chat, cli, fake):
    before = save_routes(
        chat, {"factual": {"models": ["chat:1"]}}, reason="staging as it was",
        environment="staging",
    )  # fmt: skip
    fake.behaviour.models["good"].error_rate = 1.0  # lists its models, answers 500 to a chat
    ran = cli("promote", "chat", "2", "--to", "production", "--json")
    assert ran.exit_code == 1
    assert ran.json["failed_stage"] == "staging"
    verify = _checks(ran.json, "staging")["verify"]
    assert "route factual, case 'capital of France': HTTP 502" in verify["detail"]
    staging = next(s for s in ran.json["stages"] if s["name"] == "staging")
    assert any("staging routing table restored" in u for u in staging["undone"])
    assert current_routes(chat, environment="staging").routes == before.routes
    assert chat.registry.get_version("chat", 2).stage == "testing"


def test_staging_verification_fails_when_the_staging_route_points_at_a_dead_provider(
    llm_ws, dataset
):
    from modelward.lifecycle.endpoint_staging import point_staging, verify_staging

    with socket.socket() as sock:  # a port nothing listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    config = llm_ws.root / "llm.yml"
    dead = (
        f"  dead:\n    kind: openai\n    base_url: http://127.0.0.1:{port}/v1\n    timeout_s: 1\n"
    )
    config.write_text(config.read_text(encoding="utf-8").replace("prices:", dead + "prices:"))
    llm_ws.llm.register("chat", provider="dead", model="gpt-x")
    save_routes(llm_ws, {"factual": {"models": ["chat:1"]}}, reason="t", environment="staging")
    change = point_staging(llm_ws, "chat", 1, actor="test")
    passed, detail = verify_staging(llm_ws, change)
    assert not passed
    assert "route factual, case 'probe': HTTP 502" in detail
    run = llm_ws.registry.list_runs(model="chat", kinds=["verification"])[0]
    assert run.verdict == "fail" and run.inputs["environment"] == "staging"


def test_gate_messages_for_an_endpoint_name_llm_evaluate_and_test_predictions(llm_ws, cli):
    llm_ws.llm.register("chat", provider="openai", model="good")
    llm_ws.transition("chat", 1, "testing", reason="test")
    moved = cli("transition", "chat", "1", "--to", "staging", "--reason", "try")
    assert moved.exit_code != 0
    assert "modelward llm evaluate --models chat:1 --dataset FILE" in moved.stderr
    assert "modelward validate" not in moved.stderr
    ran = cli("promote", "chat", "1", "--dry-run", "--json")
    assert ran.exit_code == 1
    evaluated = _checks(ran.json, "evaluation")["evaluated"]["detail"]
    assert "run `modelward llm evaluate --models chat:1 --dataset FILE`" in evaluated
    tests = _checks(ran.json, "testing")["test-predictions"]["detail"]
    assert "run `modelward test-predictions chat 1 --cases cases.yml`" in tests
    assert "modelward validate" not in ran.stdout


def _general(tmp_path: Path, fake) -> Path:
    """30 arithmetic questions of a category without an accuracy threshold."""
    items = [
        {"id": f"q{i}", "category": "general", "input": f"Question {i}: what is {i} times 3?",
         "expected": str(3 * i), "scorer": "numeric"}
        for i in range(1, 31)
    ]  # fmt: skip
    path = write_dataset(tmp_path / "general.jsonl", items)
    fake.behaviour.add_answers_from(path)
    return path


@pytest.mark.parametrize(
    ("accuracy", "passes"), [(0.5, False), (0.95, True)], ids=["clearly-worse", "unlucky"]
)
def test_the_paired_test_decides_the_evaluation_stage(
    llm_ws, fake, tmp_path, cli, accuracy, passes
):
    data = _general(tmp_path, fake)
    fake.behaviour.models["candidate"] = FakeModel(accuracy=accuracy)
    llm_ws.llm.register("chat", provider="openai", model="good")
    llm_ws.llm.register("chat", provider="openai", model="candidate")
    runs = llm_ws.llm.evaluate(["chat:1", "chat:2"], data)
    assert runs[1].metrics["accuracy"]["value"] < 1.0  # it got some items wrong
    _to_production(llm_ws, "chat", 1)
    ran = cli("promote", "chat", "2", "--dry-run", "--json")
    evaluation = _checks(ran.json, "evaluation")
    assert evaluation["error_rate"]["passed"]  # the policy's thresholds are met either way
    assert evaluation["vs-production"]["passed"] is passes, evaluation["vs-production"]["detail"]
    verdict = "worse" if not passes else "no significant difference"
    assert evaluation["vs-production"]["detail"].endswith(verdict)


def test_a_production_version_evaluated_on_other_items_cannot_be_paired(chat, tmp_path, fake, cli):
    ws = chat
    other = _general(tmp_path, fake)
    ws.llm.register("chat", provider="openai", model="good")
    ws.llm.evaluate(["chat:3"], other)
    ran = cli("promote", "chat", "3", "--dry-run", "--json")
    production = _checks(ran.json, "evaluation")["vs-production"]
    assert not production["passed"]
    assert (
        "chat:1 has no evaluation on the same dataset items as run" in production["detail"]
        and f"--models chat:3,chat:1 --dataset {other}" in production["detail"]
    )
