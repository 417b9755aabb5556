"""Pearson's chi-squared test of homogeneity (SciPy's ``chi2_contingency`` on the 2 x k
table of reference and current counts per category, as
:func:`modelward.stats.contingency.chi2_contingency` computes it without importing
``scipy.stats``): do both samples come from one distribution? Drifted when p < threshold.

A two-sample test: the reference's counts are a sample too, so a small reference (a few
hundred training rows) cannot make a large window look "significantly" different on
its own; the p-value is that of a goodness-of-fit test against the reference's shares
only when the reference is much larger than the window. A category either side never
saw simply counts zero there. For a 2 x 2 table SciPy applies Yates' continuity
correction (binary features default to :mod:`.ztest`, the same test without it).
"""

from __future__ import annotations

from modelward.monitoring.drift.base import DriftScore, Method, Sample, shares

__all__ = ["Chi2"]


class Chi2(Method):
    name = "chi2"
    criterion = "p_value"

    def _score(self, reference: Sample, current: Sample) -> DriftScore:
        import numpy as np

        from modelward.stats.contingency import chi2_contingency

        keys, ref, cur = shares(reference, current)
        seen = (ref + cur) > 0
        if seen.sum() < 2 or not ref.sum() or not cur.sum():
            return self._verdict(0.0, 1.0, categories=keys)
        result = chi2_contingency(np.vstack([ref[seen], cur[seen]]))
        return self._verdict(result.statistic, result.p_value)
