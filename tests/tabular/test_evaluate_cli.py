"""``modelward evaluate``: metrics with intervals, groups, paired comparison, report."""

from __future__ import annotations

import pytest
from sklearn.metrics import accuracy_score, f1_score, log_loss, roc_auc_score

from conftest import FEATURES, HEART_SPEC
from tabular.helpers import write_config

pytestmark = pytest.mark.sqlite_only

OTHERS = f"{HEART_SPEC}#hungarian,va,switzerland"


def test_cross_site_metrics_match_sklearn_and_are_stored(trained, cli, heart, tmp_path):
    report = tmp_path / "eval.html"
    ran = cli(
        "evaluate",
        "heart-disease",
        "1",
        "--data",
        OTHERS,
        "--by",
        "site",
        "--json",
        "--report",
        report,
    )
    assert ran.exit_code == 0, ran.stderr
    out = ran.json
    model = trained.version and cli  # noqa: F841 - the fixture trained the model
    from modelward.workspace import Workspace

    ws = Workspace.open()
    pipeline = ws.load_model("heart-disease", 1).model
    other = heart[heart.site != "cleveland"]
    proba = pipeline.predict_proba(other[FEATURES])[:, 1]
    pred = pipeline.predict(other[FEATURES])
    y = other["target"]
    assert out["metrics"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(y, proba))
    assert out["metrics"]["accuracy"]["value"] == pytest.approx(accuracy_score(y, pred))
    assert out["metrics"]["f1"]["value"] == pytest.approx(f1_score(y, pred))
    assert out["metrics"]["log_loss"]["value"] == pytest.approx(log_loss(y, proba))
    for m in out["metrics"].values():
        assert m["low"] <= m["value"] <= m["high"]
    swiss = other.site == "switzerland"
    assert out["groups"]["switzerland"]["rows"] == int(swiss.sum())
    assert out["groups"]["switzerland"]["metrics"]["accuracy"]["value"] == pytest.approx(
        accuracy_score(y[swiss], pred[swiss.to_numpy()])
    )
    run = ws.registry.get_run(out["run"])
    assert run.kind == "evaluation" and run.version == 1
    assert run.results["metrics"]["roc_auc"] == out["metrics"]["roc_auc"]
    html = report.read_text()
    assert html.count('<img src="data:image/png;base64,') == 4
    for title in ("ROC", "Precision-recall", "Calibration", "Confusion"):
        assert title in html
    ws.close()


def test_compare_with_the_champion(trained, cli, workspace, tmp_path):
    from modelward.training import load_config, train_model

    train_model(workspace, load_config(write_config(tmp_path, "forest")))
    assert cli("alias", "set", "heart-disease", "champion", "1").exit_code == 0
    ran = cli(
        "evaluate",
        "heart-disease",
        "2",
        "--data",
        OTHERS,
        "--compare-baseline",
        "champion",
        "--json",
    )
    assert ran.exit_code == 0, ran.stderr
    comparison = ran.json["comparison"]
    assert comparison["baseline"]["version"] == 1
    assert comparison["verdict"] in ("better", "worse", "mixed", "no significant difference")
    mc = comparison["tests"]["mcnemar_accuracy"]
    assert mc["difference"] == pytest.approx(comparison["differences"]["accuracy"]["difference"])
    assert "delong_roc_auc" in comparison["tests"]
    table = cli("evaluate", "heart-disease", "2", "--data", OTHERS, "--compare-baseline", "1")
    assert "verdict: v2 vs v1:" in table.stdout


def test_bad_evaluate_inputs_change_nothing(trained, cli, workspace, tmp_path):
    before = len(workspace.registry.list_runs())
    cases = [
        (("--compare-baseline", "champion"), "no version or alias 'champion'"),
        (("--compare-baseline", "1"), "is itself the baseline"),
        (("--compare-baseline", "--json"), "needs a value"),
        (("--by", "hospital"), "--by 'hospital'"),
        (("--target", "diagnosis"), "no target column 'diagnosis'"),
        (("--resamples", "10"), "too few"),
        (("--report", tmp_path / "x.pdf"), "report is HTML"),
    ]
    for extra, message in cases:
        ran = cli("evaluate", "heart-disease", "1", "--data", OTHERS, *extra)
        assert ran.exit_code == 2, (extra, ran.stderr)
        assert message in ran.stderr
    ran = cli("evaluate", "heart-disease", "9", "--data", OTHERS)
    assert ran.exit_code == 2 and "no version '9'" in ran.stderr
    no_features = tmp_path / "few.csv"
    no_features.write_text("age,target\n50,1\n60,0\n")
    ran = cli("evaluate", "heart-disease", "1", "--data", no_features)
    assert ran.exit_code == 2 and "lacks heart-disease:1's input column(s)" in ran.stderr
    assert len(workspace.registry.list_runs()) == before


def test_by_a_many_valued_number_uses_quartiles(trained, cli, cleveland):
    ran = cli(
        "evaluate",
        "heart-disease",
        "1",
        "--data",
        f"{HEART_SPEC}#cleveland",
        "--by",
        "age",
        "--json",
        "--resamples",
        "200",
    )
    groups = ran.json["groups"]
    assert len(groups) == 4
    assert sum(g["rows"] for g in groups.values()) == len(cleveland)
