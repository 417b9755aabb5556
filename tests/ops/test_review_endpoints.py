"""``lifecycle review`` of endpoint models: the retirement criteria of section 5.2 (accuracy
below 0.80, p95 response time above 15 s, cost per query above 0.15, error rate above 10 %,
a newer version 20 % more accurate or 30 % cheaper), each from the gateway's calls in the
prediction log (the expected numbers computed here from the same rows) or, without enough
calls, from the version's evaluation runs."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from tests.ops.conftest import to_stage
from tests.ops.endpoints import call, endpoint, evaluated, set_policy, write_log

from modelward.lifecycle import review

pytestmark = pytest.mark.sqlite_only

RNG = np.random.default_rng(7)


@pytest.fixture
def chat(workspace):
    """chat:1 in production, chat:2 registered (in development)."""
    endpoint(workspace, "chat", 2)
    to_stage(workspace, "chat", 1, "production")
    return workspace


def reasons(ws) -> tuple[str, ...]:
    (proposal,) = [p for p in review(ws, "chat") if p.version == 1]
    assert (proposal.to is None) == (not proposal.reasons)
    assert proposal.to in (None, "maintenance")
    return proposal.reasons


def serve(ws, count: int = 150, **columns_of) -> None:
    """``count`` calls of chat:1 in the last hours; ``columns_of[c][i]`` is call i's ``c``."""
    lists = {c: np.asarray(values).tolist() for c, values in columns_of.items()}
    write_log(ws, "chat", [
        call(1, timedelta(minutes=i), **{c: values[i] for c, values in lists.items()})
        for i in range(count)
    ])  # fmt: skip


def test_a_healthy_endpoint_is_kept(chat, cli):
    serve(chat, latency_ms=RNG.uniform(500, 3000, 150), cost=RNG.uniform(0.01, 0.05, 150))
    assert reasons(chat) == ()
    ran = cli("lifecycle", "review", "chat", "--json")
    assert ran.exit_code == 0 and all(p["to"] is None for p in ran.json)


def test_slow_by_p95_response_time(chat):
    latencies = RNG.uniform(5_000, 25_000, 150)
    serve(chat, latency_ms=latencies)
    p95 = np.percentile(latencies, 95) / 1000
    assert p95 > 15
    assert reasons(chat) == (f"p95 response time {p95:.2f} s in the log's last 7d is above 15 s",)

    set_policy(chat, models={"chat": {"retirement": {"endpoint_max_p95_s": 30}}})
    assert reasons(chat) == ()


def test_costly_by_cost_per_query(chat):
    costs = RNG.uniform(0.10, 0.30, 150)
    serve(chat, cost=costs)
    mean = float(np.mean(costs))
    assert mean > 0.15
    assert reasons(chat) == (f"cost per query {mean:.4f} in the log's last 7d is above 0.15",)


def test_failing_by_error_rate(chat):
    statuses = ["error"] * 20 + ["ok"] * 130
    serve(chat, status=statuses)
    assert reasons(chat) == (f"error rate {20 / 150:.1%} in the log's last 7d is above 10%",)


def test_inaccurate_by_labelled_calls(chat):
    calls = [call(1, timedelta(minutes=i), prediction="Paris") for i in range(150)]
    truth = ["Paris"] * 105 + ["Lyon"] * 45
    labels = [{"request_id": c["request_id"], "ts": c["ts"] + timedelta(seconds=1), "label": t}
              for c, t in zip(calls, truth, strict=True)]  # fmt: skip
    write_log(chat, "chat", calls, labels)
    accuracy = sum(t == "Paris" for t in truth) / len(truth)
    assert reasons(chat) == (f"accuracy {accuracy:.3f} on 150 labelled calls is below 0.80",)


def test_without_enough_calls_the_evaluation_run_decides(chat):
    serve(chat, count=50, latency_ms=[20_000.0] * 50)  # fewer than rollout.min_samples
    assert reasons(chat) == ()
    run = evaluated(chat, "chat", 1, accuracy=0.72, p95_s=16.5, errors=0.12)
    assert reasons(chat) == (
        f"accuracy 0.720 in evaluation run #{run.id} is below 0.80",
        f"p95 response time 16.50 s in evaluation run #{run.id} is above 15 s",
        f"error rate 12.0% in evaluation run #{run.id} is above 10%",
    )


def test_a_newer_version_more_accurate_or_cheaper(chat):
    mine = evaluated(chat, "chat", 1, accuracy=0.81, cost=0.10)
    theirs = evaluated(chat, "chat", 2, accuracy=0.99, cost=0.10)
    gain = (0.99 - 0.81) / 0.81
    assert reasons(chat) == (
        f"version 2 is {gain:.0%} more accurate (run #{theirs.id} against #{mine.id}, on qa.jsonl)",
    )
    theirs = evaluated(chat, "chat", 2, accuracy=0.82, cost=0.06)
    assert reasons(chat) == (
        f"version 2 is 40% cheaper per query (run #{theirs.id} against #{mine.id}, on qa.jsonl)",
    )
    theirs = evaluated(chat, "chat", 2, accuracy=0.82, cost=0.08)  # 20 %: under cheaper_by
    assert reasons(chat) == ()


def test_newer_versions_are_compared_on_the_same_dataset_only(chat):
    evaluated(chat, "chat", 1, accuracy=0.81)
    chat.registry.record_run(
        "llm-evaluation", model="chat", version=2, inputs={"dataset": "other.jsonl"},
        results={"metrics": {"accuracy": {"value": 0.99}}}, verdict="pass",
    )  # fmt: skip
    assert reasons(chat) == ()


def _rated(ws, **feedback_of) -> list[dict]:
    """150 calls of chat:1, each with one feedback row carrying ``feedback_of[c][i]``."""
    calls = [call(1, timedelta(minutes=i)) for i in range(150)]
    lists = {c: list(values) for c, values in feedback_of.items()}
    feedback = [
        {"request_id": c["request_id"], "ts": c["ts"] + timedelta(seconds=1),
         **{k: values[i] for k, values in lists.items()}}
        for i, c in enumerate(calls)
    ]  # fmt: skip
    write_log(ws, "chat", calls, feedback)
    return feedback


def test_unsatisfying_by_users_ratings(chat):
    ratings = RNG.choice([0.0, 0.5, 1.0], size=150, p=[0.5, 0.2, 0.3])
    _rated(chat, satisfaction=ratings.tolist())
    mean = float(np.mean(ratings))
    assert mean < 0.60
    assert reasons(chat) == (
        f"user satisfaction {mean:.2f} on 150 ratings in the log's last 7d is below 0.60",
    )
    set_policy(chat, llm={"min_satisfaction": 0.3})
    assert reasons(chat) == ()


def test_inaccurate_by_peoples_correct_marks(chat):
    marks = [True] * 100 + [False] * 50
    _rated(chat, correct=marks)
    assert reasons(chat) == (f"accuracy {100 / 150:.3f} on 150 labelled calls is below 0.80",)
