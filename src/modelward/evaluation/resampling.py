"""One percentile bootstrap for any task's metrics, and its paired form.

A task's metric function takes a (B, n) matrix of row indices (one resample per row) and
gives every metric for every resample; the point estimate is the same function on the rows
as given. The resamples are those of :func:`modelward.stats.bootstrap_ci` with the same
seed, so intervals agree with it metric by metric.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelward.stats.bootstrap import _indices, _percentiles, two_sided_p

if TYPE_CHECKING:
    import numpy as np

__all__ = ["MetricFn", "interval_metrics", "paired_differences", "point_of"]

#: (B, n) row indices -> {metric: (B,) values}
MetricFn = Callable[["np.ndarray"], dict[str, "np.ndarray"]]
#: resamples x rows held in memory at once
CHUNK_CELLS = 5_000_000


def _chunk(n: int) -> int:
    return max(1, min(250, CHUNK_CELLS // max(n, 1)))


def point_of(fn: MetricFn, n: int) -> dict[str, float | None]:
    """Every metric on the rows as given (``None`` where undefined)."""
    import numpy as np

    values = fn(np.arange(n)[None, :])
    out: dict[str, float | None] = {}
    for name, v in values.items():
        x = float(v[0])
        out[name] = None if np.isnan(x) else x
    return out


def interval_metrics(
    fn: MetricFn, n: int, *, resamples: int = 1000, confidence: float = 0.95, seed: int = 0
) -> dict[str, dict[str, Any]]:
    """Every metric of ``fn`` with a percentile bootstrap interval, from shared resamples."""
    import numpy as np

    point = point_of(fn, n)
    if n < 2:
        return {
            k: {"value": v, "low": None, "high": None, "confidence": confidence}
            for k, v in point.items()
        }
    indices = _indices(n, resamples, seed)
    draws: dict[str, list[np.ndarray]] = {name: [] for name in point}
    step = _chunk(n)
    for start in range(0, resamples, step):
        for name, values in fn(indices[start : start + step]).items():
            draws[name].append(values)
    out: dict[str, dict[str, Any]] = {}
    for name, value in point.items():
        low, high = _percentiles(np.concatenate(draws[name]), confidence)
        out[name] = {
            "value": value,
            "low": low,
            "high": high,
            "confidence": confidence,
            "resamples": resamples,
        }
    return out


def paired_differences(
    base: MetricFn,
    cand: MetricFn,
    n: int,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """``candidate - baseline`` for every metric, both scored on the same resampled rows."""
    import numpy as np

    a, b = point_of(base, n), point_of(cand, n)
    names = [name for name in a if name in b]
    parts: dict[str, list[np.ndarray]] = {name: [] for name in names}
    indices = _indices(n, resamples, seed)
    step = _chunk(n)
    for start in range(0, resamples, step):
        chunk = indices[start : start + step]
        da, db = base(chunk), cand(chunk)
        for name in names:
            parts[name].append(db[name] - da[name])
    out: dict[str, dict[str, Any]] = {}
    for name in names:
        draws = np.concatenate(parts[name])
        low, high = _percentiles(draws, confidence)
        va, vb = a[name], b[name]
        out[name] = {
            "baseline": va,
            "candidate": vb,
            "difference": None if va is None or vb is None else vb - va,
            "low": low,
            "high": high,
            "p_value": two_sided_p(draws) if low is not None else None,
        }
    return out
