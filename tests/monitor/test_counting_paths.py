"""The counting shortcuts of the monitoring checks against SciPy, NumPy and scikit-learn
on the same data: Kolmogorov-Smirnov without sorting the large sample, histograms from
counts below the edges, category counts by bincount, ROC-AUC from one sort."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import ks_2samp
from sklearn.metrics import roc_auc_score

from modelward.monitoring.drift import METHODS, Sample
from modelward.monitoring.drift.base import count_below
from modelward.monitoring.drift.ks import EXACT_ROWS, ks_statistic
from modelward.monitoring.metrics import rank_auc
from modelward.monitoring.samples import _clipped_histogram, _value_counts, histogram


def _pairs(seed: int, count: int, low: int, high: int):
    rng = np.random.default_rng(seed)
    for i in range(count):
        small = np.round(rng.normal(0, 1, int(rng.integers(1, 400))), int(rng.integers(0, 3)))
        shift = rng.normal(0, 0.3)
        size = int(rng.integers(low, high))
        large = np.round(rng.normal(shift, 1, size), int(rng.integers(0, 3)))
        yield (small, large) if i % 2 else (large, small)


def test_count_below_is_the_brute_force_count():
    rng = np.random.default_rng(3)
    values = np.round(rng.normal(0, 2, 5000), 1)
    points = np.unique(np.round(rng.normal(0, 2, 40), 1))
    below, up_to = count_below(values, points, both=True)
    assert below.tolist() == [int((values < p).sum()) for p in points]
    assert up_to.tolist() == [int((values <= p).sum()) for p in points]
    assert count_below(values, points).tolist() == below.tolist()
    assert count_below(values, points, inclusive=True).tolist() == up_to.tolist()


def test_ks_statistic_is_scipys_to_the_last_bit_on_large_samples():
    # above EXACT_ROWS SciPy reports the raw sup |F1 - F2|, the same differences of the
    # same counts over the same sizes: equal as floats, ties (rounded data) included; the
    # p-value's one-sided tail is our own sum, within n * 2.5e-15 of SciPy's
    for first, second in _pairs(seed=1, count=60, low=EXACT_ROWS + 1, high=40_000):
        expected = ks_2samp(first, second)
        assert ks_statistic(first, second) == expected.statistic
        score = METHODS["ks"](0.05).score(Sample(values=first), Sample(values=second))
        assert score.statistic == expected.statistic
        n = round(len(first) * len(second) / (len(first) + len(second)))
        assert score.p_value == pytest.approx(expected.pvalue, rel=n * 2.5e-15, abs=1e-300)
        assert score.drifted == (expected.pvalue < 0.05)


def test_ks_statistic_matches_scipy_on_small_samples():
    # up to EXACT_ROWS SciPy's exact test reports D as a fraction h / lcm(n1, n2) rebuilt
    # from the counts, which can differ from the float difference by a rounding (1e-16)
    for first, second in _pairs(seed=2, count=60, low=1, high=EXACT_ROWS):
        assert ks_statistic(first, second) == pytest.approx(
            ks_2samp(first, second).statistic, rel=1e-12, abs=1e-15
        )


def test_histogram_from_counts_is_numpys_clipped_histogram():
    rng = np.random.default_rng(4)
    values = np.concatenate([rng.normal(50, 15, 20_000), [0.0, 100.0, 20.0, 80.0]])
    for edges in (
        np.linspace(20, 80, 21),  # the profile's even edges; values beyond both ends
        np.array([10.0, 30.0, 31.0, 55.5, 90.0]),  # uneven edges
        np.array([20.0, 80.0]),  # one bin
    ):
        expected = np.histogram(np.clip(values, edges[0], edges[-1]), edges)[0]
        assert _clipped_histogram(values, edges).tolist() == expected.tolist()
    report = histogram(
        Sample(values=rng.normal(50, 10, 300)),
        Sample(values=values),
        {"histogram": {"edges": np.linspace(20, 80, 21).tolist()}},
    )
    assert report["current_below_range"] == int((values < 20).sum())
    assert report["current_above_range"] == int((values > 80).sum())


def test_category_counts_by_bincount_are_numpys_unique():
    rng = np.random.default_rng(5)
    for values in (
        rng.integers(0, 4, 10_000).astype("float64"),  # codes: bincount
        np.array([3.0, 3.0, 0.0, 7.0]),
        np.array([1.5, 2.0, 2.0]),  # not integers: np.unique
        np.array([-1.0, 2.0, 2.0]),  # negative: np.unique
        np.array([], dtype="float64"),
    ):
        keys, counts = _value_counts(values)
        want_keys, want_counts = np.unique(values, return_counts=True)
        assert keys.tolist() == want_keys.tolist()
        assert counts.tolist() == want_counts.tolist()


def test_rank_auc_is_scikit_learns():
    rng = np.random.default_rng(6)
    truth = rng.random(50_000) < 0.4
    score = np.round(rng.random(50_000) * 0.5 + truth * 0.3, 3)  # many ties
    assert rank_auc(score, truth) == pytest.approx(roc_auc_score(truth, score), abs=1e-12)
    assert rank_auc(score, np.zeros_like(truth)) is None


def test_interval_centre_is_scikit_learns_metric():
    from sklearn import metrics as m

    from modelward.monitoring.metrics import _binary_value

    rng = np.random.default_rng(7)
    truth = np.where(rng.random(2000) < 0.45, "yes", "no")
    score = np.round(rng.random(2000) * 0.6 + (truth == "yes") * 0.3, 2)
    said = np.where(score >= 0.5, "yes", "no")
    expected = {
        "accuracy": m.accuracy_score(truth, said),
        "precision": m.precision_score(truth, said, pos_label="yes", zero_division=0),
        "recall": m.recall_score(truth, said, pos_label="yes", zero_division=0),
        "f1": m.f1_score(truth, said, pos_label="yes", zero_division=0),
    }
    for name, value in expected.items():
        assert _binary_value(name, truth, said, "yes") == value, name  # same ratios
    auc = _binary_value("roc_auc", truth, score, "yes")
    assert auc == pytest.approx(m.roc_auc_score(truth == "yes", score), abs=1e-12)
    nothing = np.full(2000, "no")  # no positive predicted: 0 as zero_division=0 says
    assert _binary_value("precision", truth, nothing, "yes") == 0.0
    assert _binary_value("f1", truth, nothing, "yes") == 0.0


def test_counts_known_at_once_are_the_counts_asked_one_by_one():
    rng = np.random.default_rng(8)
    values = np.round(rng.normal(0, 1, 30_000), 2)
    sample = Sample(values=values)
    edges, tested = np.linspace(-2, 2, 9), np.unique(np.round(rng.normal(0, 1, 300), 2))
    sample.know(np.concatenate([edges, tested]))
    for points in (edges, tested, np.array([0.123456])):  # the last one was not known
        below, up_to = sample.below(points)
        assert below.tolist() == [int((values < p).sum()) for p in points]
        assert up_to.tolist() == [int((values <= p).sum()) for p in points]
    reference = Sample(values=rng.choice(tested, 300))
    assert ks_statistic(reference, sample) == ks_2samp(reference.values, values).statistic
