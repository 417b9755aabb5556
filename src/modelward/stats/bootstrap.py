"""Percentile bootstrap confidence intervals.

Resampling is by row index: every array passed in is resampled with the same indices, so a
metric over ``(y_true, y_score)`` keeps its pairs, and a paired comparison of two models
scores both on the same resampled rows. Resamples where the statistic is undefined (a
resample with one class for ROC-AUC, say) are dropped; the interval is ``None`` when too
few remain to say anything.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Interval", "PairedDifference", "bootstrap_ci", "paired_bootstrap", "two_sided_p"]

Statistic = Callable[..., float]

#: Below this share of usable resamples an interval is not reported.
MIN_VALID_SHARE = 0.5


@dataclass(frozen=True)
class Interval:
    """A point estimate with its two-sided confidence interval."""

    value: float
    low: float | None
    high: float | None
    confidence: float
    resamples: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class PairedDifference:
    """``b - a`` on the same rows, its interval and a two-sided bootstrap p-value."""

    a: float
    b: float
    difference: float
    low: float | None
    high: float | None
    p_value: float | None
    confidence: float
    resamples: int

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _indices(n: int, resamples: int, seed: int) -> Any:
    import numpy as np

    rng = np.random.default_rng(seed)
    return rng.integers(0, n, size=(resamples, n))


def _safe(statistic: Statistic, *arrays: Any) -> float:
    """The statistic, or NaN where it is undefined (ROC-AUC of a one-class resample)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # scikit-learn warns and returns NaN in that case
        try:
            return float(statistic(*arrays))
        except (ValueError, ZeroDivisionError):
            return math.nan


def two_sided_p(draws: Any) -> float | None:
    """Two-sided bootstrap p-value of "the difference is 0": twice the smaller share of
    draws on either side of 0, never below 1 / draws."""
    import numpy as np

    finite = np.asarray(draws)[np.isfinite(draws)]
    if not len(finite):
        return None
    below = float((finite <= 0).mean())
    above = float((finite >= 0).mean())
    return min(1.0, max(2 * min(below, above), 1 / len(finite)))


def _percentiles(values: Any, confidence: float) -> tuple[float | None, float | None]:
    import numpy as np

    finite = values[np.isfinite(values)]
    if len(values) == 0 or len(finite) < MIN_VALID_SHARE * len(values):
        return None, None
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return float(low), float(high)


def bootstrap_ci(
    statistic: Statistic,
    *arrays: Any,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Interval:
    """``statistic(*arrays)`` with a percentile bootstrap interval over rows."""
    import numpy as np

    arrays = tuple(np.asarray(a) for a in arrays)
    n = len(arrays[0])
    if any(len(a) != n for a in arrays):
        raise ValueError("all arrays must have the same length")
    value = _safe(statistic, *arrays)
    if n < 2:
        return Interval(value, None, None, confidence, 0)
    draws = np.array(
        [_safe(statistic, *(a[idx] for a in arrays)) for idx in _indices(n, resamples, seed)]
    )
    low, high = _percentiles(draws, confidence)
    return Interval(value, low, high, confidence, resamples)


def paired_bootstrap(
    statistic: Statistic,
    y_true: Any,
    scores_a: Any,
    scores_b: Any,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedDifference:
    """``statistic(y_true, b) - statistic(y_true, a)`` resampled on shared rows.

    The p-value is two-sided: twice the smaller share of resampled differences on either
    side of zero (bounded below by 1 / resamples).
    """
    import numpy as np

    y_true, scores_a, scores_b = (np.asarray(x) for x in (y_true, scores_a, scores_b))
    a = _safe(statistic, y_true, scores_a)
    b = _safe(statistic, y_true, scores_b)
    n = len(y_true)
    if n < 2:
        return PairedDifference(a, b, b - a, None, None, None, confidence, 0)
    diffs = []
    for idx in _indices(n, resamples, seed):
        truth = y_true[idx]
        diffs.append(
            _safe(statistic, truth, scores_b[idx]) - _safe(statistic, truth, scores_a[idx])
        )
    draws = np.array(diffs)
    low, high = _percentiles(draws, confidence)
    p_value = two_sided_p(draws) if low is not None else None
    return PairedDifference(a, b, b - a, low, high, p_value, confidence, resamples)
