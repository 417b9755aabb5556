"""Scores in order: the permutation that sorts them (without sorting scores that already
are), and rows grouped by distinct score, which ROC-AUC and DeLong's variance take."""

from __future__ import annotations

from typing import Any

__all__ = ["score_groups", "sort_order"]


def sort_order(values: Any) -> Any:
    """An index that puts ``values`` (a NumPy array) in ascending order: the identity (a
    slice, so indexing makes no copy) when they already are, as grouped scores an engine
    or ``np.unique`` hands over are; else their ``argsort``. One pass to check, instead
    of a sort of a hundred thousand values (NaN, never in order, takes the argsort)."""
    import numpy as np

    if len(values) < 2 or bool(np.all(values[1:] >= values[:-1])):
        return slice(None)
    return np.argsort(values)


def score_groups(score: Any, positive: Any) -> tuple[Any, Any, Any]:
    """Rows grouped by distinct score, in ascending order, from one argsort: ``(scores,
    positives, rows)`` at each (NaN: each its own group)."""
    import numpy as np

    order = np.argsort(score)
    ordered = score[order]
    starts = np.flatnonzero(np.r_[True, ordered[1:] != ordered[:-1]])
    positives = np.add.reduceat(np.asarray(positive)[order].astype(np.int64), starts)
    return ordered[starts], positives, np.diff(np.r_[starts, len(score)])
