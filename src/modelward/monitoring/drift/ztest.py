"""Two-proportion z-test for a feature with two categories (Evidently's ``z`` test):
is the share of one category the same in the reference and the current sample? Pooled
standard error ``sqrt(p (1 - p) (1/n_ref + 1/n_cur))``, two-sided p-value
(:func:`modelward.stats.two_proportion`). Drifted when p < threshold.

Both shares are estimates, so the reference's own sampling counts: on a 303-row
reference the standard error cannot fall below that of 303 rows however large the
window. The statistic is ``z`` of the current share of the first category (sorted)
against the reference's. Equal to :mod:`.chi2` without Yates' correction (``z**2`` is
that chi-squared statistic).
"""

from __future__ import annotations

from modelward.errors import ConfigError
from modelward.monitoring.drift.base import DriftScore, Method, Sample, shares

__all__ = ["TwoProportionZ"]


class TwoProportionZ(Method):
    name = "ztest"
    criterion = "p_value"

    def _score(self, reference: Sample, current: Sample) -> DriftScore:
        from modelward.stats import two_proportion

        keys, ref, cur = shares(reference, current)
        if len(keys) > 2:
            raise ConfigError(
                f"drift method ztest compares two categories and the feature has "
                f"{len(keys)} ({', '.join(map(str, keys[:5]))}…); use chi2 for it",
                field="method",
            )
        if len(keys) < 2 or not ref.sum() or not cur.sum():
            return self._verdict(0.0, 1.0, categories=keys)
        result = two_proportion(int(ref[0]), int(ref.sum()), int(cur[0]), int(cur.sum()))
        return self._verdict(result.z, result.p_value, category=keys[0])
