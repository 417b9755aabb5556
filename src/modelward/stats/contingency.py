"""Pearson's chi-squared test on a contingency table: SciPy's
``scipy.stats.chi2_contingency`` (with Yates' correction on a table of one degree of
freedom, as SciPy applies it) computed with NumPy and
:func:`modelward.stats.special.chi2_sf`, so the caller imports neither ``scipy.stats``
(whose package import loads every distribution) nor ``scipy.special``.

Ported from SciPy 1.17 (``scipy/stats/contingency.py``: ``chi2_contingency``,
``expected_freq``; ``scipy/stats/_stats_py.py``: ``_power_divergence`` for Pearson's
statistic) operation for operation, so the statistic is SciPy's to the last bit and the
p-value within a relative 1e-12 (:mod:`modelward.stats.special`). SciPy is Copyright (c)
2001-2002 Enthought, Inc. 2003, SciPy Developers, under the BSD 3-Clause license
(``SCIPY_LICENSE.txt`` beside this file).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

__all__ = ["Chi2Result", "chi2_contingency"]


@dataclass(frozen=True)
class Chi2Result:
    statistic: float
    p_value: float
    dof: int


def chi2_contingency(observed: Any, *, correction: bool = True) -> Chi2Result:
    """The chi-squared test of independence of a table's rows and columns (for two rows
    of counts: do both come from one distribution). ``ValueError`` for negative counts
    or a row or column of zeros, as SciPy."""
    import numpy as np

    from modelward.stats.special import chi2_sf

    observed = np.asarray(observed)
    if np.any(observed < 0):
        raise ValueError("All values in `observed` must be nonnegative.")
    if observed.size == 0:
        raise ValueError("No data; `observed` has size 0.")
    expected = expected_freq(observed)
    if np.any(expected == 0):
        raise ValueError("The table of expected frequencies has a zero element")
    dof = expected.size - sum(expected.shape) + expected.ndim - 1
    if dof == 0:  # one non-trivial dimension: observed == expected
        return Chi2Result(0.0, 1.0, 0)
    if dof == 1 and correction:
        # Yates' correction, never larger than the difference itself (SciPy gh-13875)
        diff = expected - observed
        observed = observed + np.minimum(0.5, np.abs(diff)) * np.sign(diff)
    f_obs = np.asarray(observed, dtype=np.float64).ravel()
    f_exp = np.asarray(expected, dtype=np.float64).ravel()
    statistic = np.sum((f_obs - f_exp) ** 2 / f_exp)
    return Chi2Result(float(statistic), chi2_sf(float(statistic), int(dof)), int(dof))


def expected_freq(observed: Any) -> Any:
    """Each cell's expected count under independence: the product of its margins over
    the total (to the power of the dimensions less one)."""
    import numpy as np

    observed = np.asarray(observed, dtype=np.float64)
    axes = list(range(observed.ndim))
    expected = None
    for k in axes:
        margin = np.apply_over_axes(np.sum, observed, [j for j in axes if j != k])
        expected = margin if expected is None else expected * margin
    return expected / observed.sum() ** (observed.ndim - 1)
