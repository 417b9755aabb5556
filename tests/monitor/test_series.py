"""The report's metric series: each period's values are scikit-learn's on that period's
rows, a binary period's intervals are the row bootstrap's (drawn from its confusion counts)
and ROC-AUC's is DeLong's, whose standard error is checked against its definition."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from sklearn import metrics as sk
from tests.monitor.conftest import END

from modelward.monitoring.checks import Metrics
from modelward.monitoring.confusion import Z95
from modelward.monitoring.series import _binary_period, metric_series
from modelward.stats.bootstrap import bootstrap_ci
from modelward.stats.tests import delong_auc, delong_auc_counts

pytestmark = pytest.mark.sqlite_only


def _placements_se(y: np.ndarray, score: np.ndarray) -> float:
    """DeLong's standard error from its definition: each positive's share of negatives
    below it (ties a half) and each negative's share of positives above it."""
    pos, neg = score[y], score[~y]
    below = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
    v10, v01 = below.mean(axis=1), below.mean(axis=0)
    return float(np.sqrt(v10.var(ddof=1) / len(pos) + v01.var(ddof=1) / len(neg)))


def test_delong_auc_is_scikit_learns_auc_with_the_placements_standard_error():
    rng = np.random.default_rng(7)
    for trial in range(40):
        n = int(rng.integers(4, 300))
        y = rng.random(n) < 0.4
        y[:4] = [True, False, True, False]
        score = rng.normal(size=n) + y
        if trial % 2:
            score = np.round(score, 1)  # ties
        auc, error = delong_auc(y, score)
        assert auc == pytest.approx(sk.roc_auc_score(y, score), abs=1e-12)
        assert error == pytest.approx(_placements_se(y, score), rel=1e-9)
        # the same from the rows and positives at each distinct score (an engine's counts)
        scores, group = np.unique(score, return_inverse=True)
        hits, rows = np.bincount(group, y), np.bincount(group)
        counted = delong_auc_counts(scores, hits, rows)
        assert counted == pytest.approx((auc, error), rel=1e-9)
        shuffled = rng.permutation(len(scores))  # groups in no order: sorted first
        counted = delong_auc_counts(scores[shuffled], hits[shuffled], rows[shuffled])
        assert counted == pytest.approx((auc, error), rel=1e-9)


def test_a_periods_intervals_are_the_row_bootstraps():
    rng = np.random.default_rng(11)
    n = 3000
    label = rng.choice(["0", "1", "2"], n, p=[0.5, 0.45, 0.05])  # "2": neither class
    prediction = np.where(rng.random(n) < 0.75, label, rng.choice(["0", "1"], n))
    score = rng.random(n) + (label == "1")
    hit, said = label == "1", prediction == "1"
    found = _binary_period(
        hit, said, label == prediction, score, ["accuracy", "precision", "recall", "f1", "roc_auc"]
    )
    rows = np.arange(n)
    exact = {
        "accuracy": lambda i: sk.accuracy_score(label[i], prediction[i]),
        "precision": lambda i: sk.precision_score(hit[i], said[i], zero_division=0),
        "recall": lambda i: sk.recall_score(hit[i], said[i], zero_division=0),
        "f1": lambda i: sk.f1_score(hit[i], said[i], zero_division=0),
    }
    for name, metric in exact.items():
        assert found[name]["value"] == pytest.approx(metric(rows), abs=1e-12)
        boot = bootstrap_ci(metric, rows, resamples=2000, seed=1)
        width = boot.high - boot.low
        assert found[name]["low"] == pytest.approx(boot.low, abs=0.06 * width), name
        assert found[name]["high"] == pytest.approx(boot.high, abs=0.06 * width), name
    auc, error = delong_auc(hit, score)
    assert Z95 == pytest.approx(norm.ppf(0.975), rel=1e-15)
    assert found["roc_auc"] == {"value": auc, "low": auc - Z95 * error, "high": auc + Z95 * error}
    assert auc == pytest.approx(sk.roc_auc_score(hit, score), abs=1e-12)


def test_a_period_without_both_classes_or_scores_has_no_auc():
    yes = np.ones(5, dtype=bool)
    found = _binary_period(yes, yes, yes, np.linspace(0, 1, 5), ["roc_auc", "accuracy"])
    assert found["roc_auc"]["value"] is None and found["roc_auc"]["note"] == "one class only"
    assert found["accuracy"]["value"] == 1.0
    mixed = np.array([True, False, True, False])
    found = _binary_period(mixed, mixed, yes[:4], np.array([0.1, np.nan, 0.3, 0.2]), ["roc_auc"])
    assert found["roc_auc"]["note"] == "no scores logged"


def test_each_days_values_are_scikit_learns_on_that_days_rows(served):
    monitor = served.ws.monitor
    context = monitor.context(Metrics(), "heart", "7d", END, "production")
    series = metric_series(context)
    assert series["step"] == "1d"
    by_day = {p["start"][:10]: p for p in series["points"]}
    assert len(by_day) == len(served.days)
    for site, rows in served.days.items():
        pred = served.preds[site]
        label = rows["target"].astype(str).to_numpy()
        point = by_day[pred["ts"].iloc[0].date().isoformat()]
        assert point["rows"] == len(rows)
        values = {k: v["value"] for k, v in point["metrics"].items()}
        assert values["accuracy"] == pytest.approx(sk.accuracy_score(label, pred["prediction"]))
        assert values["roc_auc"] == pytest.approx(sk.roc_auc_score(label == "1", pred["score"]))
        f1 = sk.f1_score(label, pred["prediction"], pos_label="1", zero_division=0)
        assert values["f1"] == pytest.approx(f1)
        for entry in point["metrics"].values():
            assert entry["low"] <= entry["value"] <= entry["high"]
