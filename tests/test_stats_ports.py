"""The tests the drift check runs without ``scipy.stats`` give SciPy's own figures to the
last bit: Kolmogorov-Smirnov (exact up to 10 000 values a side, asymptotic above),
chi-squared on 2 x 2 (Yates) and 2 x k tables, the two-proportion z-test's normal tail,
Wasserstein and Jensen-Shannon distances, on many random samples. Here SciPy is the
reference, so this module imports ``scipy.stats``; the product does not."""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from scipy import special, stats
from scipy.spatial.distance import jensenshannon as scipy_jensenshannon

from modelward.monitoring.drift import METHODS, Sample
from modelward.stats import two_proportion
from modelward.stats.contingency import chi2_contingency
from modelward.stats.distances import jensenshannon, wasserstein_distance
from modelward.stats.kolmogorov import kstwo_sf
from modelward.stats.ks import EXACT_ROWS, ks_2samp
from modelward.stats.smirnov import smirnov
from modelward.stats.special import CLOSED_FORM_DOF, chi2_sf, ndtr, rel_entr

#: The documented error bound of modelward.stats.special against SciPy (relative), and
#: the absolute slack where both are denormal (the tails' last ~1e-300).
BOUND = 1e-12
TINY = 1e-300


def _sample(rng: np.random.Generator, n: int, kind: int) -> np.ndarray:
    if kind == 0:
        return rng.normal(size=n)  # distinct values
    if kind == 1:
        return rng.integers(0, 12, n).astype("float64")  # heavy ties
    if kind == 2:
        return np.round(rng.normal(0.3, 1.2, n), 1)  # ties and a shift
    return rng.exponential(size=n)


def _size(rng: np.random.Generator) -> int:
    share = rng.random()
    if share < 0.5:
        return int(rng.integers(5, 400))
    if share < 0.8:
        return int(rng.integers(400, 3000))
    return int(rng.integers(3000, 30_000))


def _same_p(found: float, expected: float, n1: int, n2: int) -> bool:
    """SciPy's p-value to the last bit, but where its asymptotic tail takes the one-sided
    sum (modelward.stats.smirnov): within ``n * 2.5e-15`` relative, ``n`` the effective
    sample size ``round(n1 n2 / (n1 + n2))``."""
    n = round(n1 * n2 / (n1 + n2)) if n1 and n2 else 1
    same_nan = math.isnan(found) and math.isnan(expected)
    return same_nan or math.isclose(found, expected, rel_tol=n * 2.5e-15, abs_tol=1e-300)


def _assert_ks_is_scipys(first: np.ndarray, second: np.ndarray) -> None:
    """Same statistic, same p-value, and the same warning when SciPy's exact p-value
    comes out of [0, 1] (a few paths: 5 against 5 values) and it falls back to the
    asymptotic one."""
    with warnings.catch_warnings(record=True) as scipy_said:
        warnings.simplefilter("always")
        expected = stats.ks_2samp(first, second)
    with warnings.catch_warnings(record=True) as we_said:
        warnings.simplefilter("always")
        found = ks_2samp(first, second)
    assert found.statistic == expected.statistic, (len(first), len(second))
    assert _same_p(found.p_value, expected.pvalue, len(first), len(second))
    assert [str(w.message) for w in we_said] == [str(w.message) for w in scipy_said]
    exact = max(len(first), len(second)) <= EXACT_ROWS and not we_said
    assert found.exact == exact


def test_ks_is_scipys_on_random_samples():
    rng = np.random.default_rng(11)
    for trial in range(240):
        n1 = _size(rng)
        n2 = n1 if trial % 5 == 0 else _size(rng)  # equal sizes: SciPy's square formula
        shift = rng.normal(0, 0.3) if trial % 3 else 0.0
        first = _sample(rng, n1, trial % 4)
        second = _sample(rng, n2, (trial // 4) % 4) + shift
        _assert_ks_is_scipys(first, second)


@pytest.mark.parametrize(
    ("n1", "n2", "shift"),
    [
        (5, 5, 0.0), (5, 7, 3.0), (6, 9, 0.5),  # tiny: p from a handful of paths
        (303, 50, 0.2), (50, 303, 0.2),  # a reference and a small window, either way
        (1000, 9999, 0.05), (1000, 9999, 0.6),  # narrow and wide bands of lattice paths
        (7000, 10_000, 0.1), (10_000, 10_000, 0.02),  # the largest exact ones
        (10_000, 10_001, 0.02), (303, 30_000, 0.1), (5, 20_000, 0.0),  # asymptotic
    ],
)  # fmt: skip
def test_ks_is_scipys_at_the_edges(n1, n2, shift):
    rng = np.random.default_rng(n1 + n2)
    _assert_ks_is_scipys(rng.normal(size=n1), rng.normal(shift, 1, n2))
    _assert_ks_is_scipys(np.round(rng.normal(size=n1)), np.round(rng.normal(shift, 1, n2)))


def test_ks_of_identical_samples_and_of_missing_values():
    values = np.arange(20.0)
    assert ks_2samp(values, values) == ks_2samp(values, values[::-1])
    assert (ks_2samp(values, values).statistic, ks_2samp(values, values).p_value) == (0.0, 1.0)
    found = ks_2samp(np.array([1.0, math.nan]), values)  # SciPy's nan_policy="propagate"
    assert math.isnan(found.statistic) and math.isnan(found.p_value)
    with pytest.raises(ValueError, match="both samples"):
        ks_2samp([], values)


def test_the_lattice_path_count_is_scipys_compiled_one():
    """The exact p-value of unequal samples: SciPy's compiled recursion, cell for cell,
    whether the band is narrow (a Python loop per column) or wide (NumPy per diagonal)."""
    compiled = pytest.importorskip("scipy.stats._stats_pythran")
    from modelward.stats.ks import _outside_band

    rng = np.random.default_rng(5)
    for trial in range(600):
        n1, n2 = (int(v) for v in rng.integers(1, 400 if trial % 10 else 3000, 2))
        if n1 == n2:
            continue
        g = math.gcd(n1, n2)
        lcm = n1 // g * n2
        h = int(rng.integers(1, lcm + 1 if trial % 3 == 0 else max(2, lcm // 4)))
        expected = compiled._compute_outer_prob_inside_method(n1, n2, g, h)
        assert _outside_band(n1, n2, g, h) == expected, (n1, n2, h)


def test_kstwo_sf_is_scipys_in_every_regime():
    """Ruben-Gambino's ends, twice Smirnov's one-sided, Durbin's matrix, Pomeranz's
    recursion and Pelz-Good's series: each (n, d) in SciPy's choice of method; to the
    last bit but where the one-sided tail is our own sum (within n * 2.5e-15)."""
    rng = np.random.default_rng(6)
    sizes = [1, 2, 3, 5, 10, 50, 139, 140, 141, 200, 1000, 5000, 99_999, 100_001, 300_000]
    bitwise = 0
    for trial in range(600):
        n = sizes[trial % len(sizes)] if trial % 2 else int(rng.integers(1, 3000))
        d = float(rng.random() ** 2) if trial % 3 else float(rng.random() * 3 / math.sqrt(n))
        expected = stats.kstwo.sf(d, n)
        assert math.isclose(kstwo_sf(d, n), expected, rel_tol=n * 2.5e-15, abs_tol=1e-300)
        bitwise += kstwo_sf(d, n) == expected
    assert bitwise > 300  # the ported regimes (and both ends) are SciPy's own arithmetic


def test_the_one_sided_tail_is_scipys_smirnov_within_its_bound():
    rng = np.random.default_rng(7)
    for n in [1, 2, 7, 60, 141, 303, 2_500, 40_000, 250_000]:
        for x in [*rng.random(12), *rng.random(12) * 3 / math.sqrt(n) % 1, 1 / n, 0.5, 0.999]:
            expected = special.smirnov(n, x)
            assert math.isclose(smirnov(n, x), expected, rel_tol=n * 2.5e-15, abs_tol=1e-300)
    assert smirnov(10, 0.0) == 1.0 and smirnov(10, 1.0) == 0.0 and math.isnan(smirnov(0, 0.5))
    for d, n in [(0.0, 10), (0.05, 10), (1.0, 10), (1.5, 10), (0.3, 2.5), (math.nan, 10)]:
        expected = stats.kstwo.sf(d, n)
        assert kstwo_sf(d, n) == expected or (math.isnan(expected) and math.isnan(kstwo_sf(d, n)))


def test_chi2_contingency_is_scipys_on_2x2_and_2xk_tables():
    rng = np.random.default_rng(7)
    checked = 0
    for trial in range(2000):
        columns = 2 if trial % 2 else int(rng.integers(3, 12))  # 2 x 2: Yates' correction
        table = rng.integers(0, [3, 10, 100, 10_000][trial % 4], (2, columns)).astype(float)
        if trial % 7 == 0:
            table[:, 0] = rng.integers(0, 2, 2)  # tiny counts
        try:
            expected = stats.chi2_contingency(table)
        except ValueError:  # a row or column of zeros
            with pytest.raises(ValueError, match="zero"):
                chi2_contingency(table)
            continue
        found = chi2_contingency(table)
        assert (found.statistic, found.dof) == (expected.statistic, expected.dof), table
        assert found.p_value == pytest.approx(expected.pvalue, rel=BOUND, abs=TINY), table
        checked += 1
    assert checked > 1500


def test_two_proportion_tail_is_scipys_normal():
    rng = np.random.default_rng(8)
    for _ in range(1000):
        n_a, n_b = (int(v) for v in rng.integers(1, 5000, 2))
        s_a, s_b = int(rng.integers(0, n_a + 1)), int(rng.integers(0, n_b + 1))
        result = two_proportion(s_a, n_a, s_b, n_b)
        if result.z == 0:
            continue
        expected = 2 * stats.norm.sf(abs(result.z))
        assert result.p_value == pytest.approx(expected, rel=BOUND, abs=TINY)
        greater = two_proportion(s_a, n_a, s_b, n_b, alternative="greater")
        less = two_proportion(s_a, n_a, s_b, n_b, alternative="less")
        assert greater.p_value == pytest.approx(stats.norm.sf(result.z), rel=BOUND, abs=TINY)
        assert less.p_value == pytest.approx(stats.norm.cdf(result.z), rel=BOUND, abs=TINY)


def test_distances_are_scipys():
    rng = np.random.default_rng(9)
    for trial in range(300):
        u = _sample(rng, int(rng.integers(1, 3000)), trial % 4)
        v = _sample(rng, int(rng.integers(1, 3000)), (trial + 1) % 4) + rng.normal(0, 0.5)
        assert wasserstein_distance(u, v) == stats.wasserstein_distance(u, v)
        points, counts = np.unique(u, return_counts=True)
        others, weights = np.unique(v, return_counts=True)
        assert wasserstein_distance(points, others, counts, weights) == (
            stats.wasserstein_distance(points, others, counts, weights)
        )
        p = rng.integers(0, 50, 12).astype(float) + (trial % 2)
        q = rng.integers(0, 50, 12).astype(float) + 1
        assert jensenshannon(p / p.sum(), q / q.sum()) == pytest.approx(
            scipy_jensenshannon(p / p.sum(), q / q.sum()), rel=BOUND
        )  # NumPy's log, not libm's: an ulp apart


def test_the_drift_methods_report_scipys_figures():
    """Through the drift methods, on both sides of the exact test's limit (above it the
    statistic comes from counts, not a sort of both samples)."""
    rng = np.random.default_rng(10)
    for n2 in (300, EXACT_ROWS, EXACT_ROWS + 1, 40_000):
        ref, cur = rng.normal(size=303), np.round(rng.normal(0.1, 1, n2), 2)
        score = METHODS["ks"](0.05).score(Sample(values=ref), Sample(values=cur))
        expected = stats.ks_2samp(ref, cur)
        assert score.statistic == expected.statistic
        assert _same_p(score.p_value, expected.pvalue, 303, n2)
    counts = [{"a": 30, "b": 12}, {"a": 300, "b": 100, "c": 4}]
    current = [{"a": 20, "b": 19}, {"a": 20, "b": 19, "c": 1}]
    for ref, cur in zip(counts, current, strict=True):
        table = np.array([[ref.get(k, 0), cur.get(k, 0)] for k in sorted(ref)], float).T
        expected = stats.chi2_contingency(table)
        score = METHODS["chi2"](0.05).score(Sample(counts=ref), Sample(counts=cur))
        assert score.statistic == expected.statistic
        assert score.p_value == pytest.approx(expected.pvalue, rel=BOUND, abs=TINY)


def test_the_normal_and_chi2_tails_are_scipys_within_the_bound():
    """ndtr over the body and both tails; chi2's survival function for every whole
    degree of freedom of the closed forms, from 0 to far in the tail (p down to ~1e-300),
    and SciPy's own beyond them."""
    from scipy import special

    rng = np.random.default_rng(11)
    for a in np.concatenate([rng.normal(0, 3, 20_000), rng.uniform(-38, 38, 5_000)]):
        assert ndtr(float(a)) == pytest.approx(float(special.ndtr(a)), rel=BOUND, abs=TINY), a
    assert math.isnan(ndtr(math.nan)) and ndtr(-math.inf) == 0.0 and ndtr(math.inf) == 1.0
    for dof in range(1, CLOSED_FORM_DOF + 1, 3):
        for x in np.concatenate([rng.uniform(0, 3 * dof + 20, 40), rng.uniform(0, 1400, 10)]):
            expected = float(special.chdtrc(dof, x))
            if expected > 1e-300:  # below, both underflow to (nearly) nothing
                assert chi2_sf(float(x), dof) == pytest.approx(expected, rel=BOUND), (dof, x)
    assert chi2_sf(0.0, 3) == 1.0 and math.isnan(chi2_sf(math.nan, 3))
    assert chi2_sf(2000.0, 1900) == float(special.chdtrc(1900, 2000.0))  # SciPy's own


def test_relative_entropy_has_scipys_cases():
    x = np.array([0.0, 0.0, 0.5, 0.5, -1.0, 0.2, math.nan, 0.3])
    y = np.array([0.0, 0.3, 0.0, 0.25, 0.3, -1.0, 0.2, math.nan])
    found, expected = rel_entr(x, y), np.asarray(special_rel_entr(x, y))
    assert np.allclose(found, expected, rtol=BOUND, atol=0, equal_nan=True)
    assert np.array_equal(np.isinf(found), np.isinf(expected))


def special_rel_entr(x: object, y: object) -> object:
    from scipy.special import rel_entr as scipys

    return scipys(x, y)
