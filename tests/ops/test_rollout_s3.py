"""Canary rollouts judged on a prediction log in object storage: moto's S3 server over
HTTP, reached as AWS or MinIO would be. The controller reads the same Parquet log layout
from the bucket that it reads from a folder, prunes by date partition, and decides the same.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from tests.ops.conftest import add_versions, to_stage
from tests.ops.simulate import Behaviour, Clock, Traffic

from modelward.rollout import RolloutEngine, ServingTraffic

STAGES = "5:10m,25:10m,50:10m,100"
#: The metadata DB does not matter here (tests/ops/test_rollout.py runs both); the log does.
pytestmark = pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)


def drive(engine: RolloutEngine, rollout_id: int, clock: Clock, traffic: Traffic):
    """Five minutes of traffic with the current split, then a controller step; repeat
    until the rollout ends (two steps a stage: each step reads the bucket)."""
    decisions = []
    for _ in range(24):
        start = clock.now
        targets = engine.traffic.current("heart", "production").targets
        traffic.serve(start, clock.advance(300), targets)
        decisions.append(engine.step(rollout_id))
        if engine.get(rollout_id).state != "running":
            break
    return decisions


class BucketTraffic(Traffic):
    """:class:`Traffic` whose Parquet files land in the bucket (written locally, then put
    under the workspace's ``logs`` prefix as a server's uploads would be)."""

    def __init__(self, staging: Path, s3, prefix: str) -> None:
        super().__init__(root=staging)
        self.client = s3.client()
        self.bucket = s3.bucket
        self.prefix = prefix
        self.sent: set[Path] = set()

    def serve(self, start, end, targets) -> None:
        super().serve(start, end, targets)
        for path in sorted(self.root.rglob("*.parquet")):
            if path not in self.sent:
                key = f"{self.prefix}/{path.relative_to(self.root).as_posix()}"
                self.client.upload_file(str(path), self.bucket, key)
                self.sent.add(path)


@pytest.fixture
def in_s3(s3, monkeypatch):
    monkeypatch.setenv("MODELWARD_LOGS", f"s3://{s3.bucket}/logs")
    return s3


@pytest.fixture
def setup_s3(in_s3, workspace, cleveland, fitted, tmp_path):
    """As tests/ops/test_rollout.py's ``setup``, with the log in the bucket."""
    assert workspace.logs_url == f"s3://{in_s3.bucket}/logs"
    add_versions(workspace, cleveland, fitted, 2)
    to_stage(workspace, "heart", 1, "production")
    to_stage(workspace, "heart", 2, "staging")
    ServingTraffic(workspace.deployments).set_targets(
        "heart", "production", [(1, 100)], reason="first deploy", actor="tester",
        expected_revision=0,
    )  # fmt: skip
    traffic = BucketTraffic(tmp_path / "staging", in_s3, "logs")
    return workspace, Clock(), traffic, in_s3


def test_a_healthy_canary_is_promoted_on_a_log_in_s3(setup_s3):
    ws, clock, traffic, s3 = setup_s3
    traffic.behaviour = {1: Behaviour(), 2: Behaviour()}
    engine = RolloutEngine(ws, clock=clock)
    rollout = engine.start("heart", 2, stages=STAGES, reason="new model")
    decisions = drive(engine, rollout.id, clock, traffic)
    actions = [d.action for d in decisions]
    assert actions.count("advance") == 2 and actions[-1] == "promote"
    assert engine.get(rollout.id).state == "promoted"
    promote = ws.registry.get_run(decisions[-1].run_id)
    assert promote.results["canary"]["requests"] >= 100
    assert promote.results["stable"]["requests"] >= 100
    # it read the bucket: the objects it listed are under date partitions it asked for
    listed = [path for method, path, _ in s3.requests() if method == "GET" and "list-type" in path]
    assert any("date%3D2026-11-24" in path or "date=2026-11-24" in path for path in listed)


def test_an_erroring_canary_is_rolled_back_on_a_log_in_s3(setup_s3):
    ws, clock, traffic, _ = setup_s3
    traffic.behaviour = {1: Behaviour(error_rate=0.01), 2: Behaviour(error_rate=0.15)}
    engine = RolloutEngine(ws, clock=clock)
    rollout = engine.start("heart", 2, stages=STAGES)
    last = drive(engine, rollout.id, clock, traffic)[-1]
    assert last.action == "rollback" and last.weight == 5
    check = next(c for c in last.checks if c["name"] == "error_rate")
    assert check["status"] == "fail" and check["canary"] > 0.05
    assert engine.traffic.current("heart", "production").targets == ((1, 100.0),)
