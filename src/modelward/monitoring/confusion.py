"""A binary classifier's metrics and 95 % intervals from counts, without its rows.

Accuracy, precision, recall and F1 are ratios of the confusion counts, and resampling rows
with replacement is a multinomial draw of those counts: :data:`RESAMPLES` draws of the
cells give the percentile bootstrap over every row at the cost of a few counts. ROC-AUC
and DeLong's interval (R's pROC default) come from the rows and positives at each distinct
score. The metrics check (a large window) and the report's series (each period) use both.
"""

from __future__ import annotations

from typing import Any

from modelward.monitoring.metrics import ONE_CLASS, auc_from_counts, confusion_ratios, unknown
from modelward.stats.order import sort_order

__all__ = ["RESAMPLES", "Z95", "auc_entry", "cells", "ratio_entries"]

#: Draws of the confusion counts for an interval.
RESAMPLES = 1000
#: The standard normal's 97.5 % quantile (SciPy's ``norm.ppf(0.975)``): DeLong's 95 %.
Z95 = 1.959963984540054


def cells(n: int, same: int, hit: int, said: int, tp: int) -> Any:
    """The five cells a labelled row falls in, from ``n`` rows, those whose label equals
    the prediction (``same``), those labelled (``hit``) and predicted (``said``) positive,
    and both (``tp``): true positives, false positives, false negatives, and a negative
    row right or wrong (a label that is neither class is wrong without being a false
    positive)."""
    import numpy as np

    fp, fn, right = said - tp, hit - tp, same - tp
    return np.array([tp, fp, fn, right, n - tp - fp - fn - right], dtype="int64")


def ratio_entries(counts: Any, names: list[str], *, seed: int = 0) -> dict[str, dict[str, Any]]:
    """``name -> {value, low, high}`` for the ratio metrics among ``names`` (ROC-AUC left
    out): values from ``counts`` (:func:`cells`), intervals from their bootstrap."""
    import numpy as np

    from modelward.stats.bootstrap import _percentiles

    n = int(counts.sum())
    wanted = [name for name in names if name != "roc_auc"]
    if n == 0:
        return {name: unknown() for name in wanted}
    draws = np.random.default_rng(seed).multinomial(n, counts / n, size=RESAMPLES)
    tp, fp, fn, right = counts[0], counts[1], counts[2], counts[0] + counts[3]
    out: dict[str, dict[str, Any]] = {}
    for name in wanted:
        value = float(confusion_ratios(name, tp, fp, fn, right / n))
        with np.errstate(divide="ignore", invalid="ignore"):
            drawn = confusion_ratios(
                name, draws[:, 0], draws[:, 1], draws[:, 2], (draws[:, 0] + draws[:, 3]) / n
            )
        drawn = np.asarray(drawn, dtype="float64")
        low, high = _percentiles(drawn, 0.95) if n > 1 else (None, None)
        out[name] = {"value": value, "low": low, "high": high}
    return out


def auc_entry(scores: Any, positives: Any, totals: Any) -> dict[str, Any]:
    """ROC-AUC ``{value, low, high}`` with DeLong's interval (clipped to 0..1) from the rows
    and positives at each distinct score; a note instead when one class is missing."""
    import numpy as np

    from modelward.stats.tests import delong_auc_counts

    scores = np.asarray(scores, dtype="float64")
    order = sort_order(scores)  # once: both find them sorted
    scores = scores[order]
    hits = np.asarray(positives, dtype="int64")[order]
    rows = np.asarray(totals, dtype="int64")[order]
    if not hits.sum() or hits.sum() == rows.sum():
        return unknown(ONE_CLASS)
    value = auc_from_counts(scores, hits, rows)
    _, error = delong_auc_counts(scores, hits, rows)
    assert value is not None
    return {
        "value": value,
        "low": max(0.0, value - Z95 * error),
        "high": min(1.0, value + Z95 * error),
    }
