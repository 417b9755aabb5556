"""Pearson's chi-squared goodness of fit (SciPy's ``chisquare``): are the current counts
what the reference's shares predict? Drifted when p < threshold.

Expected counts are the reference shares times the current total. A category the
reference never saw would expect zero; then every expected count is smoothed by half an
observation per category (so the test stays finite and the new category weighs heavily).
"""

from __future__ import annotations

from modelward.monitoring.drift.base import DriftScore, Method, Sample, shares

__all__ = ["Chi2"]


class Chi2(Method):
    name = "chi2"
    criterion = "p_value"

    def _score(self, reference: Sample, current: Sample) -> DriftScore:
        from scipy.stats import chisquare

        keys, ref, cur = shares(reference, current)
        if (ref == 0).any():
            ref = ref + 0.5
        expected = ref / ref.sum() * cur.sum()
        if len(keys) < 2:
            return self._verdict(0.0, 1.0, categories=keys)
        result = chisquare(cur, expected)
        return self._verdict(float(result.statistic), float(result.pvalue))
