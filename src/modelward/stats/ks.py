"""The two-sample Kolmogorov-Smirnov test, two-sided: SciPy's ``scipy.stats.ks_2samp``
(``method="auto"``) computed with NumPy and ``scipy.special`` alone, so the caller does
not import ``scipy.stats`` (whose package import loads every distribution).

As SciPy does: the exact p-value when neither sample has more than
:data:`EXACT_ROWS` values (and then the statistic ``D`` is reported as ``h / lcm(n1,
n2)``, the lattice step it rounds to), else ``kstwo.sf(D, round(n1 n2 / (n1 + n2)))``
(:func:`~modelward.stats.kolmogorov.kstwo_sf`); when the exact computation overflows it
warns and uses the asymptotic one.

Ported from SciPy 1.17 (``scipy/stats/_stats_py.py``: ``ks_2samp``,
``_attempt_exact_2kssamp``, ``_compute_prob_outside_square``; and
``scipy/stats/_stats_pythran.py``: ``_compute_outer_prob_inside_method``), operation for
operation, so statistic and p-value are SciPy's to the last bit. SciPy is Copyright (c)
2001-2002 Enthought, Inc. 2003, SciPy Developers, under the BSD 3-Clause license
(``SCIPY_LICENSE.txt`` beside this file). The exact method follows Hodges (1958), "The
Significance Probability of the Smirnov Two-Sample Test", and computes 1 - p directly
as in Viehmann (2021), arXiv:2102.08037.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Any

__all__ = ["EXACT_ROWS", "KSResult", "ks_2samp", "ks_pvalue"]

#: SciPy's ``ks_2samp`` computes the exact p-value up to this many values per sample.
EXACT_ROWS = 10_000
#: Band cells per anti-diagonal (on average) from which the exact computation goes one
#: anti-diagonal at a time with NumPy (the same operations on the same numbers).
_VECTOR_WIDTH = 32


@dataclass(frozen=True)
class KSResult:
    statistic: float
    p_value: float
    exact: bool  # the exact p-value, not the asymptotic one


def ks_2samp(first: Any, second: Any) -> KSResult:
    """SciPy's ``ks_2samp(first, second)`` (two-sided, ``method="auto"``): NaN for both
    figures when a sample holds NaN, as SciPy's default ``nan_policy`` gives."""
    import numpy as np

    data1 = np.sort(np.asarray(first, dtype="float64"))
    data2 = np.sort(np.asarray(second, dtype="float64"))
    n1, n2 = len(data1), len(data2)
    if min(n1, n2) == 0:
        raise ValueError("ks_2samp needs values in both samples")
    if np.isnan(data1[-1]) or np.isnan(data2[-1]):  # sorted: NaN last
        return KSResult(math.nan, math.nan, False)
    data_all = np.concatenate([data1, data2])
    cdf1 = np.searchsorted(data1, data_all, side="right") / n1
    cdf2 = np.searchsorted(data2, data_all, side="right") / n2
    cddiffs = cdf1 - cdf2
    below = np.clip(-cddiffs[np.argmin(cddiffs)], 0, 1)
    above = cddiffs[np.argmax(cddiffs)]
    return ks_pvalue(below if below > above else above, n1, n2)


def ks_pvalue(d: Any, n1: int, n2: int) -> KSResult:
    """The two-sided p-value of the statistic ``d`` of samples of ``n1`` and ``n2``
    values, as ``ks_2samp`` computes it (exact up to :data:`EXACT_ROWS` values)."""
    import numpy as np

    if max(n1, n2) <= EXACT_ROWS:
        done, d, prob = _attempt_exact(n1, n2, math.gcd(n1, n2), d)
        if done:
            return KSResult(float(np.float64(d)), float(np.clip(prob, 0, 1)), True)
        warnings.warn(
            "ks_2samp: Exact calculation unsuccessful. Switching to method=asymp.",
            RuntimeWarning,
            stacklevel=2,
        )
    from modelward.stats.kolmogorov import kstwo_sf

    m, n = sorted([float(n1), float(n2)], reverse=True)
    prob = kstwo_sf(d, float(np.round(m * n / (m + n))))
    return KSResult(float(np.float64(d)), float(np.clip(prob, 0, 1)), False)


def _attempt_exact(n1: int, n2: int, g: int, d: Any) -> tuple[bool, float, float]:
    """``(done, d rounded to the lattice, p)`` (SciPy's ``_attempt_exact_2kssamp``)."""
    import numpy as np

    lcm = (n1 // g) * n2
    h = int(np.round(d * lcm))
    d = h * 1.0 / lcm
    if h == 0:
        return True, d, 1.0
    try:
        with np.errstate(invalid="raise", over="raise"):
            if n1 == n2:
                prob = _outside_square(n1, h)
            else:
                prob = _outside_band(n1, n2, g, h)
    except (FloatingPointError, OverflowError):
        return False, d, math.nan
    return (0 <= prob <= 1), d, prob


def _outside_square(n: int, h: int) -> float:
    """``P(D_{n,n} >= h/n)``: ``2 (C(2n, n-h) - C(2n, n-2h) + ...) / C(2n, n)``, each
    term divided by ``C(2n, n)`` beforehand and the sum nested as in Horner's scheme,
    ``2 A0 (1 - A1 (1 - A2 (1 - ...)))``, against cancellation."""
    P = 0.0
    k = int(math.floor(n / h))
    while k >= 0:
        p1 = 1.0
        for j in range(h):
            p1 = (n - k * h - j) * p1 / (n + k * h + j + 1)
        P = p1 * (1.0 - P)
        k -= 1
    return 2 * P


def _band(m: int, n: int, g: int, h: int) -> tuple[Any, Any] | None:
    """The lattice from (0, 0) to (m, n), ``m >= n``: per column ``x`` the rows ``y``
    with ``|n x - m y| / g < h`` are ``lows[x] <= y < highs[x]``; None when a column has
    none (every path leaves the band)."""
    import numpy as np

    mg, ng = m // g, n // g
    x = np.arange(m + 1)
    lows = np.minimum(np.maximum(np.floor((ng * x - h) / mg).astype(np.int64) + 1, 0), n)
    highs = np.minimum(np.ceil((ng * x + h) / mg).astype(np.int64), n + 1)
    lows[0] = 0
    if (highs[1:] <= lows[1:]).any():
        return None
    return lows, highs


def _outside_band(n1: int, n2: int, g: int, h: int) -> float:
    """The share of lattice paths from (0, 0) to (m, n) that leave the band
    ``|x/m - y/n| < h / lcm(m, n)``: Hodges' inside method with Viehmann's recursion for
    1 - p, ``A(x, y) = (A(x-1, y) x + A(x, y-1) y) / (x + y)`` inside the band and 1
    outside (SciPy's ``_compute_outer_prob_inside_method``). Narrow bands go column by
    column in Python, as SciPy's compiled loop does; wide ones one anti-diagonal at a
    time with NumPy, every cell from the same two neighbours by the same operations."""
    m, n = (n1, n2) if n1 >= n2 else (n2, n1)
    band = _band(m, n, g, h)
    if band is None:
        return 1.0
    lows, highs = band
    if (highs - lows).sum() >= _VECTOR_WIDTH * (m + n):
        return _by_diagonals(m, n, lows, highs)
    return _by_columns(m, n, [int(v) for v in lows], [int(v) for v in highs])


def _by_columns(m: int, n: int, lows: list[int], highs: list[int]) -> float:
    """Column ``x`` of ``A`` over its band, in one list reused as the band slides up."""
    column = [1.0] * (n + 2)
    for y in range(highs[0]):
        column[y] = 0.0  # no path along the y axis has left the band yet
    for x in range(1, m + 1):
        shift, before = lows[x] - lows[x - 1], highs[x - 1] - lows[x - 1]
        val = 0.0 if lows[x] == 0 else 1.0
        for k, y in enumerate(range(lows[x], highs[x])):
            val = (column[k + shift] * x + val * y) / (x + y)
            column[k] = val
        for k in range(highs[x] - lows[x], before):
            column[k] = 1.0  # left the band: beyond the column's top
    return column[highs[m] - lows[m] - 1]


def _by_diagonals(m: int, n: int, lows: Any, highs: Any) -> float:
    """``A`` one anti-diagonal ``x + y = s`` at a time: its cells in the band are one run
    of ``x`` (``lows[x] + x`` and ``highs[x] + x`` both rise with ``x``), each from the
    previous diagonal's cells at ``x - 1`` (left) and ``x`` (below)."""
    import numpy as np

    xs = np.arange(m + 1, dtype="float64")
    diagonals = np.arange(1, m + n + 1)
    # diagonal s meets column x's band when lows[x] + x <= s < highs[x] + x
    starts = np.maximum(np.searchsorted(highs + np.arange(m + 1), diagonals, "right"), 1)
    stops = np.searchsorted(lows + np.arange(m + 1), diagonals, "right")
    previous = np.ones(m + 1)  # A on diagonal s - 1 by x; 1 outside the band
    current = np.ones(m + 1)  # diagonal s - 2's, then s's
    previous[0] = 0.0  # A(0, 0)
    written = [(0, 0), (0, 1)]  # the run of x set on diagonals s - 2 and s - 1
    for s, start, stop in zip(diagonals.tolist(), starts.tolist(), stops.tolist(), strict=True):
        current[written[0][0] : written[0][1]] = 1.0
        if start < stop:
            x = xs[start:stop]
            left, below = previous[start - 1 : stop - 1], previous[start:stop]
            current[start:stop] = (left * x + below * (s - x)) / s
        if s < highs[0]:
            current[0] = 0.0  # A(0, s): no path along the y axis has left the band
            start, stop = 0, max(stop, 1)
        written = [written[1], (start, max(start, stop))]
        previous, current = current, previous
    return float(previous[m])
