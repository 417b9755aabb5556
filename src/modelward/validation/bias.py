"""Fairness over protected attributes, from per-group confusion matrices (binary), per-group
accuracy (multiclass) and per-group mean absolute error (regression).

Fairlearn's definitions: the demographic-parity difference is the largest gap in selection
rate (share predicted positive) between groups; the equalized-odds difference is the larger
of the largest gap in true-positive rate and in false-positive rate. Computing them from
per-group counts (one ``bincount`` each) keeps them fast on large data; tests check them
against ``fairlearn.metrics`` on the same data.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from modelward.data.profile import CATEGORICAL_MAX_LEVELS, _key
from modelward.validation.checks import Check, compare, not_run

if TYPE_CHECKING:
    import pandas as pd

    from modelward.policy.model import BiasPolicy

__all__ = [
    "bias_checks",
    "group_accuracy",
    "group_errors",
    "group_labels",
    "group_rates",
    "parity_differences",
]


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


def group_errors(y_true: Any, y_pred: Any, groups: Any) -> dict[str, dict[str, Any]]:
    """Per group (regression): rows, MAE and mean residual (predicted - actual)."""
    import numpy as np
    import pandas as pd

    truth = np.asarray(y_true, dtype="float64")
    pred = np.asarray(y_pred, dtype="float64")
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    keep = codes >= 0
    codes, truth, pred = codes[keep], truth[keep], pred[keep]
    k = len(uniques)
    n = np.bincount(codes, minlength=k).astype("float64")
    abs_err = np.bincount(codes, weights=np.abs(pred - truth), minlength=k)
    residual = np.bincount(codes, weights=pred - truth, minlength=k)
    return {
        str(name): {
            "rows": int(n[i]),
            "mae": float(abs_err[i] / n[i]),
            "mean_residual": float(residual[i] / n[i]),
        }
        for i, name in enumerate(uniques)
    }


def group_accuracy(y_true: Any, y_pred: Any, groups: Any) -> dict[str, dict[str, Any]]:
    """Per group (multiclass): rows, accuracy and error rate."""
    import numpy as np
    import pandas as pd

    correct = (np.asarray(y_true) == np.asarray(y_pred)).astype("float64")
    codes, uniques = pd.factorize(pd.Series(groups), sort=True)
    keep = codes >= 0
    codes, correct = codes[keep], correct[keep]
    k = len(uniques)
    n = np.bincount(codes, minlength=k).astype("float64")
    hits = np.bincount(codes, weights=correct, minlength=k)
    return {
        str(name): {
            "rows": int(n[i]),
            "accuracy": float(hits[i] / n[i]),
            "error_rate": float(1 - hits[i] / n[i]),
        }
        for i, name in enumerate(uniques)
    }


def _binary_limits(policy: BiasPolicy) -> dict[str, float]:
    return {
        "demographic_parity_difference": policy.max_demographic_parity_difference,
        "equalized_odds_difference": policy.max_equalized_odds_difference,
    }


def _attribute(
    task: str, y_true: Any, y_pred: Any, labels: Any, policy: BiasPolicy
) -> tuple[dict[str, Any], dict[str, Any], dict[str, tuple[float | None, str, float]]]:
    """Per-group table, the differences, and {check: (value, op, limit)} for one attribute."""
    if task == "regression":
        rates = group_errors(y_true, y_pred, labels)
    elif task == "multiclass-classification":
        rates = group_accuracy(y_true, y_pred, labels)
    else:
        rates = group_rates(y_true, y_pred, labels)
    small = sorted(g for g, r in rates.items() if r["rows"] < policy.min_group_size)
    kept = {g: r for g, r in rates.items() if g not in small}
    if task == "regression":
        import numpy as np

        overall = float(np.mean(np.abs(np.asarray(y_pred) - np.asarray(y_true))))
        mae = [r["mae"] for r in kept.values()]
        diff = _spread(list(mae))
        # the worst group's MAE over the best group's (a perfect best group: unbounded)
        ratio = None if len(mae) < 2 else (max(mae) / min(mae) if min(mae) > 0 else math.inf)
        relative = None if diff is None or overall == 0 else diff / overall
        diffs: dict[str, Any] = {
            "mae_difference": diff,
            "mae_ratio": ratio,
            "relative_mae_difference": relative,
            "overall_mae": overall,
        }
        checks = {"mae_ratio": (ratio, "<=", policy.max_mae_ratio)}
    elif task == "multiclass-classification":
        diff = _spread([r["accuracy"] for r in kept.values()])
        diffs = {"accuracy_difference": diff}
        checks = {"accuracy_difference": (diff, "<=", policy.max_accuracy_difference)}
    else:
        diffs = parity_differences(kept)
        checks = {m: (diffs[m], "<=", lim) for m, lim in _binary_limits(policy).items()}
    details = {"groups": rates, "excluded_small_groups": small, **diffs}
    return details, {"kept": len(kept), "small": small}, checks


def bias_checks(
    frame: pd.DataFrame,
    y_true: Any,
    y_pred: Any,
    policy: BiasPolicy,
    task: str = "binary-classification",
) -> tuple[list[Check], dict[str, Any]]:
    """Per protected attribute: the task's per-group table and differences, each held to
    its limit (binary: demographic parity and equalized odds; multiclass: accuracy;
    regression: MAE relative to the overall MAE). With no protected column in the data the
    bias check is *not run*, never passed."""
    checks: list[Check] = []
    details: dict[str, Any] = {}
    required = policy.required
    present = [a for a in policy.protected if a in frame.columns]
    for attribute in policy.protected:
        if attribute not in frame.columns:
            details[attribute] = {"skipped": f"the data has no column {attribute!r}"}
    if not present:
        named = ", ".join(repr(a) for a in policy.protected) or "(none in the policy)"
        reason = (
            f"no protected column in the data (the policy names {named}); "
            "pass data with them or set the policy's protected attributes"
        )
        details["not_run"] = reason
        return [not_run("bias", "bias", reason, required=required)], details
    for attribute in policy.protected:
        if attribute not in present:  # the others ran: said, not blocking
            reason = f"the data has no column {attribute!r}"
            checks.append(not_run("bias", f"{attribute}: bias", reason, required=False))
    for attribute in present:
        labels = group_labels(frame[attribute], policy.bands_for(attribute))
        found, groups, limits = _attribute(task, y_true, y_pred, labels, policy)
        details[attribute] = found
        small = groups["small"]
        note = f" (groups under {policy.min_group_size} rows left out: {', '.join(small)})"
        enough = groups["kept"] > 1
        for metric, (value, op, limit) in limits.items():
            checks.append(
                Check(
                    "bias",
                    f"{attribute}: {metric.replace('_', ' ')}",
                    value,
                    limit,
                    op,
                    compare(value, op, limit) if enough else True,
                    (f"{groups['kept']} groups" if enough else "fewer than two groups")
                    + (note if small else ""),
                )
            )
    return checks, details
