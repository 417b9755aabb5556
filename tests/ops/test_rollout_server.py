"""Canary rollouts against a real server: real requests, real feedback, the real log.

Runs when the serving layer (issue 4) is present; the controller uses the real clock with
compressed stages (durations of 0 s: a stage passes as soon as it has enough data) — in
process, or as real `modelward rollout run` processes with a short `--lease`.
"""

from __future__ import annotations

import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

pytestmark = pytest.mark.sqlite_only

pytest.importorskip("modelward.serving.run", reason="needs the serving layer (modelward serve)")

from tests.conftest import FEATURES, make_pipeline  # noqa: E402
from tests.ops.conftest import validated  # noqa: E402


def _row(frame, i: int) -> dict:
    row = frame[FEATURES].iloc[i].to_dict()
    return {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}


@pytest.fixture
def served(workspace, cleveland, fitted, fitted_forest):
    """v1 (logreg) serves production; v2 learned shuffled labels; v3 is a good forest."""
    from tests.serving.conftest import start_live, stop_live

    _versions(workspace, cleveland, fitted, fitted_forest)
    live = start_live(workspace)
    yield workspace, live
    stop_live(live)


def _versions(ws, cleveland, fitted, fitted_forest) -> None:
    from tests.serving.conftest import set_policy

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


def _traffic_round(
    live,
    cleveland,
    n: int,
    offset: int,
    *,
    missing_every: int = 0,
    failures: list | None = None,
    feedback: bool = True,
) -> set[int]:
    """n single-row requests; each answered one is followed by its true label as feedback
    (unless ``feedback=False``).

    With ``missing_every=k`` every k-th request leaves ``ca`` out (null, which the schema
    allows); a 500 for a row with a null is then allowed and its body kept in ``failures``.
    """
    seen = set()
    with live.client() as http:
        for i in range(n):
            j = (offset + i) % len(cleveland)
            row = _row(cleveland, j)
            if missing_every and i % missing_every == 0:
                row["ca"] = None
            reply = http.post("/v1/models/heart/predict", json={"inputs": row})
            if reply.status_code == 500 and failures is not None and None in row.values():
                failures.append(reply.json())
                continue
            assert reply.status_code == 200, reply.text
            body = reply.json()
            seen.add(body["version"])
            if not feedback:
                continue
            label = int(cleveland["target"].iloc[j])
            http.post("/v1/feedback", json={"request_id": body["request_id"], "label": label})
    live.flush()
    return seen


def _wait_for_revision(live, revision: int) -> None:
    with live.client() as http:
        live.wait_for(lambda: http.get("/readyz").json()["routes"][0]["revision"] >= revision)


def _drive(ws, live, cleveland, version: int, **traffic):
    from modelward.rollout import RolloutEngine

    engine = RolloutEngine(ws)
    rollout = engine.start("heart", version, stages="50:0s,100")
    _wait_for_revision(live, engine.traffic.current("heart", "production").revision)
    decisions = []
    for round_ in range(12):
        _traffic_round(live, cleveland, 40, offset=round_ * 40, **traffic)
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


def _register_without_imputer(ws, cleveland) -> int:
    """A real bug: a pipeline fitted on complete rows only, with no imputer, registered
    declaring ``ca`` and ``thal`` nullable (``--nullable``: the user believed it imputes;
    trying it alone, register would have refused their nulls). It answers complete rows
    and raises on a null: a crash at predict time, not bad input."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    complete = cleveland.dropna(subset=FEATURES)
    model = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=1000))])
    model.fit(complete[FEATURES], complete["target"])
    version = ws.register(
        "heart",
        model,
        data=cleveland[[*FEATURES, "target"]],
        target="target",
        accepts_missing=["ca", "thal"],
    ).version
    columns = ws.registry.get_version("heart", version).input_schema["columns"]
    assert next(c for c in columns if c["name"] == "ca")["nullable"]
    validated(ws, "heart", version)
    ws.transition("heart", version, "testing", reason="fixture")
    ws.transition("heart", version, "staging", reason="fixture")
    return version


def _logged(ws, version: int) -> object:
    """What the prediction log holds for ``version`` in production, over all time."""
    from datetime import UTC, datetime

    from modelward.rollout import PredictionLogMetrics

    since, until = datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC)
    return PredictionLogMetrics(ws.logs_url).window("heart", "production", version, since, until)


def test_canary_with_a_higher_error_rate_is_rolled_back(served, cleveland):
    ws, live = served
    crashing = _register_without_imputer(ws, cleveland)
    failures: list = []
    engine, rollout, decisions = _drive(
        ws, live, cleveland, crashing, missing_every=3, failures=failures
    )
    assert decisions[-1].action == "rollback", [d.reason for d in decisions]
    check = next(c for c in decisions[-1].checks if c["name"] == "error_rate")
    assert check["status"] == "fail"
    assert check["canary"] > 0.2 and check["stable"] == 0.0, check
    assert "error rate" in decisions[-1].reason and "stable 0.00%" in decisions[-1].reason
    assert engine.get(rollout.id).state == "rolled-back"
    # A model crash is a 500 in the one error shape, and a logged error of the canary only.
    assert failures and all(f["error"]["code"] == "model_failed" for f in failures)
    assert f"heart:{crashing} failed on these inputs (ValueError" in failures[0]["error"]["message"]
    canary, stable = _logged(ws, crashing), _logged(ws, 1)
    assert canary.errors == len(failures) and stable.errors == 0 and stable.requests > 0

    _wait_for_revision(live, engine.traffic.current("heart", "production").revision)
    assert _traffic_round(live, cleveland, 30, offset=0, missing_every=3) == {1}
    assert ws.registry.get_version("heart", crashing).stage == "staging"


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
    from modelward.verification import live_verifier

    ws, live = served
    passed, detail = live_verifier(live.url)(ws, "heart", 1, "production")
    assert passed, detail
    assert "answers match the artifact" in detail
    stored = ws.registry.list_runs(model="heart", kinds=["verification"])
    assert stored and stored[0].verdict == "pass" and stored[0].inputs["url"] == live.url

    passed, detail = live_verifier("http://127.0.0.1:9")(ws, "heart", 1, "production")
    assert not passed and "cannot reach the server" in detail


def _controller(log: Path, lease: float) -> subprocess.Popen:
    """`modelward rollout run --until-done` in its own process (the workspace from the env)."""
    from tests.conftest import ROOT

    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "300", "NO_COLOR": "1"}
    return subprocess.Popen(
        [sys.executable, "-m", "modelward.cli.main", "rollout", "run", "--until-done",
         "--interval", "0.4", "--lease", str(lease)],
        stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env,
    )  # fmt: skip


def _lease(ws, rollout_id: int):
    from modelward.registry.records import aware
    from modelward.store.tables import LeaseRow

    with ws.db.session(readonly=True) as session:
        row = session.get(LeaseRow, f"rollout:{rollout_id}")
        return None if row is None else (row.owner, aware(row.expires_at))


def _decisions(ws, rollout_id: int, action: str | None = None) -> list:
    """The rollout's recorded decisions, oldest first (only ``action`` ones if given)."""
    runs = ws.registry.list_runs(model="heart", kinds=["rollout"], limit=500)
    mine = [r for r in runs if r.inputs.get("rollout") == rollout_id]
    return sorted(
        (r for r in mine if action is None or r.results["action"] == action), key=lambda r: r.id
    )


def _until(predicate, *, timeout: float, what: str, between=lambda: None) -> None:
    """Poll ``predicate`` (calling ``between`` in between) for up to ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        between()
        time.sleep(0.05)


def test_a_killed_controller_is_resumed_after_its_lease_runs_out(served, cleveland, tmp_path):
    """Two real controller processes: the first advances a stage and is SIGKILLed; the
    second, already running, waits out the dead one's lease, then carries on from the
    stage where the first stopped and promotes. Traffic flows to the real server all along
    (without feedback: this is about the controller, not the accuracy check)."""
    from tests.serving.conftest import set_policy

    from modelward.rollout import RolloutEngine

    ws, live = served
    lease = 10.0  # a loaded machine can stall a controller for seconds; not past this
    set_policy(ws, "rollout", "min_samples", 20)  # frozen into the plan at start
    engine = RolloutEngine(ws)
    rollout = engine.start("heart", 3, stages="25:0s,50:0s,75:0s,100")
    _wait_for_revision(live, engine.traffic.current("heart", "production").revision)
    offset = iter(range(0, 10**6, 10))

    def traffic() -> None:
        _traffic_round(live, cleveland, 10, offset=next(offset), feedback=False)

    logs = [tmp_path / "first.log", tmp_path / "second.log"]
    first = _controller(logs[0], lease)
    second = None
    try:
        _until(lambda: _lease(ws, rollout.id) is not None, timeout=60, what="the first claim")
        owner, _ = _lease(ws, rollout.id)
        assert owner.split(":")[-2] == str(first.pid)
        second = _controller(logs[1], lease)
        refused = f"lease held by {owner}"
        _until(lambda: refused in logs[1].read_text(), timeout=60, what="the second to wait")

        # Traffic until the first controller has passed stage 1 (and recorded it); then it
        # waits for stage 2 data, which stops coming until it is dead.
        _until(lambda: _decisions(ws, rollout.id, "advance"), timeout=90,
               what="stage 1 to pass", between=traffic)  # fmt: skip
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=30)
        stopped_at = engine.get(rollout.id)
        assert (stopped_at.state, stopped_at.stage_index) == ("running", 1)
        _, expires = _lease(ws, rollout.id)  # the dead controller's final claim

        # Enough traffic for every remaining stage; the second acts only after expiry.
        _until(lambda: engine.get(rollout.id).state != "running", timeout=120,
               what="the rollout to finish", between=traffic)  # fmt: skip
        assert second.wait(timeout=60) == 0, logs[1].read_text()
    finally:
        for proc in (first, second):
            if proc is not None and proc.poll() is None:
                proc.kill()
                proc.wait(timeout=30)

    done = engine.get(rollout.id)
    assert done.state == "promoted", done.details
    runs = _decisions(ws, rollout.id)
    by = {r.id: "first" if r.actor == f"controller {owner}" else r.actor for r in runs}
    steps = [
        (r.inputs["stage"], r.results["action"], by[r.id] == "first")
        for r in runs
        if r.results["action"] not in ("wait", "start")
    ]
    # Stage 1 by the first controller; 2 and 3 by the second: none repeated, none skipped.
    assert steps == [(1, "advance", True), (2, "advance", False), (3, "promote", False)], steps
    # it waited out the dead one's claim (how many passes that took depends on the load)
    by_second = [r for r in runs if by[r.id] not in ("first", "tester")]
    assert by_second and all(r.created_at >= expires for r in by_second)
    stages = [r.inputs["stage"] for r in runs]
    assert stages == sorted(stages)  # the decision history runs forward only
    _wait_for_revision(live, engine.traffic.current("heart", "production").revision)
    assert _traffic_round(live, cleveland, 20, offset=0) == {3}


def test_the_server_runs_the_controller_itself(workspace, cleveland, fitted, fitted_forest):
    """`modelward serve --rollout-controller`: the same engine step in a server thread."""
    from tests.serving.conftest import set_policy, start_live, stop_live

    from modelward.rollout import RolloutEngine

    ws = workspace
    _versions(ws, cleveland, fitted, fitted_forest)
    set_policy(ws, "rollout", "check_interval", "1s")
    set_policy(ws, "rollout", "min_samples", 20)
    live = start_live(ws, rollout_controller=True)
    controller = live.app.controller
    try:
        assert controller.running
        engine = RolloutEngine(ws)  # starts the rollout only; the server judges it
        rollout = engine.start("heart", 3, stages="50:0s,100")
        _wait_for_revision(live, engine.traffic.current("heart", "production").revision)
        offset = iter(range(0, 10**6, 10))
        _until(
            lambda: engine.get(rollout.id).state != "running", timeout=120,
            what="the server's controller to finish the rollout",
            between=lambda: _traffic_round(live, cleveland, 10, next(offset), feedback=False),
        )  # fmt: skip
        assert engine.get(rollout.id).state == "promoted"
        acted = {r.actor for r in _decisions(ws, rollout.id) if r.results["action"] != "start"}
        assert acted and all(a.split(":")[-2] == str(os.getpid()) for a in acted), acted
        _wait_for_revision(live, engine.traffic.current("heart", "production").revision)
        assert _traffic_round(live, cleveland, 20, offset=0) == {3}
    finally:
        stop_live(live)
    assert not controller.running  # stopped with the server
