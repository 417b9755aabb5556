"""The survival function of the two-sided one-sample Kolmogorov-Smirnov statistic
``D_n``: SciPy's ``scipy.stats.kstwo.sf(d, n)``, which ``ks_2samp`` uses for its
asymptotic p-value (``n = round(n1 n2 / (n1 + n2))``), computed with NumPy alone, so the
caller imports neither ``scipy.stats`` (whose package import loads every distribution)
nor ``scipy.special`` (a fifth of a second).

Ported from SciPy 1.17 (``scipy/stats/_ksstats.py``: ``_kolmogn`` and the methods it
chooses between, ``_kolmogn_DMTW``, ``_kolmogn_Pomeranz`` with
``_pomeranz_compute_j1j2``, ``_kolmogn_PelzGood``, ``_log_nfactorial_div_n_pow_n``; and
the argument and support checks of ``rv_continuous.sf`` for ``kstwo``), operation for
operation, so the result is SciPy's to the last bit, except where SciPy calls
``scipy.special.smirnov`` (twice the one-sided tail: ``x >= 0.5``, and large ``n x**2``):
there :func:`modelward.stats.smirnov.smirnov` stands in, within a relative
``n * 2.5e-15`` of it. SciPy is Copyright (c) 2001-2002
Enthought, Inc. 2003, SciPy Developers, under the BSD 3-Clause license
(``SCIPY_LICENSE.txt`` beside this file). Simard & L'Ecuyer (2011), "Computing the
Two-Sided Kolmogorov-Smirnov Distribution", J. Stat. Software 39(11), chose the method
for each ``(n, d)``.
"""

from __future__ import annotations

import math
from typing import Any

__all__ = ["kstwo_sf"]

_E128 = 128
_MIN_LOG = -708
# B_{2j} / (2j) / (2j - 1) for j = 8, ..., 1 (Stirling's series)
_STIRLING_COEFFS = [-2.955065359477124183e-2, 6.4102564102564102564e-3,
                    -1.9175269175269175269e-3, 8.4175084175084175084e-4,
                    -5.952380952380952381e-4, 7.9365079365079365079e-4,
                    -2.7777777777777777778e-3, 8.3333333333333333333e-2]  # fmt: skip


def kstwo_sf(d: float, n: float) -> float:
    """``P(D_n >= d)``: SciPy's ``kstwo.sf(d, n)`` for a scalar ``d`` and ``n``."""
    import numpy as np

    x = np.float64(d)
    if not (n >= 1 and n == np.round(n)) or np.isnan(x):
        return math.nan
    if x <= 0.5 / n:
        return 1.0
    if not x < 1.0:
        return 0.0
    return float(np.float64(_kolmogn(int(n), x)))


def _scales() -> tuple[Any, Any]:
    import numpy as np

    one = np.longdouble(1)
    return np.ldexp(one, _E128), np.ldexp(one, -_E128)


def _clip(p: Any) -> Any:
    import numpy as np

    return np.clip(p, 0.0, 1.0)


def _log_nfactorial_div_n_pow_n(n: int) -> Any:
    """``log(n! / n**n)`` by Stirling's series, ``n log n`` taken out beforehand."""
    import numpy as np

    rn = 1.0 / n
    return np.log(n) / 2 - n + np.log(2 * np.pi) / 2 + rn * np.polyval(_STIRLING_COEFFS, rn / n)


def _kolmogn(n: int, x: Any) -> Any:
    """``P(D_n >= x)`` for ``0 < x < 1``, by the method Simard & L'Ecuyer choose."""
    import numpy as np

    from modelward.stats.smirnov import smirnov

    t = n * x
    if t <= 1.0:  # Ruben-Gambino: 1/2n <= x <= 1/n
        if t <= 0.5:
            return _clip(1.0)
        if n <= 140:
            prob = np.prod(np.arange(1, n + 1) * (1.0 / n) * (2 * t - 1))
        else:
            prob = np.exp(_log_nfactorial_div_n_pow_n(n) + n * np.log(2 * t - 1))
        return _clip(1.0 - prob)
    if t >= n - 1:  # Ruben-Gambino
        return _clip(2 * (1.0 - x) ** n)
    if x >= 0.5:  # exact: twice the one-sided
        return _clip(2 * smirnov(n, x))
    nxsquared = t * x
    if n <= 140:
        if nxsquared <= 0.754693:
            return _clip(1.0 - _clip(_durbin_cdf(n, x)))
        if nxsquared <= 4:
            return _clip(1.0 - _clip(_pomeranz_cdf(n, x)))
        return _clip(2 * smirnov(n, x))  # Miller's approximation
    if nxsquared >= 370.0:
        return 0.0
    if nxsquared >= 2.2:
        return _clip(2 * smirnov(n, x))
    if nxsquared >= 18.0:
        cdf = 1.0
    elif n <= 100000 and n * x**1.5 <= 1.4:
        cdf = _clip(_durbin_cdf(n, x))
    else:
        cdf = _pelz_good_cdf(n, x)
    return _clip(1.0 - cdf)


def _durbin_cdf(n: int, d: Any) -> Any:
    """``P(D_n <= d)`` by Durbin's matrix algorithm as Marsaglia, Tsang & Wang compute
    it: the k-th row of ``(n! / n**n) H**n``, scaled as it goes (SciPy's
    ``_kolmogn_DMTW``)."""
    import numpy as np

    up, down = _scales()
    if d >= 1.0:
        return 1.0
    nd = n * d
    if nd <= 0.5:
        return 0.0
    k = int(np.ceil(nd))
    h = k - nd
    m = 2 * k - 1
    H = np.zeros([m, m])
    intm = np.arange(1, m + 1)
    v = 1.0 - h**intm
    w = np.empty(m)
    fac = 1.0
    for j in intm:
        w[j - 1] = fac
        fac /= j  # may underflow, harmlessly
        v[j - 1] *= fac
    tt = max(2 * h - 1.0, 0) ** m - 2 * h**m
    v[-1] = (1.0 + tt) * fac
    for i in range(1, m):
        H[i - 1 :, i] = w[: m - i + 1]
    H[:, 0] = v
    H[-1, :] = np.flip(v, axis=0)

    power = np.eye(np.shape(H)[0])
    nn = n
    expnt = 0  # scaling of power
    h_expnt = 0  # scaling of H
    while nn > 0:
        if nn % 2:
            power = np.matmul(power, H)
            expnt += h_expnt
        H = np.matmul(H, H)
        h_expnt *= 2
        if np.abs(H[k - 1, k - 1]) > up:
            H /= up
            h_expnt += _E128
        nn = nn // 2
    p = power[k - 1, k - 1]
    for i in range(1, n + 1):  # times n! / n**n
        p = i * p / n
        if np.abs(p) < down:
            p *= up
            expnt -= _E128
    if expnt != 0:
        p = np.ldexp(p, expnt)
    return p


def _pomeranz_j1j2(i: int, n: int, ll: int, ceilf: int, roundf: int) -> tuple[int, int]:
    """The endpoints of row ``i``'s interval (SciPy's ``_pomeranz_compute_j1j2``)."""
    if i == 0:
        j1, j2 = -ll - ceilf - 1, ll + ceilf - 1
    else:
        ip1div2, ip1mod2 = divmod(i + 1, 2)
        if ip1mod2 == 0:  # i odd
            if ip1div2 == n + 1:
                j1, j2 = n - ll - ceilf - 1, n + ll + ceilf - 1
            else:
                j1, j2 = ip1div2 - 1 - ll - roundf - 1, ip1div2 + ll - 1 + ceilf - 1
        else:
            j1, j2 = ip1div2 - 1 - ll - 1, ip1div2 + ll + roundf - 1
    return max(j1 + 2, 0), min(j2, n)


def _pomeranz_cdf(n: int, x: Any) -> Any:
    """``P(D_n <= x)`` by Pomeranz's recursion: each row the convolution of the previous
    one with (almost) Poisson probabilities, two rows kept, scaled as it goes."""
    import numpy as np

    up, down = _scales()
    t = n * x
    ll = int(np.floor(t))
    f = 1.0 * (t - ll)
    g = min(f, 1.0 - f)
    ceilf = 1 if f > 0 else 0
    roundf = 1 if f > 0.5 else 0
    npwrs = 2 * (ll + 1)
    gpower = np.empty(npwrs)  # (g/n)^m / m!
    twogpower = np.empty(npwrs)  # (2g/n)^m / m!
    onem2gpower = np.empty(npwrs)  # ((1-2g)/n)^m / m!
    gpower[0] = twogpower[0] = onem2gpower[0] = 1.0
    expnt = 0
    g_over_n, two_g_over_n, one_minus_two_g_over_n = g / n, 2 * g / n, (1 - 2 * g) / n
    for m in range(1, npwrs):
        gpower[m] = gpower[m - 1] * g_over_n / m
        twogpower[m] = twogpower[m - 1] * two_g_over_n / m
        onem2gpower[m] = onem2gpower[m - 1] * one_minus_two_g_over_n / m

    V0 = np.zeros([npwrs])
    V1 = np.zeros([npwrs])
    V1[0] = 1
    V0s, V1s = 0, 0
    j1, j2 = _pomeranz_j1j2(0, n, ll, ceilf, roundf)
    for i in range(1, 2 * n + 2):
        k1 = j1
        V0, V1 = V1, V0
        V0s, V1s = V1s, V0s
        V1.fill(0.0)
        j1, j2 = _pomeranz_j1j2(i, n, ll, ceilf, roundf)
        if i == 1 or i == 2 * n + 1:
            pwrs = gpower
        else:
            pwrs = twogpower if i % 2 else onem2gpower
        ln2 = j2 - k1 + 1
        if ln2 > 0:
            conv = np.convolve(V0[k1 - V0s : k1 - V0s + ln2], pwrs[:ln2])
            conv_start = j1 - k1
            conv_len = j2 - j1 + 1
            V1[:conv_len] = conv[conv_start : conv_start + conv_len]
            if 0 < np.max(V1) < down:
                V1 *= up
                expnt -= _E128
            V1s = V0s + j1 - k1
    ans = V1[n - V1s]
    for m in range(1, n + 1):  # times n!
        if np.abs(ans) > up:
            ans *= down
            expnt += _E128
        ans *= m
    if expnt != 0:
        ans = np.ldexp(ans, expnt)
    return ans


def _pelz_good_cdf(n: int, x: Any) -> Any:
    """Pelz & Good's approximation of ``P(D_n <= x)``: the Li-Chien / Korolyuk series
    ``K0(z) + K1(z)/sqrt(n) + K2(z)/n + K3(z)/n**1.5`` (``z = x sqrt(n)``) turned by
    Jacobi's theta functions into a form for small ``z``."""
    import numpy as np

    sqrt2pi = np.sqrt(2 * np.pi)
    pi2, pi4, pi6 = np.pi**2, np.pi**4, np.pi**6
    if x <= 0.0:
        return _clip(0.0)
    if x >= 1.0:
        return _clip(1.0)
    z = np.sqrt(n) * x
    zsquared, zthree, zfour, zsix = z**2, z**3, z**4, z**6
    qlog = -pi2 / 8 / zsquared
    if qlog < _MIN_LOG:  # z ~ 0.0417
        return _clip(0.0)
    q = np.exp(qlog)
    k1a = -zsquared
    k1b = pi2 / 4
    k2a = 6 * zsix + 2 * zfour
    k2b = (2 * zfour - 5 * zsquared) * pi2 / 4
    k2c = pi4 * (1 - 2 * zsquared) / 16
    k3d = pi6 * (5 - 30 * zsquared) / 64
    k3c = pi4 * (-60 * zsquared + 212 * zfour) / 16
    k3b = pi2 * (135 * zfour - 96 * zsix) / 4
    k3a = -30 * zsix - 90 * z**8

    K0to3 = np.zeros(4)
    # Horner's scheme for sum c_i q^(i^2), over the odd integers
    maxk = int(np.ceil(16 * z / np.pi))
    for k in range(maxk, 0, -1):
        m = 2 * k - 1
        msquared, mfour, msix = m**2, m**4, m**6
        qpower = np.power(q, 8 * k)
        coeffs = np.array(
            [
                1.0,
                k1a + k1b * msquared,
                k2a + k2b * msquared + k2c * mfour,
                k3a + k3b * msquared + k3c * mfour + k3d * msix,
            ]
        )
        K0to3 *= qpower
        K0to3 += coeffs
    K0to3 *= q
    K0to3 *= sqrt2pi
    K0to3 /= np.array([z, 6 * zfour, 72 * z**7, 6480 * z**10])  # z**10 > 0 as z > 0.04

    # the other sums, over all integers k: K2's (pi^2 k^2) q^(k^2) and
    # K3's (3 pi^2 k^2 z^2 - pi^4 k^4) q^(k^2)
    q = np.exp(-pi2 / 2 / zsquared)
    ks = np.arange(maxk, 0, -1)
    ksquared = ks**2
    sqrt3z = np.sqrt(3) * z
    kspi = np.pi * ks
    qpwers = q**ksquared
    k2extra = np.sum(ksquared * qpwers)
    k2extra *= pi2 * sqrt2pi / (-36 * zthree)
    K0to3[2] += k2extra
    k3extra = np.sum((sqrt3z + kspi) * (sqrt3z - kspi) * ksquared * qpwers)
    k3extra *= pi2 * sqrt2pi / (216 * zsix)
    K0to3[3] += k3extra
    powers_of_n = np.power(n * 1.0, np.arange(len(K0to3)) / 2.0)
    K0to3 /= powers_of_n
    return sum(K0to3)
