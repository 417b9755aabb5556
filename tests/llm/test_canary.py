"""An endpoint model's canary through the real gateway: the rollout controller moves the
routing table's canary weight stage by stage, the gateway follows it without a restart,
and the canary is judged on the LLM's own evidence (errors, response time against stable,
cost, accuracy from the online evaluation, users' ratings). The official ``openai`` SDK is
the client; the providers are fakes that speak the protocol. Stages are shortened by
policy to a second; the controller runs on the real clock."""

from __future__ import annotations

import time
from datetime import timedelta

import httpx
import pytest
import yaml
from openai import OpenAI

from llm.helpers import DATASET, Served, answers, llm_yml, write_dataset
from modelward.llm.fake import FakeBehaviour, FakeModel, FakeServer
from modelward.llm.gateway import create_gateway_app
from modelward.llm.routing import current_routes, save_routes
from modelward.rollout import RolloutEngine

STAGES = "20:1s,50:1s,100"
MODELS = {
    "good": FakeModel(accuracy=1.0, latency_ms=5),
    "twin": FakeModel(accuracy=1.0, latency_ms=5),
    "flaky": FakeModel(accuracy=1.0, latency_ms=5, error_rate=0.5),
    "sluggish": FakeModel(accuracy=1.0, latency_ms=300),
    "pricey": FakeModel(accuracy=1.0, latency_ms=5),
    "sloppy": FakeModel(accuracy=0.3, latency_ms=5),
}


@pytest.fixture
def llm_fleet(workspace, monkeypatch):
    """A workspace whose gateway (cache off, 100 ms refresh) reaches fakes of every model,
    with chat:1 (good) serving the factual route of production."""
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-test-secret-123")
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "sk-ant-secret-456")
    with FakeServer(FakeBehaviour(models=MODELS, answers=answers())) as fake:
        config = yaml.safe_load(
            llm_yml(fake.openai_url, fake.anthropic_url, fake.ollama_url, fake.hf_url)
        )
        config["providers"]["openai"]["models"] = sorted(MODELS)
        config["providers"]["openai"]["max_retries"] = 0
        config["prices"] = {m: {"input": 5.0, "output": 15.0} for m in MODELS}
        config["prices"]["pricey"] = {"input": 50.0, "output": 150.0}
        config["gateway"] = {"cache_ttl_s": 0, "flush_ms": 100}
        (workspace.root / "llm.yml").write_text(yaml.safe_dump(config), encoding="utf-8")
        policy = yaml.safe_load(workspace.layout.policy.read_text(encoding="utf-8"))
        policy.setdefault("models", {})["chat"] = {
            "rollout": {"min_samples": 15, "min_labels": 10, "check_interval": "1s",
                        "failure_limit": 3}
        }  # fmt: skip
        workspace.layout.policy.write_text(yaml.safe_dump(policy), encoding="utf-8")
        workspace.llm.register("chat", provider="openai", model="good")
        _to(workspace, 1, "production")
        save_routes(workspace, {"factual": {"models": ["chat:1"]}}, reason="first route")
        yield workspace


def _to(ws, version: int, stage: str) -> None:
    order = ["testing", "staging", "production"]
    for step in order[: order.index(stage) + 1]:
        ws.transition("chat", version, step, reason="test", force=True)


def _candidate(ws, model: str) -> int:
    version = ws.llm.register("chat", provider="openai", model=model).version
    _to(ws, version, "staging")
    return version


class Traffic:
    """Users of the gateway: ask, and maybe rate what each version answered."""

    def __init__(self, served: Served, ratings: dict[int, int] | None = None) -> None:
        self.client = OpenAI(base_url=f"{served.url}/v1", api_key="-", max_retries=0)
        self.url = served.url
        self.ratings = ratings or {}
        self.asked = 0

    def round(self, calls: int, prompts: list[str] | None = None) -> None:
        for i in range(calls):
            self.asked += 1
            prompt = prompts[i % len(prompts)] if prompts else f"question {self.asked}"
            reply = self.client.chat.completions.create(
                model="route:factual", messages=[{"role": "user", "content": prompt}]
            )
            version = int(reply.model.rpartition(":")[2])
            if version in self.ratings:
                sent = httpx.post(
                    f"{self.url}/v1/feedback",
                    json={"id": reply.id, "rating": self.ratings[version]},
                )
                assert sent.status_code < 300, sent.text


def drive(engine, rollout_id, traffic: Traffic, *, rounds=14, calls=40, prompts=None):
    """A round of traffic at the current weight, then one controller tick; repeat."""
    decisions = []
    for _ in range(rounds):
        time.sleep(0.3)  # the gateway follows the routing revision (100 ms refresh)
        traffic.round(calls, prompts)
        time.sleep(0.4)  # the gateway publishes its log
        decisions.append(engine.step(rollout_id))
        if engine.get(rollout_id).state != "running":
            break
    return decisions


@pytest.fixture
def gateway(llm_fleet):
    served = Served(create_gateway_app(llm_fleet))
    yield served
    served.stop()


def test_a_healthy_endpoint_version_is_promoted_through_every_stage(llm_fleet, gateway, tmp_path):
    ws = llm_fleet
    version = ws.llm.register("chat", provider="openai", model="twin").version
    ws.llm.evaluate([f"chat:{version}"], write_dataset(tmp_path / "golden.jsonl"))
    for stage in ("testing", "staging"):
        ws.transition("chat", version, stage, reason="evaluated")  # its gates pass
    engine = RolloutEngine(ws)
    rollout = engine.start("chat", version, stages=STAGES, reason="twin of good")
    assert rollout.plan["routes"] == ["factual"]
    route = current_routes(ws).routes["factual"]
    assert route == {"models": ["chat:1"], "canary": {"model": "chat:2", "weight": 20.0}}

    traffic = Traffic(gateway, ratings={1: 1, 2: 1})
    decisions = drive(engine, rollout.id, traffic)
    actions = [d.action for d in decisions]
    assert actions.count("advance") == 1 and actions[-1] == "promote", decisions
    assert "rollback" not in actions and "breach" not in actions

    assert engine.get(rollout.id).state == "promoted"
    assert current_routes(ws).routes["factual"] == {"models": ["chat:2"]}
    assert ws.registry.get_version("chat", version).stage == "production"
    # every routing revision of the rollout carries its reason
    reasons = [t.reason for t in ws.llm.route_history()][1:]
    assert all(r.startswith(f"rollout #{rollout.id}") for r in reasons), reasons
    # every decision is recorded with its numbers, the satisfaction among them
    runs = [r for r in ws.registry.list_runs(model="chat", kinds=["rollout"])
            if r.results["action"] in ("advance", "promote")]  # fmt: skip
    assert len(runs) == 2
    for run in runs:
        names = {c["name"] for c in run.results["checks"]}
        assert {"error_rate", "p95_latency_ms", "p95_latency_ratio", "satisfaction"} <= names
        assert run.results["canary"]["ratings"] >= 15
        assert run.results["canary"]["satisfaction_mean"] == 1.0
    # the gateway now answers with the new version only
    traffic.round(5)
    time.sleep(0.3)
    reply = traffic.client.chat.completions.create(
        model="route:factual", messages=[{"role": "user", "content": "one more"}]
    )
    assert reply.model == "chat:2"


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the DB is not what is judged
@pytest.mark.parametrize(
    ("model", "criterion", "ratings", "prompts"),
    [
        ("flaky", "error rate", None, None),
        ("sluggish", "p95 response time", None, None),
        ("pricey", "cost per query", None, None),
        ("sloppy", "accuracy", None, "dataset"),
        ("twin", "user satisfaction", {1: 1, 2: -1}, None),
    ],
)
def test_a_worse_endpoint_version_is_rolled_back_naming_the_criterion(
    llm_fleet, gateway, tmp_path, model, criterion, ratings, prompts
):
    ws = llm_fleet
    version = _candidate(ws, model)
    dataset = write_dataset(tmp_path / "golden.jsonl")
    engine = RolloutEngine(ws)
    rollout = engine.start(
        "chat", version, stages=STAGES, reason="try it", force=True,
        evaluation_dataset=dataset if prompts else None,
    )  # fmt: skip
    asked = [str(item["input"]) for item in DATASET] if prompts else None
    decisions = drive(engine, rollout.id, Traffic(gateway, ratings), prompts=asked)

    assert decisions[-1].action == "rollback", decisions
    assert decisions[-1].stage_index == 0  # at the first stage with enough evidence
    assert criterion in decisions[-1].reason
    assert engine.get(rollout.id).state == "rolled-back"
    assert current_routes(ws).routes["factual"] == {"models": ["chat:1"]}
    time.sleep(0.3)
    client = OpenAI(base_url=f"{gateway.url}/v1", api_key="-", max_retries=0)
    served = {
        client.chat.completions.create(
            model="route:factual", messages=[{"role": "user", "content": f"after {i}"}]
        ).model
        for i in range(20)
    }
    assert served == {"chat:1"}
    run = ws.registry.list_runs(model="chat", kinds=["rollout"])[0]
    assert run.results["action"] == "rollback" and run.verdict == "fail"


def test_a_controller_killed_mid_rollout_resumes_without_repeating_or_skipping(llm_fleet, gateway):
    ws = llm_fleet
    version = _candidate(ws, "twin")
    first = RolloutEngine(ws, owner="first", lease=timedelta(seconds=2))
    rollout = first.start(
        "chat", version, stages="20:1s,50:1s,75:1s,100", reason="twin", force=True
    )
    traffic = Traffic(gateway)
    decisions = []
    while not decisions or decisions[-1].action != "advance":
        decisions += drive(first, rollout.id, traffic, rounds=1)
    assert first.get(rollout.id).stage_index == 1
    # "first" dies holding its lease; "second" waits for it to lapse, then carries on
    second = RolloutEngine(ws, owner="second", lease=timedelta(seconds=2))
    assert second.step(rollout.id).action == "skipped"
    time.sleep(2.1)
    later = drive(second, rollout.id, traffic)
    stages = [d.stage_index for d in later if d.action in ("advance", "promote")]
    assert stages == [1, 2], later
    assert second.get(rollout.id).state == "promoted"


def test_rollout_start_on_an_endpoint_names_what_is_missing(llm_fleet, cli):
    ws = llm_fleet
    version = _candidate(ws, "twin")
    ran = cli("rollout", "start", "chat", "--version", str(version), "--route", "technical",
              "--force", "--reason", "r")  # fmt: skip
    assert ran.exit_code == 2
    assert "'technical'" in ran.stderr and "routes serving it: factual" in ran.stderr
    bad = cli("rollout", "start", "chat", "--version", str(version), "--evaluation-dataset",
              "missing.jsonl", "--force", "--reason", "r")  # fmt: skip
    assert bad.exit_code == 2 and "cannot be read" in bad.stderr
    assert current_routes(ws).routes["factual"] == {"models": ["chat:1"]}  # nothing changed
    ok = cli("rollout", "start", "chat", "--version", str(version), "--route", "factual",
             "--force", "--reason", "r")  # fmt: skip
    assert ok.exit_code == 0, ok.stderr
    assert "routes: factual" in ok.stdout
    assert current_routes(ws).routes["factual"]["canary"]["model"] == f"chat:{version}"


def test_an_evaluation_dataset_that_breaks_mid_rollout_never_stops_the_controller(
    llm_fleet, gateway, tmp_path
):
    ws = llm_fleet
    version = _candidate(ws, "twin")
    dataset = write_dataset(tmp_path / "golden.jsonl")
    engine = RolloutEngine(ws)
    rollout = engine.start("chat", version, stages=STAGES, reason="twin", force=True,
                           evaluation_dataset=dataset)  # fmt: skip
    dataset.write_text("not json\n", encoding="utf-8")  # someone overwrote it
    decisions = drive(engine, rollout.id, Traffic(gateway), rounds=3)
    assert decisions and all(d.action in ("wait", "advance", "promote") for d in decisions), (
        decisions
    )
    run = ws.registry.list_runs(model="chat", kinds=["rollout"])[0]
    assert "is not JSON" in run.results["canary"]["accuracy_source"]
