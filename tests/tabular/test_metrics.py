"""Every evaluation metric against scikit-learn on the same data, and the vectorised
bootstrap against the row-loop bootstrap (same resamples, same numbers)."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn import metrics as skm

from conftest import FEATURES
from modelward.evaluation.compare import compare_paired, paired_metric_differences
from modelward.evaluation.metrics import (
    BinaryData,
    bootstrap_metrics,
    calibration_table,
    confusion,
    point_metrics,
    threshold_table,
)
from modelward.stats import bootstrap_ci, paired_bootstrap


def _ece(y, p):
    bins = np.searchsorted(np.linspace(0, 1, 11)[1:-1], p)  # calibration_curve's bins
    return sum(abs((y[bins == b] - p[bins == b]).sum()) for b in range(10)) / len(y)


SKLEARN = {
    "accuracy": lambda y, yhat, p: skm.accuracy_score(y, yhat),
    "precision": lambda y, yhat, p: skm.precision_score(y, yhat, zero_division=0),
    "recall": lambda y, yhat, p: skm.recall_score(y, yhat, zero_division=0),
    "specificity": lambda y, yhat, p: skm.recall_score(1 - y, 1 - yhat, zero_division=0),
    "f1": lambda y, yhat, p: skm.f1_score(y, yhat, zero_division=0),
    "roc_auc": lambda y, yhat, p: skm.roc_auc_score(y, p),
    "average_precision": lambda y, yhat, p: skm.average_precision_score(y, p),
    "log_loss": lambda y, yhat, p: skm.log_loss(y, p),
    "brier_score": lambda y, yhat, p: skm.brier_score_loss(y, p),
    "calibration_error": lambda y, yhat, p: _ece(y, p),
}


@pytest.fixture(scope="module")
def scored(heart, fitted):
    """Cleveland's model on the other three sites (ties in scores included by rounding)."""
    other = heart[heart.site != "cleveland"]
    p = np.round(fitted.predict_proba(other[FEATURES])[:, 1], 2)
    y = other["target"].to_numpy()
    return BinaryData.of(y, (p >= 0.5).astype(int), p)


def test_the_metric_list_is_complete():
    assert set(SKLEARN) == set(point_metrics(BinaryData.of([0, 1], [0, 1], [0.2, 0.8])))


@pytest.mark.parametrize("name", sorted(SKLEARN))
def test_point_metric_matches_sklearn(scored, name):
    expected = SKLEARN[name](scored.y_true, scored.y_pred, scored.y_score)
    assert point_metrics(scored)[name] == pytest.approx(expected, rel=1e-12, abs=1e-12)


@pytest.mark.parametrize("name", sorted(SKLEARN))
def test_bootstrap_interval_matches_a_loop_over_sklearn(scored, name):
    ours = bootstrap_metrics(scored, resamples=200, seed=3)[name]

    def statistic(y, yhat, p):
        return SKLEARN[name](y, yhat, p)

    loop = bootstrap_ci(
        statistic, scored.y_true, scored.y_pred, scored.y_score, resamples=200, seed=3
    )
    assert ours["low"] == pytest.approx(loop.low, rel=1e-9)
    assert ours["high"] == pytest.approx(loop.high, rel=1e-9)
    assert ours["low"] <= ours["value"] <= ours["high"]


def test_one_class_resamples_leave_auc_undefined_not_wrong():
    data = BinaryData.of([1, 1, 1, 0], [1, 1, 0, 0], [0.9, 0.8, 0.4, 0.1])
    result = bootstrap_metrics(data, resamples=300, seed=0)["roc_auc"]
    loop = bootstrap_ci(skm.roc_auc_score, data.y_true, data.y_score, resamples=300, seed=0)
    assert (result["low"], result["high"]) == (loop.low, loop.high)


def test_confusion_matches_sklearn(scored):
    tn, fp, fn, tp = skm.confusion_matrix(scored.y_true, scored.y_pred).ravel()
    assert confusion(scored) == {"tn": tn, "fp": fp, "fn": fn, "tp": tp}


def test_calibration_table_matches_sklearn_calibration_curve(scored):
    from sklearn.calibration import calibration_curve

    observed, predicted = calibration_curve(scored.y_true, scored.y_score, n_bins=10)
    table = calibration_table(scored.y_true, scored.y_score)
    assert [r["observed_rate"] for r in table] == pytest.approx(list(observed))
    assert [r["mean_predicted"] for r in table] == pytest.approx(list(predicted))


def test_threshold_table_matches_sklearn(scored):
    for row in threshold_table(scored.y_true, scored.y_score, resamples=200):
        low, high = row["f1_ci"]
        assert low <= row["f1"] <= high
        yhat = (scored.y_score >= row["threshold"]).astype(int)
        assert row["precision"] == pytest.approx(
            skm.precision_score(scored.y_true, yhat, zero_division=0)
        )
        assert row["recall"] == pytest.approx(skm.recall_score(scored.y_true, yhat))
        assert row["f1"] == pytest.approx(skm.f1_score(scored.y_true, yhat))


@pytest.mark.parametrize("name", ["roc_auc", "accuracy", "log_loss"])
def test_paired_differences_match_the_paired_bootstrap(scored, name):
    rng = np.random.default_rng(0)
    noisy = np.clip(scored.y_score + rng.normal(0, 0.2, scored.n), 0, 1)
    other = BinaryData.of(scored.y_true, (noisy >= 0.5).astype(int), noisy)
    ours = paired_metric_differences(scored, other, resamples=200, seed=1)[name]
    if name == "accuracy":
        loop = paired_bootstrap(
            lambda y, yhat: skm.accuracy_score(y, yhat),
            scored.y_true,
            scored.y_pred,
            other.y_pred,
            resamples=200,
            seed=1,
        )
    else:
        fn = SKLEARN[name]
        loop = paired_bootstrap(
            lambda y, p: fn(y, None, p),
            scored.y_true,
            scored.y_score,
            other.y_score,
            resamples=200,
            seed=1,
        )
    assert ours["difference"] == pytest.approx(loop.difference)
    assert (ours["low"], ours["high"]) == pytest.approx((loop.low, loop.high))
    assert ours["p_value"] == pytest.approx(loop.p_value)


def test_verdicts_follow_the_tests(scored):
    rng = np.random.default_rng(0)
    random_scores = rng.random(scored.n)
    weak = BinaryData.of(scored.y_true, (random_scores >= 0.5).astype(int), random_scores)
    assert compare_paired(scored.y_true, weak, scored)["verdict"] == "better"
    assert compare_paired(scored.y_true, scored, weak)["verdict"] == "worse"
    same = compare_paired(scored.y_true, scored, scored)
    assert same["verdict"] == "no significant difference"
    assert same["tests"]["mcnemar_accuracy"]["p_value"] == 1.0
