"""The special functions the drift tests need, on the standard library: the normal
distribution's CDF, the chi-squared survival function for whole degrees of freedom, and
the relative entropy. Importing ``scipy.special`` costs ~0.15 s (its array-API layer
loads ``numpy.f2py``), most of a drift check on a small log.

Error bound (tests/test_stats_ports.py checks it against SciPy on a grid): :func:`ndtr`
and :func:`chi2_sf` agree with ``scipy.special.ndtr`` / ``chdtrc`` to a relative 1e-12
(measured: 1.0e-13 and 1.5e-13), far below anything a p-value threshold can tell apart.
Outside the closed forms' range (more than :data:`CLOSED_FORM_DOF` degrees of freedom or
a statistic above :data:`CLOSED_FORM_MAX`, where ``exp(-x/2)`` underflows) the
survival function is SciPy's own.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["CLOSED_FORM_DOF", "CLOSED_FORM_MAX", "chi2_sf", "ndtr", "rel_entr"]

#: Degrees of freedom up to which :func:`chi2_sf` sums its closed form.
CLOSED_FORM_DOF = 200
#: Statistics up to which :func:`chi2_sf` sums its closed form.
CLOSED_FORM_MAX = 1400.0

_SQRT1_2 = math.sqrt(0.5)


def ndtr(a: float) -> float:
    """``P(Z <= a)`` for a standard normal ``Z``, by Cephes' ``ndtr`` steps (erf near
    zero, erfc in the tails, so neither tail loses digits)."""
    if math.isnan(a):
        return math.nan
    x = a * _SQRT1_2
    z = abs(x)
    if z < _SQRT1_2:
        return 0.5 + 0.5 * math.erf(x)
    y = 0.5 * math.erfc(z)
    return 1.0 - y if x > 0 else y


def chi2_sf(x: float, dof: int) -> float:
    """``P(X >= x)`` for ``X`` chi-squared with ``dof`` (whole, >= 1) degrees of freedom:
    for even ``dof`` ``exp(-x/2)`` times the first ``dof/2`` terms of the exponential
    series of ``x/2``; for odd ``dof`` ``erfc(sqrt(x/2))`` plus the half-integer terms.
    Every term is positive, so the sum loses no digits to cancellation."""
    if math.isnan(x):
        return math.nan
    if x <= 0:
        return 1.0
    if dof > CLOSED_FORM_DOF or x > CLOSED_FORM_MAX:
        from scipy.special import chdtrc

        return float(chdtrc(float(dof), x))
    if dof % 2 == 0:
        half = x / 2
        term = total = 1.0
        for i in range(1, dof // 2):
            term *= half / i
            total += term
        return math.exp(-half) * total
    tail = math.erfc(math.sqrt(x / 2))
    term = math.sqrt(2 * x / math.pi) * math.exp(-x / 2) if dof > 1 else 0.0
    series = term
    for j in range(2, (dof + 1) // 2):
        term *= x / (2 * j - 1)
        series += term
    return tail + series


def rel_entr(x: Any, y: Any) -> Any:
    """Elementwise ``x * log(x / y)``, 0 where ``x == 0`` and ``y >= 0``, infinite where
    only one is positive: ``scipy.special.rel_entr``'s cases on NumPy arrays."""
    import numpy as np

    x, y = np.broadcast_arrays(np.asarray(x, dtype=np.float64), np.asarray(y, dtype=np.float64))
    out = np.full(x.shape, np.inf)
    both = (x > 0) & (y > 0)
    with np.errstate(divide="ignore", invalid="ignore"):
        out[both] = x[both] * np.log(x[both] / y[both])
    out[(x == 0) & (y >= 0)] = 0.0
    out[np.isnan(x) | np.isnan(y)] = np.nan
    return out
