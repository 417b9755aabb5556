"""Fairness over protected attributes, from per-group confusion matrices.

Fairlearn's definitions: the demographic-parity difference is the largest gap in selection
rate (share predicted positive) between groups; the equalized-odds difference is the larger
of the largest gap in true-positive rate and in false-positive rate. Computing them from
per-group counts (one ``bincount`` each) keeps them fast on large data; tests check them
against ``fairlearn.metrics`` on the same data.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.data.profile import CATEGORICAL_MAX_LEVELS, _key
from modelward.validation.checks import Check, compare

if TYPE_CHECKING:
    import pandas as pd

    from modelward.policy.model import BiasPolicy

__all__ = ["bias_checks", "group_labels", "group_rates", "parity_differences"]


def group_rates(y_true: Any, y_pred: Any, groups: Any) -> dict[str, dict[str, Any]]:
    """Per group: rows, positives, selection rate, TPR, FPR, accuracy."""
    import numpy as np
    import pandas as pd

    y = np.asarray(y_true).astype("int64")
    yhat = np.asarray(y_pred).astype("int64")
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    keep = codes >= 0
    codes, y, yhat = codes[keep], y[keep], yhat[keep]
    k = len(uniques)
    n = np.bincount(codes, minlength=k).astype("float64")
    pos = np.bincount(codes, weights=y, minlength=k)
    sel = np.bincount(codes, weights=yhat, minlength=k)
    tp = np.bincount(codes, weights=y * yhat, minlength=k)
    fp = sel - tp
    correct = np.bincount(codes, weights=(y == yhat).astype("float64"), minlength=k)
    out: dict[str, dict[str, Any]] = {}
    with np.errstate(divide="ignore", invalid="ignore"):
        for i, name in enumerate(uniques):
            neg = n[i] - pos[i]
            out[str(name)] = {
                "rows": int(n[i]),
                "positives": int(pos[i]),
                "selection_rate": float(sel[i] / n[i]),
                "true_positive_rate": float(tp[i] / pos[i]) if pos[i] else None,
                "false_positive_rate": float(fp[i] / neg) if neg else None,
                "accuracy": float(correct[i] / n[i]),
            }
    return out


def _spread(values: list[float | None]) -> float | None:
    known = [v for v in values if v is not None]
    return max(known) - min(known) if known else None


def parity_differences(rates: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    """Demographic-parity and equalized-odds differences over the given groups."""
    groups = list(rates.values())
    dpd = _spread([g["selection_rate"] for g in groups])
    tpr = _spread([g["true_positive_rate"] for g in groups])
    fpr = _spread([g["false_positive_rate"] for g in groups])
    eod = None if tpr is None and fpr is None else max(v for v in (tpr, fpr) if v is not None)
    return {
        "demographic_parity_difference": dpd,
        "equalized_odds_difference": eod,
        "true_positive_rate_difference": tpr,
        "false_positive_rate_difference": fpr,
    }


def group_labels(series: pd.Series, bands: list[float]) -> pd.Series:
    """Codes as they are; many-valued numbers (age) cut into bands such as ``40-55``."""
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if numeric and series.nunique() > CATEGORICAL_MAX_LEVELS and bands:
        edges = sorted(bands)
        labels = [f"<{_key(edges[0])}"]
        labels += [f"{_key(a)}-{_key(b)}" for a, b in zip(edges, edges[1:], strict=False)]
        labels += [f">={_key(edges[-1])}"]
        cut = pd.cut(series, [-float("inf"), *edges, float("inf")], right=False, labels=labels)
        return cut.astype("string")
    return series.map(lambda v: None if pd.isna(v) else _key(v)).astype("string")


def bias_checks(
    frame: pd.DataFrame, y_true: Any, y_pred: Any, policy: BiasPolicy
) -> tuple[list[Check], dict[str, Any]]:
    checks: list[Check] = []
    details: dict[str, Any] = {}
    limits = {
        "demographic_parity_difference": policy.max_demographic_parity_difference,
        "equalized_odds_difference": policy.max_equalized_odds_difference,
    }
    for attribute in policy.protected:
        if attribute not in frame.columns:
            details[attribute] = {"skipped": f"the data has no column {attribute!r}"}
            continue
        labels = group_labels(frame[attribute], policy.age_bands)
        rates = group_rates(y_true, y_pred, labels)
        small = sorted(g for g, r in rates.items() if r["rows"] < policy.min_group_size)
        kept = {g: r for g, r in rates.items() if g not in small}
        diffs = parity_differences(kept)
        details[attribute] = {"groups": rates, "excluded_small_groups": small, **diffs}
        note = f" (groups under {policy.min_group_size} rows left out: {', '.join(small)})"
        for metric, limit in limits.items():
            value = diffs[metric]
            checks.append(
                Check(
                    "bias",
                    f"{attribute}: {metric.replace('_', ' ')}",
                    value,
                    limit,
                    "<=",
                    compare(value, "<=", limit) if len(kept) > 1 else True,
                    (f"{len(kept)} groups" if len(kept) > 1 else "fewer than two groups")
                    + (note if small else ""),
                )
            )
    return checks, details
