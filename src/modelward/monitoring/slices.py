"""Slicing labelled predictions by feature bins and categories, with Wilson intervals."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["slice_labels", "wilson"]

Z95 = 1.959963984540054


def wilson(successes: int, n: int, z: float = Z95) -> tuple[float | None, float | None]:
    """Wilson score interval for a proportion (sound for small n and rates near 0 or 1)."""
    if n == 0:
        return None, None
    p = successes / n
    denom = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return max(0.0, centre - half), min(1.0, centre + half)


def slice_labels(
    frame: pd.DataFrame, feature: str, kind: str, profile_column: dict[str, Any] | None
) -> pd.Series:
    """A label per row naming its slice: ``chol in [211, 242)``, ``cp = 4``, ``ca missing``."""
    import numpy as np
    import pandas as pd

    from modelward.data.profile import _key

    column = frame[f"in_{feature}"]
    out: Any = pd.Series(f"{feature} missing", index=frame.index, dtype="object")
    present = column.notna()
    if kind == "categorical":
        out[present] = [f"{feature} = {_key(v)}" for v in column[present]]
        return out
    values = pd.to_numeric(column[present], errors="coerce")
    quantiles = (profile_column or {}).get("quantiles")
    inner: Any
    if quantiles:
        inner = np.unique(np.asarray(quantiles, "float64")[[25, 50, 75]])
    else:
        inner = np.unique(np.nanquantile(values, [0.25, 0.5, 0.75])) if len(values) else []
    edges = [-math.inf, *map(float, inner), math.inf]
    index = np.searchsorted(np.asarray(edges[1:-1]), values.to_numpy("float64"), side="right")
    names = []
    for i in range(len(edges) - 1):
        low, high = edges[i], edges[i + 1]
        if math.isinf(low):
            names.append(f"{feature} < {high:g}")
        elif math.isinf(high):
            names.append(f"{feature} >= {low:g}")
        else:
            names.append(f"{feature} in [{low:g}, {high:g})")
    out[present] = [names[i] for i in index]
    return out
