"""Data profiles: the statistics of a table that later checks compare against.

A profile is plain JSON, stored with every registered version as its *reference*:

```
{"rows": 303, "target": "target", "target_counts": {"0": 164, "1": 139},
 "columns": {
   "chol": {"kind": "numeric", "dtype": "float64", "count": 303, "missing": 0,
            "missing_rate": 0.0, "zeros": 0, "mean": …, "std": …, "min": …, "max": …,
            "quantiles": [q0, q1, …, q100],          # 101 evenly spaced quantiles
            "histogram": {"edges": [...], "counts": [...]},
            "values": [...], "values_exact": true,   # sorted sample (all rows up to 5 000)
            "distribution": {"values": [...], "counts": [...], "std": …, "error": 0.0}},
   "thal": {"kind": "categorical", …, "categories": {"3.0": 166, "7.0": 117, …}}}}
```

Numeric columns keep a sorted sample (every value when there are at most
``SAMPLE_SIZE`` rows), so drift tests that need the distribution itself (KS,
Wasserstein) run against the stored reference without the training data. The
``distribution`` is the whole column for the Wasserstein distance: every distinct value
with its count (exact) when there are at most ``DISTINCT_VALUES``, else the medians of
equal-count runs of the sorted values, as many as make ``error`` (the Wasserstein
distance between it and the column, computed here) at most ``DISTRIBUTION_ERROR`` of
the column's standard deviation (population ``std``, as drift normalises by). Low-cardinality
integer columns (codes such as ``cp`` or ``thal``) are profiled as categorical as well as
numeric, because category-wise tests suit them better.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data.io import read_source, split_target
from modelward.data.spec import spec_target

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "CATEGORICAL_MAX_LEVELS",
    "DISTINCT_VALUES",
    "SAMPLE_SIZE",
    "distribution",
    "profile_column",
    "profile_data",
    "profile_frame",
]

SAMPLE_SIZE = 5000
#: Columns with at most this many distinct values keep each value and its count.
DISTINCT_VALUES = 5000
#: Otherwise runs of sorted values are merged into their medians until the distribution
#: is this close (Wasserstein distance / std) to the column, with at most MAX_RUNS runs.
DISTRIBUTION_ERROR = 0.001
MAX_RUNS = 20_000
HISTOGRAM_BINS = 20
#: Integer columns with at most this many distinct values are also profiled as categories.
CATEGORICAL_MAX_LEVELS = 10
MAX_CATEGORIES = 100


def profile_data(data: pd.DataFrame | Path | str, *, target: str | None = None) -> dict[str, Any]:
    """``modelward data profile``: the profile of a table (a DataFrame, or a file or dataset
    spec to read), with the label column ``target`` (else the one a spec derives) counted
    apart."""
    frame, ref = read_source(data)
    if target:
        split_target(frame, target, source=ref or "the data")
    return profile_frame(frame, target=target or spec_target(ref))


def profile_frame(
    frame: pd.DataFrame, *, target: str | None = None, seed: int = 0
) -> dict[str, Any]:
    """The profile of ``frame`` (see the module docstring for its shape)."""
    out: dict[str, Any] = {
        "rows": int(len(frame)),
        "target": target,
        "columns": {
            str(name): profile_column(frame[name], seed=seed)
            for name in frame.columns
            if name != target
        },
    }
    if target is not None and target in frame.columns:
        counts = frame[target].value_counts(dropna=True).sort_index()
        out["target_counts"] = {_key(k): int(v) for k, v in counts.items()}
    return out


def profile_column(series: pd.Series, *, seed: int = 0) -> dict[str, Any]:
    import numpy as np
    import pandas as pd

    total = int(len(series))
    missing = int(series.isna().sum())
    base: dict[str, Any] = {
        "dtype": str(series.dtype),
        "count": total,
        "missing": missing,
        "missing_rate": missing / total if total else 0.0,
    }
    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if not numeric:
        return {**base, "kind": "categorical", "categories": _categories(series)}
    values = series.dropna().to_numpy(dtype="float64")
    base["kind"] = "numeric"
    base["zeros"] = int((values == 0).sum())
    if len(values) == 0:
        return base
    distinct = np.unique(values)
    integral = bool(np.all(values == np.round(values)))
    if integral and len(distinct) <= CATEGORICAL_MAX_LEVELS:
        base["categories"] = _categories(series)
    edges = np.histogram_bin_edges(values, bins=min(HISTOGRAM_BINS, max(len(distinct), 1)))
    counts, edges = np.histogram(values, bins=edges)
    if len(values) > SAMPLE_SIZE:
        rng = np.random.default_rng(seed)
        sample = np.sort(rng.choice(values, size=SAMPLE_SIZE, replace=False))
    else:
        sample = np.sort(values)
    base.update(
        mean=float(values.mean()),
        std=float(values.std(ddof=1)) if len(values) > 1 else 0.0,
        min=float(values.min()),
        max=float(values.max()),
        distinct=int(len(distinct)),
        integral=integral,
        quantiles=[float(q) for q in np.quantile(values, np.linspace(0, 1, 101))],
        histogram={"edges": [float(e) for e in edges], "counts": [int(c) for c in counts]},
        values=[float(v) for v in sample],
        values_exact=len(values) <= SAMPLE_SIZE,
        distribution=distribution(values),
    )
    return base


def distribution(values: Any) -> dict[str, Any]:
    """The column as ``{values, counts, std, error}`` (see the module docstring): exact
    for few distinct values, else run medians whose Wasserstein distance to the column,
    ``error``, is measured (the monotone coupling of each value to its run's median is
    the optimal one, so the distance is its mean absolute move)."""
    import numpy as np

    ordered = np.sort(np.asarray(values, dtype="float64"))
    std = float(ordered.std())
    points, counts = np.unique(ordered, return_counts=True)
    if len(points) <= DISTINCT_VALUES:
        return _distribution(points, counts, std, 0.0)
    n, runs = len(ordered), 1000
    while True:
        bounds = np.linspace(0, n, runs + 1).round().astype("int64")
        starts, stops = bounds[:-1], bounds[1:]
        medians = ordered[(starts + stops - 1) // 2]  # lower median of each run
        moved = np.abs(ordered - np.repeat(medians, stops - starts)).sum() / n
        if moved <= DISTRIBUTION_ERROR * max(std, 1e-300) or runs >= min(MAX_RUNS, n):
            return _distribution(medians, stops - starts, std, float(moved))
        runs *= 2


def _distribution(points: Any, counts: Any, std: float, error: float) -> dict[str, Any]:
    return {
        "values": [float(v) for v in points],
        "counts": [int(c) for c in counts],
        "std": std,
        "error": error,
    }


def _categories(series: pd.Series) -> dict[str, int]:
    counts = series.dropna().value_counts()
    out = {_key(k): int(v) for k, v in counts.head(MAX_CATEGORIES).items()}
    rest = int(counts.iloc[MAX_CATEGORIES:].sum()) if len(counts) > MAX_CATEGORIES else 0
    if rest:
        out["__other__"] = rest
    return out


def _key(value: Any) -> str:
    """Category keys as strings; integral floats as integers (``3.0`` -> ``"3"``)."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)
