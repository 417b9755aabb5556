"""``evaluate`` for every task: multiclass and regression metrics with intervals and a paired
comparison, and a declared positive class for binary models with string labels. Every value
is checked against scikit-learn / SciPy on the same rows."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import wilcoxon
from sklearn import metrics as skm

from modelward.stats import bootstrap_ci, mcnemar, paired_bootstrap
from tabular.tasks import register_breast, register_mass, register_species

pytestmark = pytest.mark.sqlite_only

RESAMPLES = 200


def _write(frame, tmp_path, name):
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def test_multiclass_metrics_match_sklearn(workspace, cli, tmp_path):
    info, test, pipeline, cols = register_species(workspace)
    assert workspace.registry.get_model(info.model).task == "multiclass-classification"
    data = _write(test, tmp_path, "test")
    report = tmp_path / "species.html"
    ran = cli(
        "evaluate", info.model, "1", "--data", data, "--resamples", RESAMPLES, "--json",
        "--report", report,
    )  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    out = ran.json
    assert out["task"] == "multiclass-classification"
    assert "positive_class" not in out
    y = test["species"].to_numpy()
    pred = pipeline.predict(test[cols])
    proba = pipeline.predict_proba(test[cols])
    classes = list(pipeline.classes_)
    m = out["metrics"]
    expected = {
        "accuracy": skm.accuracy_score(y, pred),
        "balanced_accuracy": skm.balanced_accuracy_score(y, pred),
        "log_loss": skm.log_loss(y, proba, labels=classes),
        "roc_auc_ovr": skm.roc_auc_score(y, proba, multi_class="ovr", labels=classes),
    }
    for average in ("macro", "weighted"):
        expected[f"f1_{average}"] = skm.f1_score(y, pred, average=average)
        expected[f"precision_{average}"] = skm.precision_score(y, pred, average=average)
        expected[f"recall_{average}"] = skm.recall_score(y, pred, average=average)
    assert set(m) == set(expected)
    for name, value in expected.items():
        assert m[name]["value"] == pytest.approx(value), name
        assert m[name]["low"] <= m[name]["value"] <= m[name]["high"], name
    # the interval is the percentile bootstrap over rows, as for one metric alone
    alone = bootstrap_ci(
        lambda t, p: skm.f1_score(t, p, average="macro"), y, pred, resamples=RESAMPLES
    )
    assert m["f1_macro"]["low"] == pytest.approx(alone.low)
    assert m["f1_macro"]["high"] == pytest.approx(alone.high)
    matrix = skm.confusion_matrix(y, pred, labels=classes)
    assert out["confusion"] == {"labels": classes, "matrix": matrix.tolist()}
    precision, recall, f1, support = skm.precision_recall_fscore_support(y, pred, labels=classes)
    for i, label in enumerate(classes):
        row = out["per_class"][label]
        assert row["support"] == support[i]
        assert row["precision"]["value"] == pytest.approx(precision[i])
        assert row["recall"]["value"] == pytest.approx(recall[i])
        assert row["f1"]["value"] == pytest.approx(f1[i])
    html = report.read_text()
    assert "Per class" in html and "Confusion" in html


def test_multiclass_groups_and_paired_comparison(workspace, cli, tmp_path):
    info, test, base, cols = register_species(workspace, numeric=["flipper_length_mm"])
    cand_info, _, cand, cand_cols = register_species(workspace)
    assert cand_info.version == 2
    data = _write(test, tmp_path, "test")
    ran = cli(
        "evaluate", info.model, "2", "--data", data, "--compare-baseline", "1", "--by",
        "island", "--resamples", RESAMPLES, "--json",
    )  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    out = ran.json
    y = test["species"].to_numpy()
    pred_a, pred_b = base.predict(test[cols]), cand.predict(test[cand_cols])
    mc = mcnemar(pred_a == y, pred_b == y)
    test_mc = out["comparison"]["tests"]["mcnemar_accuracy"]
    assert test_mc["p_value"] == pytest.approx(mc.p_value)
    assert test_mc["only_b_correct"] == int(((pred_b == y) & (pred_a != y)).sum())
    diff = out["comparison"]["differences"]["f1_macro"]
    assert diff["difference"] == pytest.approx(
        skm.f1_score(y, pred_b, average="macro") - skm.f1_score(y, pred_a, average="macro")
    )
    assert diff["low"] <= diff["difference"] <= diff["high"]
    alone = paired_bootstrap(
        lambda t, p: skm.f1_score(t, p, average="macro"), y, pred_a, pred_b, resamples=RESAMPLES
    )
    assert (diff["low"], diff["high"], diff["p_value"]) == pytest.approx(
        (alone.low, alone.high, alone.p_value)
    )
    assert out["comparison"]["verdict"] in ("better", "no significant difference")
    island = test["island"] == "Biscoe"
    group = out["groups"]["Biscoe"]
    assert group["rows"] == int(island.sum())
    assert group["metrics"]["accuracy"]["value"] == pytest.approx(
        skm.accuracy_score(y[island], pred_b[island.to_numpy()])
    )


def test_regression_metrics_match_sklearn(workspace, cli, tmp_path):
    info, test, pipeline, cols = register_mass(workspace)
    assert workspace.registry.get_model(info.model).task == "regression"
    data = _write(test, tmp_path, "test")
    report = tmp_path / "mass.html"
    ran = cli(
        "evaluate", info.model, "1", "--data", data, "--resamples", RESAMPLES, "--json",
        "--report", report,
    )  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    out = ran.json
    labelled = test[test["body_mass_g"].notna()]
    y = labelled["body_mass_g"].to_numpy()
    pred = pipeline.predict(labelled[cols])
    assert out["task"] == "regression" and out["rows"] == len(y)
    expected = {
        "mae": skm.mean_absolute_error(y, pred),
        "rmse": skm.root_mean_squared_error(y, pred),
        "r2": skm.r2_score(y, pred),
        "mape": skm.mean_absolute_percentage_error(y, pred),
        "median_absolute_error": skm.median_absolute_error(y, pred),
    }
    m = out["metrics"]
    assert set(m) == set(expected)
    for name, value in expected.items():
        assert m[name]["value"] == pytest.approx(value), name
        assert m[name]["low"] <= m[name]["value"] <= m[name]["high"], name
    alone = bootstrap_ci(skm.median_absolute_error, y, pred, resamples=RESAMPLES)
    assert m["median_absolute_error"]["low"] == pytest.approx(alone.low)
    assert m["median_absolute_error"]["high"] == pytest.approx(alone.high)
    html = report.read_text()
    assert "Residual" in html and "Predicted against actual" in html


def test_regression_mape_is_not_reported_with_zero_targets(workspace, cli, tmp_path):
    info, test, pipeline, cols = register_mass(workspace)
    test = test[test["body_mass_g"].notna()].reset_index(drop=True)
    test.loc[0, "body_mass_g"] = 0
    ran = cli(
        "evaluate", info.model, "1", "--data", _write(test, tmp_path, "zeros"),
        "--resamples", RESAMPLES, "--json",
    )  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    assert "mape" not in ran.json["metrics"]
    assert "target of 0" in ran.json["notes"][0]
    assert ran.json["metrics"]["mae"]["value"] == pytest.approx(
        skm.mean_absolute_error(test["body_mass_g"], pipeline.predict(test[cols]))
    )


def test_regression_paired_comparison(workspace, cli, tmp_path):
    info, test, base, cols = register_mass(workspace, numeric=["bill_depth_mm"])
    _, _, cand, cand_cols = register_mass(workspace)
    test = test[test["body_mass_g"].notna()].reset_index(drop=True)
    ran = cli(
        "evaluate", info.model, "2", "--data", _write(test, tmp_path, "test"),
        "--compare-baseline", "1", "--resamples", RESAMPLES, "--json",
    )  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    comp = ran.json["comparison"]
    y = test["body_mass_g"].to_numpy()
    err_a = np.abs(base.predict(test[cols]) - y)
    err_b = np.abs(cand.predict(test[cand_cols]) - y)
    expected = wilcoxon(err_b, err_a)
    got = comp["tests"]["wilcoxon_absolute_error"]
    assert got["p_value"] == pytest.approx(expected.pvalue)
    assert got["statistic"] == pytest.approx(expected.statistic)
    mae = comp["differences"]["mae"]
    assert mae["difference"] == pytest.approx(err_b.mean() - err_a.mean())
    assert mae["low"] <= mae["difference"] <= mae["high"]
    pred_a, pred_b = base.predict(test[cols]), cand.predict(test[cand_cols])
    alone = paired_bootstrap(skm.mean_absolute_error, y, pred_a, pred_b, resamples=RESAMPLES)
    assert (mae["low"], mae["high"], mae["p_value"]) == pytest.approx(
        (alone.low, alone.high, alone.p_value)
    )
    # the full model is much closer on body mass than the bill-depth-only one
    assert comp["verdict"] == "better"
    assert "Wilcoxon absolute error" in comp["significant"]["better"]


def test_binary_string_labels_positive_class_declared(workspace, cli, tmp_path):
    info, test, pipeline, cols = register_breast(workspace)
    data = _write(test, tmp_path, "test")
    y = test["diagnosis"]
    pred = pipeline.predict(test[cols])
    proba = pipeline.predict_proba(test[cols])
    classes = list(pipeline.classes_)
    # not declared: the second of the sorted classes, and the output says so
    ran = cli("evaluate", info.model, "1", "--data", data, "--resamples", RESAMPLES)
    assert ran.exit_code == 0, ran.stderr
    assert "positive class: malignant" in ran.stdout
    assert "second of the sorted classes" in ran.stdout
    # declared on the command line: benign's recall is the specificity of malignant
    ran = cli(
        "evaluate", info.model, "1", "--data", data, "--positive-class", "benign",
        "--resamples", RESAMPLES, "--json",
    )  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    out = ran.json
    assert out["positive_class"] == "benign"
    assert out["positive_class_source"] == "chosen with --positive-class"
    m = out["metrics"]
    assert m["recall"]["value"] == pytest.approx(skm.recall_score(y, pred, pos_label="benign"))
    assert m["precision"]["value"] == pytest.approx(
        skm.precision_score(y, pred, pos_label="benign")
    )
    score = proba[:, classes.index("benign")]
    assert m["roc_auc"]["value"] == pytest.approx(skm.roc_auc_score(y == "benign", score))
    assert out["positives"] == int((y == "benign").sum())


def test_binary_positive_class_recorded_with_the_version(workspace, cli, tmp_path):
    info, test, pipeline, cols = register_breast(workspace, tags={"positive_class": "benign"})
    ran = cli(
        "evaluate", info.model, "1", "--data", _write(test, tmp_path, "test"),
        "--resamples", RESAMPLES, "--json",
    )  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    assert ran.json["positive_class"] == "benign"
    assert ran.json["positive_class_source"] == "recorded"


def test_positive_class_not_among_the_labels_is_a_one_line_error(workspace, cli, tmp_path):
    info, test, _, _ = register_breast(workspace)
    ran = cli(
        "evaluate", info.model, "1", "--data", _write(test, tmp_path, "test"),
        "--positive-class", "cancer",
    )  # fmt: skip
    assert ran.exit_code == 2
    assert "positive class 'cancer'" in ran.stderr
    assert "benign, malignant" in ran.stderr
    assert "Traceback" not in ran.stderr and len(ran.stderr.strip().splitlines()) == 1


def test_positive_class_on_a_multiclass_model_is_a_one_line_error(workspace, cli, tmp_path):
    info, test, _, _ = register_species(workspace)
    ran = cli(
        "evaluate", info.model, "1", "--data", _write(test, tmp_path, "test"),
        "--positive-class", "Adelie",
    )  # fmt: skip
    assert ran.exit_code == 2
    assert "--positive-class is for binary classifiers" in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1


def test_commands_that_read_binary_data_still_refuse_other_tasks(workspace):
    from modelward.errors import DataError
    from modelward.evaluation.scoring import score_version

    info, test, _, _ = register_mass(workspace)
    with pytest.raises(DataError, match="is a regression model; this command covers binary"):
        score_version(workspace, info.model, 1, test, target="body_mass_g")


def test_a_models_policy_declares_its_positive_class(workspace, cli, tmp_path):
    """No tag on the version: ``models: {breast-cancer: {positive_class: benign}}`` makes
    benign the class recall, precision and F1 are about."""
    info, test, pipeline, cols = register_breast(workspace)
    policy = workspace.layout.policy
    policy.write_text(
        policy.read_text() + f"models:\n  {info.model}:\n    positive_class: benign\n"
    )
    workspace.__dict__.pop("policy", None)
    data = tmp_path / "test.csv"
    test.to_csv(data, index=False)
    ran = cli("evaluate", info.model, "1", "--data", data, "--json")
    assert ran.exit_code == 0, ran.stderr
    y, pred = test["diagnosis"], pipeline.predict(test[cols])
    assert ran.json["positive_class"] == "benign"
    assert ran.json["metrics"]["recall"]["value"] == pytest.approx(
        skm.recall_score(y, pred, pos_label="benign")
    )
