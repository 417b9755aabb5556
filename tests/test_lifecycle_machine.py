"""A Hypothesis state machine of the lifecycle against the real registry (SQLite).

The model is the table in registry/stages.py plus the gates and the production rule; after
every step the registry must agree with it: same stages, at most one version in production,
one history event per successful move, and nothing changed by a refused move.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, precondition, rule

from conftest import FEATURES, HEART_SPEC, make_pipeline
from modelward import ModelwardError, Stage, TransitionError, Workspace
from modelward.data import read_data
from modelward.registry.stages import ALLOWED

_DATA = read_data(f"{HEART_SPEC}#cleveland")[[*FEATURES, "target"]]
_MODEL = make_pipeline().fit(_DATA[FEATURES], _DATA["target"])
GATED = {Stage.STAGING, Stage.PRODUCTION}


class Lifecycle(RuleBasedStateMachine):
    @initialize()
    def start(self) -> None:
        self._tmp = tempfile.TemporaryDirectory()
        self.ws = Workspace.init(Path(self._tmp.name) / "ws")
        first = self.ws.register("heart", _MODEL, data=_DATA, target="target")
        self.sha = first.sha256
        self.stages: dict[int, Stage] = {1: Stage.DEVELOPMENT}
        self.validated: dict[int, bool] = {1: False}
        self.transitions = 0

    def teardown(self) -> None:
        if hasattr(self, "ws"):
            self.ws.close()
            self._tmp.cleanup()

    @precondition(lambda self: len(self.stages) < 4)
    @rule()
    def register(self) -> None:
        info = self.ws.registry.add_version(
            "heart", kind="artifact", flavor="sklearn", sha256=self.sha, input_schema={}
        )
        self.stages[info.version] = Stage.DEVELOPMENT
        self.validated[info.version] = False

    @rule(data=st.data(), passed=st.booleans())
    def validate(self, data: st.DataObject, passed: bool) -> None:
        version = data.draw(st.sampled_from(sorted(self.stages)))
        self.ws.registry.record_run(
            "validation",
            model="heart",
            version=version,
            inputs={},
            results={},
            verdict="pass" if passed else "fail",
        )
        self.validated[version] = passed

    @rule(
        data=st.data(),
        to=st.sampled_from(list(Stage)),
        force=st.booleans(),
        replace=st.booleans(),
    )
    def move(self, data: st.DataObject, to: Stage, force: bool, replace: bool) -> None:
        target = to
        version = data.draw(st.sampled_from(sorted(self.stages)))
        current = self.stages[version]
        incumbent = next(
            (v for v, s in self.stages.items() if s == Stage.PRODUCTION and v != version), None
        )
        expected_ok = (
            target in ALLOWED[current]
            and (target not in GATED or self.validated[version] or force)
            and (target != Stage.PRODUCTION or incumbent is None or replace)
        )
        before = self._observed()
        try:
            self.ws.transition(
                "heart", version, target, reason="machine", force=force, replace=replace
            )
        except TransitionError:
            assert not expected_ok, (version, current, target, force, replace)
            assert self._observed() == before  # a refused move changes nothing
            return
        except ModelwardError as exc:  # pragma: no cover - any other error is a bug
            raise AssertionError(f"unexpected {type(exc).__name__}: {exc}") from exc
        assert expected_ok, (version, current, target, force, replace)
        if target == Stage.PRODUCTION and incumbent is not None:
            self.stages[incumbent] = Stage.MAINTENANCE
            self.transitions += 1
        self.stages[version] = target
        self.transitions += 1

    def _observed(self) -> dict[int, str]:
        return {v.version: v.stage for v in self.ws.registry.list_versions("heart")}

    @invariant()
    def registry_agrees_with_the_model(self) -> None:
        if not hasattr(self, "ws"):
            return
        assert self._observed() == {v: s.value for v, s in self.stages.items()}
        production = [v for v, s in self.stages.items() if s == Stage.PRODUCTION]
        assert len(production) <= 1
        assert self.ws.registry.get_model("heart").production_version == (
            production[0] if production else None
        )
        moves = self.ws.registry.history("heart", kinds=("transition",))
        assert len(moves) == self.transitions


Lifecycle.TestCase.settings = settings(
    max_examples=25,
    stateful_step_count=15,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
test_lifecycle = Lifecycle.TestCase
