"""Turning a stored reference profile, or a window of the log, into drift samples.

A feature is *categorical* when its reference profile lists categories (strings, and
integer codes with at most 10 levels such as ``cp`` or ``thal``), else *numeric*.
Category keys are the profile's (``3.0`` -> ``"3"``), so log values and the profile meet.
"""

from __future__ import annotations

from typing import Any

from modelward.errors import DataError
from modelward.monitoring.drift.base import Distribution, Sample

__all__ = [
    "array_samples",
    "category_key",
    "counted_categories",
    "counted_distributions",
    "feature_kinds",
    "histogram",
    "reference_samples",
]


def feature_kinds(profile: dict[str, Any], features: list[str]) -> dict[str, str]:
    columns = profile.get("columns", {})
    out = {}
    for name in features:
        column = columns.get(name, {})
        out[name] = "categorical" if "categories" in column else "numeric"
    return out


def reference_samples(profile: dict[str, Any], kinds: dict[str, str]) -> dict[str, Sample]:
    import numpy as np

    columns = profile.get("columns", {})
    out = {}
    for name, kind in kinds.items():
        column = columns.get(name)
        if column is None:
            raise DataError(
                f"the reference profile has no feature {name!r}; choose --features from "
                f"{', '.join(columns)}",
                field="features",
            )
        rows = int(column.get("count", 0)) - int(column.get("missing", 0))
        if kind == "categorical":
            out[name] = Sample(counts=dict(column.get("categories", {})), rows=rows)
        else:
            out[name] = Sample(
                values=np.asarray(column.get("values", []), "float64"),
                rows=rows,
                distribution=_stored(column.get("distribution")),
            )
    return out


def _stored(found: dict[str, Any] | None) -> Distribution | None:
    """A profile's stored distribution (profiles made before it had one: None, and the
    stored sample stands in)."""
    import numpy as np

    if not found or not found.get("values"):
        return None
    return Distribution(
        np.asarray(found["values"], "float64"),
        np.asarray(found["counts"], "float64"),
        float(found["std"]),
        float(found.get("error", 0.0)),
    )


def _grouping(found: dict[str, Any], i: int, keys: int) -> tuple[Any, Any]:
    """Key ``i``'s grouping set of an engine's grouping-sets columns (``k<i>``, the count
    ``c``, ``GROUPING_ID`` ``g``): its values (missing ones left out) and their counts."""
    import numpy as np

    full = (1 << keys) - 1
    group = np.asarray(found.get("g", []), dtype="int64")
    mine = group == full ^ (1 << (keys - 1 - i))  # GROUPING_ID sets a rolled-up bit
    column = found.get(f"k{i}", np.array([]))
    missing = np.ma.getmaskarray(column)
    values = np.ma.getdata(column)[mine & ~missing]
    counts = np.asarray(found.get("c", []), dtype="int64")[mine & ~missing]
    return values, counts


def counted_categories(
    found: dict[str, Any], keys: dict[str, float | None]
) -> dict[str, dict[str, int]]:
    """The category counts of the features of ``keys`` whose unit is None, from the
    engine's columns of one grouping set per feature in the order of ``keys`` (missing
    values and NaN left out; keys as the profile names them)."""
    out: dict[str, dict[str, int]] = {}
    for i, (name, unit) in enumerate(keys.items()):
        if unit is not None:
            continue
        values, counts = _grouping(found, i, len(keys))
        tally: dict[str, int] = {}
        for value, count in zip(values.tolist(), counts.tolist(), strict=True):
            if value is not None and value == value:  # not NaN
                key = category_key(value)
                tally[key] = tally.get(key, 0) + int(count)
        out[name] = tally
    return out


def counted_distributions(
    found: dict[str, Any], keys: dict[str, float | None]
) -> dict[str, Distribution]:
    """The distribution of each feature of ``keys`` with a unit, from the engine's counts
    of its values rounded to it (its ``k<i>``: the rounded value / unit) in one grouping
    set per feature. A value moves at most half a unit, so each is within ``unit / 2``
    (its ``error``) of the exact distribution."""
    import numpy as np

    out = {}
    for i, (name, unit) in enumerate(keys.items()):
        if unit is None:
            continue
        values, counts = _grouping(found, i, len(keys))
        values = np.asarray(values, dtype="float64")
        finite = np.isfinite(values)
        points, weights = values[finite] * unit, counts[finite].astype("float64")
        if not weights.sum():
            out[name] = Distribution(points, weights, 0.0, 0.0)
            continue
        mean = np.average(points, weights=weights)
        std = float(np.sqrt(np.average((points - mean) ** 2, weights=weights)))
        out[name] = Distribution(points, weights, std, unit / 2)
    return out


def category_key(value: Any) -> str:
    """A category as the reference profile names it (``3.0`` -> ``"3"``)."""
    from modelward.data.profile import _key as profile_key

    return profile_key(value)


def array_samples(arrays: dict[str, Any], kinds: dict[str, str]) -> tuple[int, dict[str, Sample]]:
    """Samples from the NumPy arrays of ``predlog.reader.arrays`` (``in_<feature>``
    columns, missing values left out; no pandas: a million rows cost one pass each)."""
    import numpy as np

    rows = 0
    out = {}
    for name, kind in kinds.items():
        values = arrays.get(f"in_{name}")
        if values is None:
            values = np.array([], dtype="float64")
        rows = max(rows, len(values))
        if values.dtype.kind == "f":
            present = values[~np.isnan(values)]
        else:
            present = np.array([v for v in values if v is not None], dtype=object)
        if kind == "categorical":
            if present.dtype.kind == "f":
                keys, counts = _value_counts(present)
            else:
                keys, counts = np.unique(present.astype(str), return_counts=True)
            out[name] = Sample(
                counts={category_key(k): int(c) for k, c in zip(keys, counts, strict=True)},
                rows=int(len(present)),
            )
        else:
            if present.dtype.kind != "f":
                import pandas as pd

                present = pd.to_numeric(pd.Series(present), errors="coerce").dropna()
                present = present.to_numpy("float64")
            out[name] = Sample(values=present, rows=int(len(present)))
    return rows, out


def _value_counts(values: Any) -> tuple[Any, Any]:
    """``np.unique(values, return_counts=True)`` for float values without the sort when
    they are small non-negative integers (category codes): a bincount, ~10x faster."""
    import numpy as np

    if len(values) and values.min() >= 0 and values.max() < 4096:
        codes = values.astype("int64")
        if (codes == values).all():
            counts = np.bincount(codes)
            keys = np.flatnonzero(counts)
            return keys.astype("float64"), counts[keys]
    return np.unique(values, return_counts=True)


def histogram(
    reference: Sample, current: Sample, profile_column: dict[str, Any] | None
) -> dict[str, Any]:
    """Reference vs current shares on one set of bins (for reports)."""
    import numpy as np

    if reference.kind == "categorical":
        ref = reference.counts or {}
        cur = current.counts or {}
        keys = sorted(set(ref) | set(cur), key=str)[:30]
        rt, ct = max(sum(ref.values()), 1), max(sum(cur.values()), 1)
        return {
            "labels": keys,
            "reference": [ref.get(k, 0) / rt for k in keys],
            "current": [cur.get(k, 0) / ct for k in keys],
        }
    edges = None
    if profile_column and "histogram" in profile_column:
        edges = np.asarray(profile_column["histogram"]["edges"], "float64")
    if edges is None or len(edges) < 2:
        both = np.concatenate([reference.values, current.values])
        edges = np.histogram_bin_edges(both, bins=20) if len(both) else np.array([0.0, 1.0])
    ref_counts = _clipped_histogram(reference, edges)
    cur_counts = _clipped_histogram(current, edges)
    below = int((current.values < edges[0]).sum())
    above = int((current.values > edges[-1]).sum())
    return {
        "edges": [float(e) for e in edges],
        "reference": (ref_counts / max(ref_counts.sum(), 1)).tolist(),
        "current": (cur_counts / max(cur_counts.sum(), 1)).tolist(),
        "current_below_range": below,
        "current_above_range": above,
    }


def _clipped_histogram(values: Any, edges: Any) -> Any:
    """``np.histogram(np.clip(values, edges[0], edges[-1]), edges)[0]`` (bins closed on
    the left, the last on both sides) from counts below each edge: one binary search per
    value instead of NumPy's sort of the values for uneven edges (``values``: an array,
    or a numeric :class:`Sample`, whose counts may be known already)."""
    import numpy as np

    sample = values if isinstance(values, Sample) else Sample(values=np.asarray(values))
    edges = np.asarray(edges, dtype="float64")
    if len(edges) < 2 or (np.diff(edges) <= 0).any():
        return np.histogram(np.clip(sample.values, edges[0], edges[-1]), edges)[0]
    below = sample.below(edges[1:-1])[0]  # x < e_1 .. e_{n-1}; lower clip -> bin 0
    return np.diff(np.concatenate([[0], below, [len(sample)]]))
