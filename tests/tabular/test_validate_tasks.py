"""``validate`` by task: performance thresholds, bias (checked against Fairlearn's MetricFrame)
and robustness for multiclass and regression; a bias check without protected columns is
*not run*, and the staging gate does not count it as passed."""

from __future__ import annotations

import numpy as np
import pytest
from fairlearn.metrics import MetricFrame
from sklearn import metrics as skm

from tabular.helpers import relax_policy
from tabular.tasks import register_breast, register_mass, register_species

pytestmark = pytest.mark.sqlite_only


def _write(frame, tmp_path, name):
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def _checks(out, group):
    return {c["name"]: c for c in out["checks"] if c["group"] == group}


def test_multiclass_validation(workspace, cli, tmp_path):
    relax_policy(workspace, bias={"protected": ["sex"], "min_group_size": 5})
    info, test, pipeline, cols = register_species(workspace)
    ran = cli("validate", info.model, "1", "--data", _write(test, tmp_path, "t"), "--json")
    out = ran.json
    assert out["task"] == "multiclass-classification"
    y = test["species"].to_numpy()
    pred = pipeline.predict(test[cols])
    perf = _checks(out, "performance")
    assert set(perf) == {
        "accuracy", "balanced_accuracy", "f1_macro", "precision_macro", "recall_macro"
    }  # fmt: skip
    assert perf["f1_macro"]["value"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert perf["accuracy"]["value"] == pytest.approx(skm.accuracy_score(y, pred))
    # bias: per-group accuracy and its largest gap, as Fairlearn computes them
    known = test["sex"].notna().to_numpy()
    frame = MetricFrame(
        metrics=skm.accuracy_score,
        y_true=y[known],
        y_pred=pred[known],
        sensitive_features=test["sex"][known],
    )
    sex = out["details"]["bias"]["sex"]
    for group, value in frame.by_group.items():
        assert sex["groups"][group]["accuracy"] == pytest.approx(value)
    assert sex["accuracy_difference"] == pytest.approx(frame.difference())
    bias = _checks(out, "bias")["sex: accuracy difference"]
    assert bias["passed"] == (frame.difference() <= bias["threshold"])
    # robustness by label: accuracy drop and flip rate, no crash with nulls in the categoricals
    robust = _checks(out, "robustness")
    assert robust["missing values: valid outputs"]["passed"]
    assert "gaussian noise: flip rate" in robust
    passed = all(c["passed"] for c in out["checks"])
    assert ran.exit_code == (0 if passed else 1)


def test_regression_validation(workspace, cli, tmp_path):
    relax_policy(workspace, bias={"protected": ["sex", "island", "age"], "min_group_size": 5})
    info, test, pipeline, cols = register_mass(workspace)
    test = test[test["body_mass_g"].notna()].reset_index(drop=True)
    ran = cli("validate", info.model, "1", "--data", _write(test, tmp_path, "t"), "--json")
    out = ran.json
    assert out["task"] == "regression"
    y = test["body_mass_g"].to_numpy()
    pred = pipeline.predict(test[cols])
    perf = _checks(out, "performance")
    assert perf["r2"]["value"] == pytest.approx(skm.r2_score(y, pred))
    assert perf["r2"]["op"] == ">="
    # bias: per-group MAE and its gap against Fairlearn
    overall = skm.mean_absolute_error(y, pred)
    for attribute in ("sex", "island"):
        known = test[attribute].notna().to_numpy()
        frame = MetricFrame(
            metrics=skm.mean_absolute_error,
            y_true=y[known],
            y_pred=pred[known],
            sensitive_features=test[attribute][known],
        )
        detail = out["details"]["bias"][attribute]
        for group, value in frame.by_group.items():
            assert detail["groups"][group]["mae"] == pytest.approx(value)
        assert detail["mae_difference"] == pytest.approx(frame.difference())
        assert detail["mae_ratio"] == pytest.approx(1 / frame.ratio())  # worst over best
        assert detail["relative_mae_difference"] == pytest.approx(frame.difference() / overall)
    age = _checks(out, "bias")["age: bias"]
    assert age["ran"] is False and age["required"] is False and "no column 'age'" in age["detail"]
    runs = workspace.registry.list_runs(model=info.model, kinds=["validation"])
    assert runs[0].verdict in ("pass", "fail")  # a not-required not-run check: not incomplete
    # robustness: change in error and share of predictions moved
    robust = _checks(out, "robustness")
    noise = out["details"]["robustness"]["gaussian noise"]
    assert robust["gaussian noise: MAE increase"]["value"] == pytest.approx(noise["mae_increase"])
    assert 0 <= noise["moved_share"] <= 1
    assert robust["missing values: valid outputs"]["passed"]
    passed = all(c["passed"] for c in out["checks"])
    assert ran.exit_code == (0 if passed else 1)


def test_regression_thresholds_come_from_the_policy(workspace, tmp_path):
    from modelward.policy.model import ThresholdsPolicy
    from modelward.validation.validate import task_thresholds

    chosen = ThresholdsPolicy.model_validate({"regression": {"r2_min": 0.9, "mae_max": 250}})
    assert task_thresholds(chosen, "regression") == [("r2", ">=", 0.9), ("mae", "<=", 250)]
    default = workspace.policy.thresholds.regression.r2_min
    assert task_thresholds(workspace.policy.thresholds, "regression") == [("r2", ">=", default)]


def test_bias_without_protected_columns_is_not_run_and_the_gate_refuses(workspace, cli, tmp_path):
    # breast-cancer data has no protected column: nothing to judge fairness on
    relax_policy(
        workspace,
        thresholds={"accuracy": 0.5, "roc_auc": 0.5, "f1": 0.5, "precision": 0.5, "recall": 0.5},
    )
    info, test, _, _ = register_breast(workspace)
    ran = cli("validate", info.model, "1", "--data", _write(test, tmp_path, "t"))
    assert ran.exit_code == 1
    assert "NOT RUN" in ran.stdout
    assert "incomplete" in ran.stderr and "no protected column" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    runs = workspace.registry.list_runs(model=info.model, kinds=["validation"])
    assert runs[0].verdict == "incomplete"
    assert runs[0].results["not_run"][0]["name"] == "bias"
    to_testing = cli("transition", info.model, "1", "--to", "testing", "--reason", "try")
    assert to_testing.exit_code == 0, to_testing.stderr
    moved = cli("transition", info.model, "1", "--to", "staging", "--reason", "try")
    assert moved.exit_code != 0
    assert "did not run: bias" in (moved.stdout + moved.stderr)
    assert workspace.registry.get_version(info.model, 1).stage != "staging"


def test_gate_accepts_a_not_run_check_only_when_not_required(workspace, monkeypatch):
    from modelward.registry.gates import validation_passed

    relax_policy(
        workspace,
        thresholds={"accuracy": 0.5, "roc_auc": 0.5, "f1": 0.5, "precision": 0.5, "recall": 0.5},
    )
    info, test, _, _ = register_breast(workspace)
    from modelward.validation import validate_version

    report = validate_version(workspace, info.model, 1, test)
    assert report.verdict == "incomplete"
    assert [c.status for c in report.checks if c.group == "bias"] == ["not run"]
    gate = validation_passed(workspace.registry, workspace.registry.get_version(info.model, 1))
    assert not gate.passed and "did not run: bias" in gate.detail
    # this model's policy does not require bias: the run passes, the gate says what did not run
    (workspace.root / "policy.yml").write_text(
        (workspace.root / "policy.yml").read_text()
        + f"models:\n  {info.model}:\n    bias: {{required: false}}\n"
    )
    workspace.__dict__.pop("policy", None)
    report = validate_version(workspace, info.model, 1, test)
    assert report.verdict == "pass" and report.not_run and not report.failed
    gate = validation_passed(workspace.registry, workspace.registry.get_version(info.model, 1))
    assert gate.passed and "not required by the policy: bias" in gate.detail


def test_binary_validation_uses_the_chosen_positive_class(workspace, tmp_path):
    relax_policy(
        workspace,
        thresholds={"accuracy": 0.5, "roc_auc": 0.5, "f1": 0.5, "precision": 0.5, "recall": 0.5},
    )
    info, test, pipeline, cols = register_breast(workspace)
    from modelward.validation import validate_version

    report = validate_version(workspace, info.model, 1, test, positive_class="benign")
    perf = {c.name: c for c in report.checks if c.group == "performance"}
    y, pred = test["diagnosis"], pipeline.predict(test[cols])
    assert perf["recall"].value == pytest.approx(skm.recall_score(y, pred, pos_label="benign"))
    assert np.isfinite(perf["roc_auc"].value)
