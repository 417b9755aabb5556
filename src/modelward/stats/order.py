"""The permutation that sorts a column, without sorting one that already is sorted."""

from __future__ import annotations

from typing import Any

__all__ = ["sort_order"]


def sort_order(values: Any) -> Any:
    """An index that puts ``values`` (a NumPy array) in ascending order: the identity (a
    slice, so indexing makes no copy) when they already are, as grouped scores an engine
    or ``np.unique`` hands over are; else their ``argsort``. One pass to check, instead
    of a sort of a hundred thousand values (NaN, never in order, takes the argsort)."""
    import numpy as np

    if len(values) < 2 or bool(np.all(values[1:] >= values[:-1])):
        return slice(None)
    return np.argsort(values)
