"""Two-sample Kolmogorov-Smirnov test (SciPy's ``ks_2samp``, as
:mod:`modelward.stats.ks` computes it without importing ``scipy.stats``): drifted when
p < threshold.

Large samples skip SciPy's sort of both samples. The statistic ``D = sup |F1 - F2|`` only
needs the larger sample's empirical CDF at the distinct values of the smaller one (just
before and at each): between two of those values the smaller sample's CDF is flat and the
other's rises, so the gap is widest at one end. Those are counts (one binary search per
value, :func:`~.base.count_below`), the differences are the very ones SciPy takes the
extremes of, so ``D`` is SciPy's to the last bit; the p-value is SciPy's asymptotic one
(``kstwo.sf(D, round(n1 n2 / (n1 + n2)))``, what ``ks_2samp`` uses above 10 000 values).
Up to 10 000 values on both sides SciPy's exact test runs as it is.
"""

from __future__ import annotations

from typing import Any

from modelward.monitoring.drift.base import DriftScore, Method, Sample
from modelward.stats.ks import EXACT_ROWS

__all__ = ["KolmogorovSmirnov", "ks_statistic"]


def ks_statistic(first: Any, second: Any) -> float:
    """``ks_2samp(first, second).statistic`` without sorting the larger sample (values,
    or numeric :class:`~.base.Sample` s)."""
    import numpy as np

    first, second = (
        x if isinstance(x, Sample) else Sample(values=np.asarray(x, dtype="float64"))
        for x in (first, second)
    )
    small, large = (second, first) if len(first) > len(second) else (first, second)
    points, counts = np.unique(small.values, return_counts=True)
    at_small = np.cumsum(counts) / len(small)  # F_small at each of its values
    below, up_to = large.below(points)
    at_large = up_to / len(large)
    before_large = below / len(large)  # F_large just below
    before_small = np.concatenate([[0.0], at_small[:-1]])  # F_small just below
    # small - large is widest at the small sample's values, large - small just before them
    up = max(0.0, float(np.max(at_small - at_large)))
    down = max(0.0, float(np.max(before_large - before_small)))
    return max(up, down)


class KolmogorovSmirnov(Method):
    name = "ks"
    criterion = "p_value"
    numeric_only = True

    def _score(self, reference: Sample, current: Sample) -> DriftScore:
        from modelward.stats.ks import ks_2samp, ks_pvalue

        n1, n2 = len(reference.values), len(current.values)
        if max(n1, n2) <= EXACT_ROWS:
            result = ks_2samp(reference.values, current.values)
        else:
            result = ks_pvalue(ks_statistic(reference, current), n1, n2)
        return self._verdict(result.statistic, result.p_value)
