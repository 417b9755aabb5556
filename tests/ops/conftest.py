"""Fixtures for the ops tests: a workspace with a few registered versions."""

from __future__ import annotations

import pytest
from tests.conftest import FEATURES
from tests.ops.simulate import Clock, Traffic

from modelward.rollout import ServingTraffic


def add_versions(ws, cleveland, fitted, count: int, *, name: str = "heart", aucs=None):
    """Register ``count`` versions of ``name``; each gets a distinct artifact (C differs)."""
    from sklearn.base import clone

    versions = []
    for i in range(count):
        model = clone(fitted).set_params(model__C=1.0 + i)
        model.fit(cleveland[FEATURES], cleveland["target"])
        metrics = {"roc_auc": aucs[i]} if aucs is not None else None
        versions.append(ws.register(name, model, data=cleveland, target="target", metrics=metrics))
    return versions


def validated(ws, name: str, version: int) -> None:
    ws.registry.record_run(
        "validation", model=name, version=version, inputs={}, results={}, verdict="pass"
    )


def to_stage(ws, name: str, version: int, stage: str, **options) -> None:
    """Walk a version forward through the lifecycle to ``stage``."""
    order = ["development", "testing", "staging", "production"]
    validated(ws, name, version)
    current = ws.registry.get_version(name, version).stage
    for step in order[order.index(current) + 1 : order.index(stage) + 1]:
        ws.transition(name, version, step, reason="test", **options)


@pytest.fixture
def populated(workspace, cleveland, fitted):
    """Three versions of ``heart``: v1 production, v2 aliased champion, runs and events."""
    add_versions(workspace, cleveland, fitted, 3, aucs=[0.81, 0.9, 0.88])
    to_stage(workspace, "heart", 1, "production")
    workspace.registry.set_alias("heart", "champion", 2, reason="best")
    workspace.registry.record_run(
        "evaluation", model="heart", version=2, inputs={"data": "x.csv"},
        results={"roc_auc": 0.9}, verdict="pass",
    )  # fmt: skip
    return workspace


@pytest.fixture
def setup(workspace, cleveland, fitted, tmp_path):
    """heart:1 in production serving all traffic, heart:2 in staging; a clock and traffic
    (for canary rollouts)."""
    add_versions(workspace, cleveland, fitted, 2)
    to_stage(workspace, "heart", 1, "production")
    to_stage(workspace, "heart", 2, "staging")
    ServingTraffic(workspace.deployments).set_targets(
        "heart", "production", [(1, 100)], reason="first deploy", actor="tester",
        expected_revision=0,
    )  # fmt: skip
    clock = Clock()
    traffic = Traffic(root=workspace.root / "logs")
    return workspace, clock, traffic
