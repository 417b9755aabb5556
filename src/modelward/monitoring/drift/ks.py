"""Two-sample Kolmogorov-Smirnov test (SciPy's ``ks_2samp``): drifted when p < threshold."""

from __future__ import annotations

from modelward.monitoring.drift.base import DriftScore, Method, Sample

__all__ = ["KolmogorovSmirnov"]


class KolmogorovSmirnov(Method):
    name = "ks"
    criterion = "p_value"
    numeric_only = True

    def _score(self, reference: Sample, current: Sample) -> DriftScore:
        from scipy.stats import ks_2samp

        result = ks_2samp(reference.values, current.values)
        return self._verdict(float(result.statistic), float(result.pvalue))
