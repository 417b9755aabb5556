"""The gated update pipeline: each stage's gates, its changes, and its undo on failure."""

from __future__ import annotations

import pytest
from tests.conftest import FEATURES, make_pipeline
from tests.ops.conftest import to_stage, validated

from modelward.lifecycle import promote
from modelward.rollout import ServingTraffic


def _metrics(model, data, features) -> dict[str, float]:
    from sklearn import metrics

    predicted = model.predict(data[features])
    score = model.predict_proba(data[features])[:, 1]
    y = data["target"]
    return {
        "accuracy": metrics.accuracy_score(y, predicted),
        "roc_auc": metrics.roc_auc_score(y, score),
        "f1": metrics.f1_score(y, predicted, zero_division=0),
        "precision": metrics.precision_score(y, predicted, zero_division=0),
        "recall": metrics.recall_score(y, predicted, zero_division=0),
    }


def _register(ws, data, features, *, seed=0, kind="logreg"):
    model = make_pipeline(kind, seed=seed).fit(data[features], data["target"])
    frame = data[features + ["target"]]
    return ws.register("heart", model, data=frame, target="target",
                       metrics=_metrics(model, data, features))  # fmt: skip


@pytest.fixture
def ready(workspace, cleveland):
    """v1 (forest) serves production; v2 (logreg) is registered, validated and tested."""
    _register(workspace, cleveland, FEATURES, kind="forest")
    to_stage(workspace, "heart", 1, "production")
    traffic = ServingTraffic(workspace.deployments)
    traffic.set_targets("heart", "production", [(1, 100)], reason="t", actor="t",
                        expected_revision=0)  # fmt: skip
    v2 = _register(workspace, cleveland, FEATURES)
    champion = workspace.registry.get_version("heart", 1).metrics["roc_auc"]
    if v2.metrics["roc_auc"] < champion:  # make v2 the stronger one, whatever the data says
        workspace.registry.set_alias("heart", "champion", 2)
    validated(workspace, "heart", 2)
    workspace.registry.record_run("prediction-tests", model="heart", version=2, inputs={},
                                  results={"cases": 5, "failed": 0}, verdict="pass")  # fmt: skip
    return workspace, traffic


def test_dry_run_prints_plan_and_changes_nothing(ready, cli):
    ws, traffic = ready
    before = ws.registry.history("heart")
    ran = cli("promote", "heart", "2", "--to", "production", "--dry-run")
    assert ran.exit_code == 0, ran.stderr + ran.stdout
    assert "plan for heart:2 → production" in ran.stdout
    assert "[ok] roc_auc" in ran.stdout and "[ok] test-predictions" in ran.stdout
    assert "canary against version(s) [1]: 5 % for 30 min, 25 % for 60 min" in ran.stdout
    assert ws.registry.history("heart") == before
    assert ws.registry.list_runs(kinds=["promote"]) == []


def test_full_pipeline_ends_in_a_canary(ready, cli):
    ws, traffic = ready
    ran = cli("promote", "heart", "2", "--to", "production", "--json")
    assert ran.exit_code == 0, ran.stdout
    assert ran.json["passed"] and ran.json["rollout_id"] is not None
    assert ws.registry.get_version("heart", 2).stage == "staging"
    assert traffic.current("heart", "staging").targets == ((2, 100.0),)
    assert traffic.current("heart", "production").targets == ((1, 95.0), (2, 5.0))
    verify = ran.json["stages"][2]["checks"][-1]
    assert verify["name"] == "verify" and "predicted 5 rows" in verify["detail"]
    assert ws.registry.list_runs(kinds=["promote"])[0].verdict == "pass"


def test_weak_model_stops_at_evaluation(workspace, cleveland, cli):
    _register(workspace, cleveland, ["fbs"])  # one uninformative feature
    ran = cli("promote", "heart", "1")
    assert ran.exit_code == 1
    assert "stopped at evaluation" in ran.stderr
    assert "[FAIL] roc_auc" in ran.stdout
    assert workspace.registry.get_version("heart", 1).stage == "development"
    run = workspace.registry.list_runs(kinds=["promote"])[0]
    assert run.verdict == "fail" and run.results["failed_stage"] == "evaluation"


def test_worse_than_champion_stops_at_evaluation(ready, cleveland, cli):
    ws, _ = ready
    ws.registry.set_alias("heart", "champion", 2)
    v3 = _register(ws, cleveland, ["age", "sex"])  # far fewer features than the champion
    assert v3.metrics["roc_auc"] < ws.registry.get_version("heart", 2).metrics["roc_auc"]
    ran = cli("promote", "heart", "3", "--json")
    assert ran.exit_code == 1
    champion = next(c for c in ran.json["stages"][0]["checks"] if c["name"] == "champion")
    assert champion["passed"] is False and "vs champion heart:2" in champion["detail"]


def test_missing_test_predictions_undoes_the_testing_move(ready, cleveland, cli):
    ws, _ = ready
    _register(ws, cleveland, FEATURES, seed=1)  # v3, evaluated but never tested
    ran = cli("promote", "heart", "3")
    assert ran.exit_code == 1 and "stopped at testing" in ran.stderr
    assert "modelward test-predictions heart 3" in ran.stdout
    assert ws.registry.get_version("heart", 3).stage == "development"
    moves = [(e.from_stage, e.to_stage) for e in ws.registry.history("heart", version=3)
             if e.kind == "transition"]  # fmt: skip
    assert moves == [("development", "testing"), ("testing", "development")]


def test_failed_verify_restores_staging(ready):
    ws, traffic = ready

    def broken(ws, name, version, env):
        return False, "predictions differ from offline ones"

    result = promote(ws, "heart", 2, verify=broken)
    assert result.failed_stage == "staging"
    assert result.stages[2].undone == ["staging deployment removed", "stage staging → testing"]
    assert traffic.current("heart", "staging").targets == ()
    assert [d.environment for d in ws.deployments.list("heart")] == ["production"]
    assert ws.deployments.revisions("heart", "staging")[-1].kind == "undeployed"
    assert ws.registry.get_version("heart", 2).stage == "testing"
    assert traffic.current("heart", "production").targets == ((1, 100.0),)


def test_first_production_deploy_is_direct(workspace, cleveland):
    _register(workspace, cleveland, FEATURES)
    validated(workspace, "heart", 1)
    workspace.registry.record_run("test-predictions", model="heart", version=1, inputs={},
                                  results={}, verdict="pass")  # fmt: skip
    result = promote(workspace, "heart", 1)
    assert result.passed and result.rollout_id is None
    assert workspace.registry.get_version("heart", 1).stage == "production"
    traffic = ServingTraffic(workspace.deployments)
    assert traffic.current("heart", "production").targets == ((1, 100.0),)


def test_promote_bad_input(ready, cli):
    ws, _ = ready
    ran = cli("promote", "heart", "2", "--to", "moon")
    assert ran.exit_code == 2 and "--to must be staging or production" in ran.stderr
    ran = cli("promote", "heart", "1")
    assert ran.exit_code == 2 and "is in production" in ran.stderr
    ran = cli("promote", "heart", "2", "--stages", "5:1m")
    assert ran.exit_code == 2 and "end at 100" in ran.stderr
    ran = cli("promote", "nosuch", "1")
    assert ran.exit_code == 2 and "no model named 'nosuch'" in ran.stderr
    assert ws.registry.list_runs(kinds=["promote"]) == []
    assert ws.registry.get_version("heart", 2).stage == "development"


def test_evaluation_run_metrics_win_over_registered_ones(ready, heart):
    """An evaluation run (value with CI bounds) on another hospital decides the gate."""
    from sklearn import metrics

    ws, _ = ready
    site = heart[heart.site == "hungarian"]
    model = ws.load_model("heart", 2)
    score = model.predict_proba(site[FEATURES])[:, 1]
    auc = metrics.roc_auc_score(site["target"], score)
    ws.registry.record_run(
        "evaluation", model="heart", version=2, inputs={"data": "hungarian"},
        results={"metrics": {"roc_auc": {"value": auc, "low": auc - 0.05, "high": auc + 0.05}}},
        verdict="pass",
    )  # fmt: skip
    result = promote(ws, "heart", 2, dry_run=True)
    check = next(c for c in result.stages[0].checks if c["name"] == "roc_auc")
    assert "evaluation run #" in check["detail"]
    assert check["passed"] == (auc >= ws.policy.thresholds.roc_auc)
    assert f"{auc:.3f}" in check["detail"]
