"""Property test of the rollout state machine: any sequence of operator commands and
controller steps keeps the invariants a user relies on."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from tests.ops.conftest import add_versions, to_stage
from tests.ops.simulate import Clock

from modelward.errors import ModelwardError
from modelward.rollout import RolloutEngine, ServingTraffic
from modelward.rollout.records import LIVE, TERMINAL

OPS = st.lists(
    st.sampled_from(["pause", "resume", "advance", "abort", "step", "tick"]), max_size=12
)


def _norm(targets):
    return sorted((v, round(w, 6)) for v, w in targets if w > 0)


@settings(
    max_examples=25,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(ops=OPS)
def test_any_command_sequence_keeps_the_invariants(machine, ops):
    ws, engine, clock = machine
    serving = sorted(engine.traffic.current("heart", "production").versions)
    assert len(serving) == 1
    canary = 2 if serving == [1] else 1
    rollout = engine.start("heart", canary, stages="10:5m,50:5m,100")
    try:
        _play(ws, engine, clock, rollout, ops, canary, serving)
    finally:
        if engine.get(rollout.id).state in LIVE:
            engine.abort("heart")


def _play(ws, engine, clock, rollout, ops, canary, serving):
    for op in ops:
        before = engine.get(rollout.id)
        try:
            if op == "step":
                engine.step(rollout.id)
            elif op == "tick":
                clock.advance(120)
            else:
                getattr(engine, op)("heart")
        except ModelwardError:
            assert engine.get(rollout.id).state == before.state  # a refused command changes nothing
        now = engine.get(rollout.id)
        live = engine.list_rollouts(live=True)
        assert len(live) <= 1
        assert now.state in LIVE + TERMINAL
        if before.state in TERMINAL:
            assert now.state == before.state  # terminal states are final
        # The traffic split always matches what the rollout's state calls for.
        assert _norm(engine.traffic.current("heart", "production").targets) == _norm(
            now.desired_targets()
        )
        production = [v.version for v in ws.registry.list_versions("heart", stage="production")]
        if now.state == "promoted":
            assert production == [canary]
        else:
            assert production == serving


@__import__("pytest").fixture
def machine(workspace, cleveland, fitted):
    add_versions(workspace, cleveland, fitted, 2)
    to_stage(workspace, "heart", 1, "production")
    to_stage(workspace, "heart", 2, "staging")
    ServingTraffic(workspace.deployments).set_targets(
        "heart", "production", [(1, 100)], reason="t", actor="t", expected_revision=0
    )
    clock = Clock()
    return workspace, RolloutEngine(workspace, clock=clock), clock
