"""Canary rollouts against a real server: real requests, real feedback, the real log.

Runs when the serving layer (issue 4) is present; the controller uses the real clock with
compressed stages (durations of 0 s: a stage passes as soon as it has enough data).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

pytest.importorskip("modelward.serving.run", reason="needs the serving layer (modelward serve)")

from tests.conftest import FEATURES, make_pipeline  # noqa: E402
from tests.ops.conftest import validated  # noqa: E402


def _row(frame, i: int) -> dict:
    row = frame[FEATURES].iloc[i].to_dict()
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


@pytest.fixture
def served(workspace, cleveland, fitted, fitted_forest):
    """v1 (logreg) serves production; v2 learned shuffled labels; v3 is a good forest."""
    from tests.serving.conftest import set_policy, start_live, stop_live

    ws = workspace
    data = cleveland[[*FEATURES, "target"]]
    shuffled = np.random.default_rng(0).permutation(cleveland["target"].to_numpy())
    bad = make_pipeline("logreg").fit(cleveland[FEATURES], shuffled)
    for model in (fitted, bad, fitted_forest):
        version = ws.register("heart", model, data=data, target="target").version
        validated(ws, "heart", version)
        ws.transition("heart", version, "testing", reason="fixture")
    for version in (2, 3):
        ws.transition("heart", version, "staging", reason="fixture")
    ws.deployments.deploy("heart", 1, "production", reason="fixture")
    set_policy(ws, "rollout", "min_samples", 40)
    set_policy(ws, "rollout", "min_labels", 40)
    live = start_live(ws)
    yield ws, live
    stop_live(live)


def _traffic_round(live, cleveland, n: int, offset: int) -> set[int]:
    """n single-row requests, each followed by its true label as feedback."""
    seen = set()
    with live.client() as http:
        for i in range(n):
            j = (offset + i) % len(cleveland)
            reply = http.post("/v1/models/heart/predict", json={"inputs": _row(cleveland, j)})
            assert reply.status_code == 200, reply.text
            body = reply.json()
            seen.add(body["version"])
            label = int(cleveland["target"].iloc[j])
            http.post("/v1/feedback", json={"request_id": body["request_id"], "label": label})
    live.flush()
    return seen


def _wait_for_revision(live, revision: int) -> None:
    with live.client() as http:
        live.wait_for(lambda: http.get("/readyz").json()["routes"][0]["revision"] >= revision)


def _drive(ws, live, cleveland, version: int):
    from modelward.rollout import RolloutEngine

    engine = RolloutEngine(ws)
    rollout = engine.start("heart", version, stages="50:0s,100")
    _wait_for_revision(live, engine.traffic.current("heart", "production").revision)
    decisions = []
    for round_ in range(12):
        _traffic_round(live, cleveland, 40, offset=round_ * 40)
        decisions.append(engine.step(rollout.id))
        if engine.get(rollout.id).state != "running":
            break
    return engine, rollout, decisions


def test_canary_with_worse_accuracy_on_feedback_is_rolled_back(served, cleveland):
    ws, live = served
    engine, rollout, decisions = _drive(ws, live, cleveland, 2)
    assert decisions[-1].action == "rollback", [d.reason for d in decisions]
    check = next(c for c in decisions[-1].checks if c["name"] == "accuracy")
    assert check["status"] == "fail" and check["canary"] < check["stable"]
    assert engine.get(rollout.id).state == "rolled-back"
    _wait_for_revision(live, engine.traffic.current("heart", "production").revision)
    assert _traffic_round(live, cleveland, 20, offset=0) == {1}
    assert ws.registry.get_version("heart", 2).stage == "staging"


def test_healthy_canary_is_promoted_and_served(served, cleveland):
    ws, live = served
    engine, rollout, decisions = _drive(ws, live, cleveland, 3)
    assert decisions[-1].action == "promote", [d.reason for d in decisions]
    assert ws.registry.get_version("heart", 3).stage == "production"
    assert ws.registry.get_version("heart", 1).stage == "maintenance"
    _wait_for_revision(live, engine.traffic.current("heart", "production").revision)
    assert _traffic_round(live, cleveland, 20, offset=0) == {3}


def test_the_pipeline_verifies_on_the_live_server(served):
    """`modelward promote --url` replays rows on the running server (`modelward verify`)."""
    from modelward.lifecycle.pipeline import live_verifier

    ws, live = served
    passed, detail = live_verifier(live.url)(ws, "heart", 1, "production")
    assert passed, detail
    assert "answers match the artifact" in detail
    stored = ws.registry.list_runs(model="heart", kinds=["verification"])
    assert stored and stored[0].verdict == "pass" and stored[0].inputs["url"] == live.url

    passed, detail = live_verifier("http://127.0.0.1:9")(ws, "heart", 1, "production")
    assert not passed and "cannot reach the server" in detail
