"""Per-model policy where it is applied: a model's ``models.NAME`` section changes its own
monitor checks, promotion gate and card, while another model keeps the workspace's values."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
import yaml
from tests.conftest import FEATURES, make_pipeline
from tests.monitor.conftest import END, serve_day

from modelward import Policy
from modelward.lifecycle import promote

pytestmark = pytest.mark.sqlite_only

ROOT = Path(__file__).resolve().parents[1]
PENGUINS = ROOT / "examples" / "penguins" / "data" / "penguins.csv"
MEASURES = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]


def _sections(ws, models: dict) -> None:
    raw = yaml.safe_load(ws.layout.policy.read_text())
    raw["models"] = models
    ws.layout.policy.write_text(yaml.safe_dump(raw, sort_keys=False))
    ws.__dict__.pop("policy", None)


def test_monitor_metrics_judges_each_model_by_its_own_thresholds(workspace, heart, cli):
    """The same classifier served to Switzerland under two names: the runbook's thresholds
    fail it; the section of ``relaxed`` sets each threshold just under what it measured."""
    from sklearn import metrics

    cleveland = heart[heart.site == "cleveland"].drop(columns="site").reset_index(drop=True)
    model = make_pipeline("logreg").fit(cleveland[FEATURES], cleveland["target"])
    rows = heart[heart.site == "switzerland"].drop(columns="site").reset_index(drop=True)
    for name in ("strict", "relaxed"):
        workspace.register(name, model, data=cleveland, target="target")
        serve_day(workspace, name, workspace.load_model(name, 1), rows, days_before=2)
    proba = model.predict_proba(rows[FEATURES])[:, 1]
    predicted = (proba >= 0.5).astype(int)
    truth = rows["target"].to_numpy()
    measured = {
        "accuracy": metrics.accuracy_score(truth, predicted),
        "roc_auc": metrics.roc_auc_score(truth, proba),
        "f1": metrics.f1_score(truth, predicted),
        "precision": metrics.precision_score(truth, predicted, zero_division=0),
        "recall": metrics.recall_score(truth, predicted),
    }
    relaxed = {k: round(max(0.0, v - 0.02), 3) for k, v in measured.items()}
    _sections(workspace, {"relaxed": {"thresholds": relaxed}})
    until = (END - timedelta(days=1)).isoformat()

    strict = cli("monitor", "metrics", "strict", "--last", "24h", "--until", until, "--json")
    assert measured["accuracy"] < Policy().thresholds.accuracy
    assert strict.exit_code == 1
    assert strict.json["inputs"]["thresholds"]["accuracy"] == Policy().thresholds.accuracy

    ran = cli("monitor", "metrics", "relaxed", "--last", "24h", "--until", until, "--json")
    assert ran.exit_code == 0, ran.stderr
    assert {k: ran.json["inputs"]["thresholds"][k] for k in relaxed} == relaxed
    found = ran.json["results"]["versions"]["v1"]["metrics"]
    assert all(found[k]["status"] == "pass" for k in relaxed)


@pytest.fixture
def two_regressors(workspace):
    """The same body-mass regressor as ``mass`` and ``mass-strict``, each with a passing
    evaluation run holding R² and MAE computed by scikit-learn."""
    from sklearn import metrics
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LinearRegression
    from sklearn.pipeline import Pipeline

    data = pd.read_csv(PENGUINS).dropna(subset=["body_mass_g"])
    frame = data[[*MEASURES, "body_mass_g"]]
    model = Pipeline([("impute", SimpleImputer()), ("model", LinearRegression())])
    model.fit(frame[MEASURES], frame["body_mass_g"])
    predicted = model.predict(frame[MEASURES])
    scores = {
        "r2": metrics.r2_score(frame["body_mass_g"], predicted),
        "mae": metrics.mean_absolute_error(frame["body_mass_g"], predicted),
    }
    for name in ("mass", "mass-strict"):
        workspace.register(name, model, data=frame, target="body_mass_g", task="regression")
        workspace.registry.record_run(
            "evaluation", model=name, version=1, inputs={"data": "penguins"},
            results={"metrics": scores}, verdict="pass",
        )  # fmt: skip
    return workspace, scores


def test_the_promotion_gate_applies_each_regressors_own_limits(two_regressors):
    ws, scores = two_regressors
    assert scores["r2"] >= Policy().thresholds.regression.r2_min
    r2_min = round(min(1.0, scores["r2"] + 0.05), 3)
    mae_max = round(scores["mae"] * 0.9, 1)
    limits = {"r2_min": r2_min, "mae_max": mae_max}
    _sections(ws, {"mass-strict": {"thresholds": {"regression": limits}}})

    default = {c["name"]: c for c in promote(ws, "mass", 1, dry_run=True).stages[0].checks}
    assert default["r2"]["passed"] and "mae" not in default  # mae_max is unset by default
    assert f"{scores['r2']:.3f}" in default["r2"]["detail"]

    strict = {c["name"]: c for c in promote(ws, "mass-strict", 1, dry_run=True).stages[0].checks}
    assert not strict["r2"]["passed"] and f"≥ {r2_min:.4g}" in strict["r2"]["detail"]
    assert not strict["mae"]["passed"] and f"≤ {mae_max:.4g}" in strict["mae"]["detail"]


def test_the_pessimistic_end_of_an_error_interval_is_its_high_bound(two_regressors):
    """With ``use_lower_ci`` a maximum (MAE) is judged on the interval's high end."""
    ws, scores = two_regressors
    mae = scores["mae"]
    interval = {"value": mae, "low": mae * 0.9, "high": mae * 1.1}
    ws.registry.record_run(
        "evaluation", model="mass", version=1, inputs={"data": "penguins"},
        results={"metrics": {"mae": interval}}, verdict="pass",
    )  # fmt: skip
    limit = round(mae * 1.05, 1)  # above the value, below the high end
    section = {"thresholds": {"use_lower_ci": True, "regression": {"mae_max": limit}}}
    _sections(ws, {"mass": section})
    checks = {c["name"]: c for c in promote(ws, "mass", 1, dry_run=True).stages[0].checks}
    assert not checks["mae"]["passed"] and f"{mae * 1.1:.3f}" in checks["mae"]["detail"]
    section["thresholds"]["use_lower_ci"] = False
    _sections(ws, {"mass": section})
    checks = {c["name"]: c for c in promote(ws, "mass", 1, dry_run=True).stages[0].checks}
    assert checks["mae"]["passed"] and f"{mae:.3f}" in checks["mae"]["detail"]


def test_lifecycle_review_applies_each_models_retirement_criteria(workspace, cleveland):
    """A one-feature classifier in production under two names: its accuracy is below the
    runbook's retirement floor; ``tolerant``'s section lowers the floor under it."""
    from sklearn import metrics
    from tests.ops.conftest import to_stage

    from modelward.lifecycle import review

    weak = make_pipeline("logreg").fit(cleveland[["fbs"]], cleveland["target"])
    accuracy = metrics.accuracy_score(cleveland["target"], weak.predict(cleveland[["fbs"]]))
    assert accuracy < Policy().retirement.min_accuracy
    for name in ("weak", "tolerant"):
        workspace.register(name, weak, data=cleveland[["fbs", "target"]], target="target",
                           metrics={"accuracy": accuracy})  # fmt: skip
        to_stage(workspace, name, 1, "production")
    floor = round(accuracy - 0.05, 2)
    _sections(workspace, {"tolerant": {"retirement": {"min_accuracy": floor}}})

    (weak_proposal,) = review(workspace, "weak")
    assert weak_proposal.to == "maintenance"
    assert any(f"accuracy {accuracy:.3f}" in r and "below 0.80" in r for r in weak_proposal.reasons)
    (tolerant,) = review(workspace, "tolerant")
    assert not any("accuracy" in r for r in tolerant.reasons) and tolerant.to is None


def test_a_canary_is_planned_with_its_models_rollout_policy(workspace, cleveland, fitted):
    from tests.ops.conftest import add_versions, to_stage

    from modelward.rollout import RolloutEngine, ServingTraffic

    traffic = ServingTraffic(workspace.deployments)
    for name in ("heart", "other"):
        add_versions(workspace, cleveland, fitted, 2, name=name)
        to_stage(workspace, name, 1, "production")
        to_stage(workspace, name, 2, "staging")
        traffic.set_targets(name, "production", [(1, 100)], reason="first", actor="t",
                            expected_revision=0)  # fmt: skip
    own = {"min_accuracy": 0.6, "stages": [{"weight": 10, "duration": "5m"}, {"weight": 100}]}
    _sections(workspace, {"heart": {"rollout": own}})
    engine = RolloutEngine(workspace)

    heart = engine.start("heart", 2, reason="new model")
    assert heart.plan["min_accuracy"] == 0.6
    assert [s["weight"] for s in heart.plan["stages"]] == [10, 100]
    assert traffic.current("heart", "production").targets == ((1, 90.0), (2, 10.0))

    other = engine.start("other", 2, reason="new model")
    assert other.plan["min_accuracy"] == Policy().rollout.min_accuracy
    assert [s["weight"] for s in other.plan["stages"]] == [
        s.weight for s in Policy().rollout.stages
    ]


def test_data_validate_against_a_version_uses_its_models_data_limits(
    workspace, cleveland, fitted, heart, cli
):
    from tests.conftest import HEART_SPEC

    for name in ("strict", "lenient"):
        workspace.register(name, fitted, data=cleveland, target="target")
    _sections(workspace, {"lenient": {"data": {"max_missing_rate": 1.0}}})
    hungarian = heart[heart.site == "hungarian"]
    spec = f"{HEART_SPEC}#hungarian"
    for name, status in (("strict", "fail"), ("lenient", "pass")):
        ran = cli("data", "validate", spec, "--against", f"{name}:1", "--check-missing", "--json")
        missing = {f["column"]: f for f in ran.json["findings"] if f["check"] == "missing"}
        for column in ("ca", "thal", "slope"):
            rate = hungarian[column].isna().mean()
            assert Policy().data.max_missing_rate < rate < 1.0
            assert missing[column]["value"] == round(rate, 4)
            assert missing[column]["status"] == status, (name, column)
