"""Hypothesis tests for comparing models and traffic.

- :func:`mcnemar`: two classifiers on the same rows; exact binomial test on the
  discordant pairs (what McNemar's test reduces to, exact for small counts).
- :func:`delong`: two ROC-AUCs on the same rows, with DeLong's covariance (DeLong,
  DeLong & Clarke-Pearson 1988; the fast midrank algorithm of Sun & Xu 2014);
  :func:`delong_auc`: one ROC-AUC and its standard error, the same way.
- :func:`two_proportion`: two independent proportions (error rates, accuracies), pooled
  z-test; ``alternative="greater"`` asks whether the second is larger.
- :func:`mann_whitney`: two independent samples (latencies), SciPy's U test plus the
  common-language effect size P(b > a) + ½ P(b = a).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass
from typing import Any, Literal

from modelward.stats.order import score_groups, sort_order

__all__ = [
    "DeLongResult",
    "MannWhitneyResult",
    "McNemarResult",
    "TwoProportionResult",
    "delong",
    "delong_auc",
    "delong_auc_counts",
    "mann_whitney",
    "mcnemar",
    "normal_sf",
    "two_proportion",
]

Alternative = Literal["two-sided", "greater", "less"]


class _Result:
    def to_dict(self) -> dict[str, Any]:
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class McNemarResult(_Result):
    only_a_correct: int
    only_b_correct: int
    p_value: float


@dataclass(frozen=True)
class DeLongResult(_Result):
    auc_a: float
    auc_b: float
    difference: float
    std_error: float
    z: float
    p_value: float


@dataclass(frozen=True)
class TwoProportionResult(_Result):
    successes_a: int
    n_a: int
    successes_b: int
    n_b: int
    rate_a: float
    rate_b: float
    z: float
    p_value: float


@dataclass(frozen=True)
class MannWhitneyResult(_Result):
    statistic: float
    p_value: float
    effect_size: float  # P(b > a) + 0.5 P(b == a); 0.5 means no shift
    n_a: int
    n_b: int


def mcnemar(correct_a: Any, correct_b: Any) -> McNemarResult:
    """Do two classifiers differ in accuracy on the same rows? (exact, two-sided)"""
    import numpy as np
    from scipy.stats import binomtest

    a = np.asarray(correct_a, dtype=bool)
    b = np.asarray(correct_b, dtype=bool)
    if a.shape != b.shape:
        raise ValueError("correct_a and correct_b must have the same length")
    only_a = int((a & ~b).sum())
    only_b = int((~a & b).sum())
    discordant = only_a + only_b
    p = 1.0 if discordant == 0 else float(binomtest(only_b, discordant, 0.5).pvalue)
    return McNemarResult(only_a, only_b, p)


def _midranks(x: Any) -> Any:
    """Each value's rank among ``x`` (1-based), ties sharing the mean of their ranks (NaN:
    each its own), from one stable sort and the runs of equal values."""
    import numpy as np

    order = np.argsort(x, kind="mergesort")
    ordered = x[order]
    n = len(x)
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]]) if n else np.zeros(0, int)
    ends = np.r_[starts[1:], n]
    out = np.empty(n, dtype="float64")
    out[order] = np.repeat(0.5 * (starts + ends - 1) + 1, ends - starts)
    return out


def delong_auc(y_true: Any, score: Any) -> tuple[float, float]:
    """One ROC-AUC and its standard error by DeLong's variance (the placements of each
    class among the other, Sun & Xu's midranks), as R's pROC computes ``var(roc)``: the
    rows grouped by distinct score in one sort (NaN: each its own), then
    :func:`delong_auc_counts`, equal to the midranks of the rows."""
    import numpy as np

    y = np.asarray(y_true).astype(bool)
    score = np.asarray(score, dtype="float64")
    if y.all() or not y.any():
        raise ValueError("DeLong's variance needs both classes in y_true")
    return delong_auc_counts(*score_groups(score, y))


def delong_auc_counts(scores: Any, positives: Any, totals: Any) -> tuple[float, float]:
    """:func:`delong_auc` from the rows and the positives at each distinct score (what an
    engine's grouped counts give): every row of a group has the same placement, so the
    placements' variances are weighted sums over the groups, and no row is needed."""
    import numpy as np

    order = sort_order(np.asarray(scores, dtype="float64"))
    hits = np.asarray(positives, dtype="float64")[order]
    misses = np.asarray(totals, dtype="float64")[order] - hits
    m, n = float(hits.sum()), float(misses.sum())
    if m == 0 or n == 0:
        raise ValueError("DeLong's variance needs both classes in y_true")
    # a positive's placement: the negatives below it, ties counted half (v01); a
    # negative's: the positives above it, ties counted half (v10)
    v01 = (np.cumsum(misses) - misses / 2) / n
    v10 = (m - np.cumsum(hits) + hits / 2) / m
    auc = float((hits * v01).sum() / m)
    s01 = float((hits * (v01 - auc) ** 2).sum() / (m - 1)) if m > 1 else 0.0
    s10 = float((misses * (v10 - auc) ** 2).sum() / (n - 1)) if n > 1 else 0.0
    return auc, math.sqrt(max(s01 / m + s10 / n, 0.0))


def delong(y_true: Any, score_a: Any, score_b: Any) -> DeLongResult:
    """DeLong's test for two correlated ROC-AUCs (two-sided)."""
    import numpy as np

    y = np.asarray(y_true).astype(bool)
    scores = np.vstack([np.asarray(score_a, float), np.asarray(score_b, float)])
    pos, neg = scores[:, y], scores[:, ~y]
    m, n = pos.shape[1], neg.shape[1]
    if m == 0 or n == 0:
        raise ValueError("DeLong's test needs both classes in y_true")
    tx = np.array([_midranks(row) for row in pos])
    ty = np.array([_midranks(row) for row in neg])
    tz = np.array([_midranks(row) for row in np.hstack([pos, neg])])
    aucs = tz[:, :m].sum(axis=1) / (m * n) - (m + 1) / (2 * n)
    v01 = (tz[:, :m] - tx) / n
    v10 = 1.0 - (tz[:, m:] - ty) / m
    cov = np.atleast_2d(np.cov(v01)) / m + np.atleast_2d(np.cov(v10)) / n
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    diff = float(aucs[1] - aucs[0])
    if var <= 0:
        z = 0.0 if diff == 0 else math.copysign(math.inf, diff)
        p = 1.0 if diff == 0 else 0.0
        return DeLongResult(float(aucs[0]), float(aucs[1]), diff, 0.0, z, p)
    se = math.sqrt(var)
    z = diff / se
    return DeLongResult(float(aucs[0]), float(aucs[1]), diff, se, z, 2 * normal_sf(abs(z)))


def two_proportion(
    successes_a: int,
    n_a: int,
    successes_b: int,
    n_b: int,
    *,
    alternative: Alternative = "two-sided",
) -> TwoProportionResult:
    """Pooled z-test of ``successes_b / n_b`` against ``successes_a / n_a``."""
    if n_a <= 0 or n_b <= 0:
        raise ValueError("both samples need at least one observation")
    rate_a, rate_b = successes_a / n_a, successes_b / n_b
    pooled = (successes_a + successes_b) / (n_a + n_b)
    se = math.sqrt(pooled * (1 - pooled) * (1 / n_a + 1 / n_b))
    if se == 0:
        z = 0.0
        p = 1.0
    else:
        z = (rate_b - rate_a) / se
        if alternative == "greater":
            p = normal_sf(z)
        elif alternative == "less":
            p = normal_sf(-z)
        else:
            p = 2 * normal_sf(abs(z))
    return TwoProportionResult(successes_a, n_a, successes_b, n_b, rate_a, rate_b, z, p)


def normal_sf(z: float) -> float:
    """``P(Z >= z)`` for a standard normal ``Z``: SciPy's ``norm.sf(z)`` (``ndtr(-z)``,
    within a relative 1e-12), importing neither ``scipy.stats`` (whose package import
    loads every distribution) nor ``scipy.special``."""
    from modelward.stats.special import ndtr

    return ndtr(-z)


def mann_whitney(a: Any, b: Any, *, alternative: Alternative = "two-sided") -> MannWhitneyResult:
    """Is ``b`` shifted against ``a``? SciPy's U test plus a common-language effect size."""
    import numpy as np
    from scipy.stats import mannwhitneyu

    x = np.asarray(a, dtype="float64")
    y = np.asarray(b, dtype="float64")
    if len(x) == 0 or len(y) == 0:
        raise ValueError("both samples need at least one observation")
    result = mannwhitneyu(y, x, alternative=alternative)
    effect = float(result.statistic) / (len(x) * len(y))  # U of b over a / (n_a n_b)
    return MannWhitneyResult(float(result.statistic), float(result.pvalue), effect, len(x), len(y))
