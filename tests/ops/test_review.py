"""Lifecycle review: the retirement criteria propose moves; --apply performs them."""

from __future__ import annotations

import pytest
from tests.ops.conftest import add_versions, to_stage
from tests.ops.simulate import Behaviour, Traffic

from modelward.lifecycle import apply_review, review
from modelward.rollout import ServingTraffic


@pytest.fixture
def fleet(workspace, cleveland, fitted):
    """v1 production (AUC 0.70), v2 staging (AUC 0.90, 29 % better), v3 development."""
    add_versions(workspace, cleveland, fitted, 3, aucs=[0.70, 0.90, 0.71])
    to_stage(workspace, "heart", 1, "production")
    to_stage(workspace, "heart", 2, "staging")
    ServingTraffic(workspace.deployments).set_targets(
        "heart", "production", [(1, 100)], reason="t", actor="t", expected_revision=0
    )
    return workspace


def _by_version(proposals):
    return {p.version: p for p in proposals}


def test_superseded_production_version_goes_to_maintenance(fleet, cli):
    ran = cli("lifecycle", "review", "heart", "--json")
    assert ran.exit_code == 0, ran.stderr
    (proposal,) = ran.json
    assert proposal["version"] == 1 and proposal["to"] == "maintenance"
    assert "version 2 is 29% better by roc_auc" in proposal["reasons"][0]
    assert fleet.registry.get_version("heart", 1).stage == "production"  # review only

    ran = cli("lifecycle", "review", "heart", "--apply")
    assert ran.exit_code == 0, ran.stderr
    assert fleet.registry.get_version("heart", 1).stage == "maintenance"
    event = fleet.registry.history("heart", version=1)[-1]
    assert event.to_stage == "maintenance" and "lifecycle review" in event.reason


def test_error_rate_latency_and_findings_from_the_log(fleet):
    now_traffic = Traffic(root=fleet.root / "logs", per_minute=50)
    now_traffic.behaviour = {1: Behaviour(error_rate=0.3, latency_ms=900)}
    from modelward.timeutil import utcnow

    end = utcnow()
    from datetime import timedelta

    now_traffic.serve(end - timedelta(minutes=10), end, [(1, 100)])
    fleet.registry.record_run("bias", model="heart", version=1, inputs={}, results={},
                              verdict="fail")  # fmt: skip
    (proposal,) = review(fleet, "heart")
    text = " | ".join(proposal.reasons)
    assert "error rate" in text and "above 10%" in text
    assert "p95 latency" in text and "bias finding" in text


def test_retirement_leaves_deployments_first_and_respects_blockers(fleet):
    ws = fleet
    to_stage(ws, "heart", 2, "production", replace=True)  # v1 -> maintenance
    traffic = ServingTraffic(ws.deployments)
    state = traffic.current("heart", "production")
    traffic.set_targets("heart", "production", [(1, 20), (2, 80)], reason="t", actor="t",
                        expected_revision=state.revision)  # fmt: skip
    ws.transition("heart", 1, "deprecated", reason="old")  # deprecated while serving 20 %
    ws.registry.set_alias("heart", "legacy", 1)
    (proposal,) = [p for p in review(ws, "heart") if p.version == 1]
    assert proposal.to == "retired" and "alias legacy" in proposal.blocked
    apply_review(ws, "heart")
    assert ws.registry.get_version("heart", 1).stage == "deprecated"  # blocked, untouched

    ws.registry.delete_alias("heart", "legacy")
    done = _by_version(apply_review(ws, "heart"))
    assert done[1].applied and done[1].to == "retired"
    assert ws.registry.get_version("heart", 1).stage == "retired"
    assert traffic.current("heart", "production").targets == ((2, 100.0),)
    assert ws.registry.list_runs(kinds=["lifecycle-review"])[0].verdict == "info"


def test_only_serving_version_is_not_retired(fleet):
    ws = fleet
    to_stage(ws, "heart", 2, "production", replace=True)
    ws.transition("heart", 1, "deprecated", reason="old")  # still the only target
    (proposal,) = [p for p in review(ws, "heart") if p.version == 1]
    assert "only version serving production" in proposal.blocked


def test_review_bad_input(fleet, cli):
    ran = cli("lifecycle", "review", "heart", "--window", "soon")
    assert ran.exit_code == 2 and "--window 'soon' is not a duration" in ran.stderr
    ran = cli("lifecycle", "review", "nosuch")
    assert ran.exit_code == 2 and "no model named 'nosuch'" in ran.stderr
    assert fleet.registry.get_version("heart", 1).stage == "production"


def test_a_regressor_is_reviewed_on_its_absolute_error_not_on_accuracy(workspace):
    """Body mass from the penguins' measurements: served with errors far above the MAE
    recorded at evaluation, it is proposed for maintenance; with errors like the recorded
    ones, nothing is proposed (accuracy, a classifier's criterion, never applies)."""
    from datetime import timedelta

    import numpy as np
    import pandas as pd
    from sklearn.linear_model import LinearRegression
    from tests.ops.simulate import write_rows

    from conftest import ROOT
    from modelward.timeutil import utcnow

    features = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]
    data = pd.read_csv(ROOT / "examples" / "penguins" / "data" / "penguins.csv")
    data = data.dropna(subset=[*features, "body_mass_g"]).reset_index(drop=True)
    model = LinearRegression().fit(data[features], data["body_mass_g"])
    predicted = model.predict(data[features])
    mae = float(np.abs(predicted - data["body_mass_g"]).mean())
    workspace.register(
        "mass", model, data=data[[*features, "body_mass_g"]], target="body_mass_g",
        metrics={"mae": mae},
    )  # fmt: skip
    for stage in ("testing", "staging", "production"):
        workspace.transition("mass", 1, stage, reason="test", force=True)
    end = utcnow()

    def serve(offset: float, tag: str) -> None:
        rows, labels = [], []
        for i, value in enumerate(predicted[:100]):
            at = end - timedelta(minutes=30) + timedelta(seconds=i)
            rows.append({"request_id": f"{tag}{i}", "ts": at, "version": 1,
                         "environment": "production", "status": "ok", "latency_ms": 2.0,
                         "prediction": repr(float(value) + offset)})  # fmt: skip
            labels.append({"request_id": f"{tag}{i}", "ts": at + timedelta(seconds=1),
                           "label": str(float(data["body_mass_g"][i]))})  # fmt: skip
        write_rows(workspace.root / "logs", "mass", rows, labels)

    serve(0.0, "a")
    assert [p for p in review(workspace, "mass") if p.to is not None] == []
    serve(3 * mae, "b")  # half of the window is now far off
    (proposal,) = review(workspace, "mass")
    assert proposal.to == "maintenance"
    text = " | ".join(proposal.reasons)
    assert "mean absolute error" in text and "above the recorded" in text
    assert "accuracy" not in text
