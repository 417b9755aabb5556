"""The shared statistics, checked against SciPy / scikit-learn on the same data."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats as sps
from sklearn.metrics import accuracy_score, roc_auc_score

from modelward.stats import (
    bootstrap_ci,
    delong,
    mann_whitney,
    mcnemar,
    paired_bootstrap,
    two_proportion,
)


@pytest.fixture
def scored():
    """Labels and two correlated scorers, the second better."""
    rng = np.random.default_rng(7)
    n = 400
    y = rng.integers(0, 2, n)
    signal = y + rng.normal(0, 1.0, n)
    a = signal + rng.normal(0, 1.2, n)
    b = signal + rng.normal(0, 0.4, n)
    return y, a, b


def test_bootstrap_interval_agrees_with_scipy():
    rng = np.random.default_rng(1)
    x = rng.normal(10, 2, 500)
    ours = bootstrap_ci(np.mean, x, resamples=2000, seed=3)
    ref = sps.bootstrap((x,), np.mean, n_resamples=2000, method="percentile", random_state=3)
    assert ours.value == pytest.approx(x.mean())
    assert ours.low == pytest.approx(ref.confidence_interval.low, abs=0.05)
    assert ours.high == pytest.approx(ref.confidence_interval.high, abs=0.05)
    assert ours.low < ours.value < ours.high


def test_bootstrap_keeps_pairs_and_drops_undefined_resamples(scored):
    y, a, _ = scored
    interval = bootstrap_ci(roc_auc_score, y, a, resamples=300)
    assert interval.value == pytest.approx(roc_auc_score(y, a))
    assert interval.low is not None and interval.low < interval.value < interval.high
    # Four rows, two of each class: most resamples lose a class -> no interval, no crash.
    tiny = bootstrap_ci(roc_auc_score, [0, 1, 0, 1], [0.1, 0.9, 0.2, 0.8], resamples=200)
    assert tiny.value == 1.0


def test_bootstrap_is_deterministic_for_a_seed(scored):
    y, a, _ = scored
    first = bootstrap_ci(roc_auc_score, y, a, resamples=100, seed=5)
    again = bootstrap_ci(roc_auc_score, y, a, resamples=100, seed=5)
    assert first == again


def test_paired_bootstrap_finds_the_better_model(scored):
    y, a, b = scored
    result = paired_bootstrap(roc_auc_score, y, a, b, resamples=500)
    assert result.difference == pytest.approx(roc_auc_score(y, b) - roc_auc_score(y, a))
    assert result.low > 0 and result.p_value < 0.05
    same = paired_bootstrap(roc_auc_score, y, a, a, resamples=200)
    assert same.difference == 0 and same.p_value == 1.0


def test_mcnemar_is_the_exact_binomial_test_on_discordant_pairs(scored):
    y, a, b = scored
    correct_a = (a > 0.5) == y
    correct_b = (b > 0.5) == y
    result = mcnemar(correct_a, correct_b)
    n01 = int((correct_a & ~correct_b).sum())
    n10 = int((~correct_a & correct_b).sum())
    k, n = min(n01, n10), n01 + n10
    expected = min(1.0, 2 * sps.binom.cdf(k, n, 0.5))
    assert (result.only_a_correct, result.only_b_correct) == (n01, n10)
    assert result.p_value == pytest.approx(expected)
    assert accuracy_score(y, b > 0.5) > accuracy_score(y, a > 0.5) and result.p_value < 0.05
    assert mcnemar(correct_a, correct_a).p_value == 1.0


def test_delong_aucs_match_sklearn_and_its_se_matches_the_bootstrap(scored):
    y, a, b = scored
    result = delong(y, a, b)
    assert result.auc_a == pytest.approx(roc_auc_score(y, a))
    assert result.auc_b == pytest.approx(roc_auc_score(y, b))
    rng = np.random.default_rng(0)
    diffs = []
    for _ in range(2000):
        idx = rng.integers(0, len(y), len(y))
        diffs.append(roc_auc_score(y[idx], b[idx]) - roc_auc_score(y[idx], a[idx]))
    assert result.std_error == pytest.approx(np.std(diffs), rel=0.15)
    assert result.p_value < 0.05 and result.difference > 0
    equal = delong(y, a, a)
    assert equal.difference == 0 and equal.p_value == 1.0


def test_delong_handles_ties_like_sklearn():
    y = np.array([0, 0, 1, 1, 0, 1, 1, 0])
    a = np.array([0.1, 0.4, 0.4, 0.8, 0.4, 0.9, 0.1, 0.2])
    b = np.array([0.2, 0.2, 0.6, 0.6, 0.3, 0.6, 0.5, 0.2])
    result = delong(y, a, b)
    assert result.auc_a == pytest.approx(roc_auc_score(y, a))
    assert result.auc_b == pytest.approx(roc_auc_score(y, b))


def test_delong_needs_both_classes():
    with pytest.raises(ValueError, match="both classes"):
        delong([1, 1, 1], [0.1, 0.2, 0.3], [0.3, 0.2, 0.1])


def test_two_proportion_matches_the_chi_square_test():
    result = two_proportion(12, 400, 31, 380)
    chi2, p, _, _ = sps.chi2_contingency([[12, 388], [31, 349]], correction=False)
    assert result.z**2 == pytest.approx(chi2)
    assert result.p_value == pytest.approx(p)
    greater = two_proportion(12, 400, 31, 380, alternative="greater")
    assert greater.p_value == pytest.approx(p / 2)
    assert two_proportion(0, 10, 0, 10).p_value == 1.0


def test_mann_whitney_matches_scipy_and_reports_the_shift():
    rng = np.random.default_rng(2)
    stable = rng.lognormal(1.0, 0.3, 300)
    canary = rng.lognormal(1.2, 0.3, 200)
    result = mann_whitney(stable, canary, alternative="greater")
    ref = sps.mannwhitneyu(canary, stable, alternative="greater")
    assert result.p_value == pytest.approx(ref.pvalue)
    brute = (canary[:, None] > stable[None, :]).mean() + 0.5 * (
        canary[:, None] == stable[None, :]
    ).mean()
    assert result.effect_size == pytest.approx(brute)
    assert result.effect_size > 0.6
