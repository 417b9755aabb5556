"""Model metrics over a window of labelled predictions, per version, with label coverage
and bootstrap confidence intervals.

Metric names and directions (every one here is higher-is-better except the regression
errors): binary ``accuracy, roc_auc, f1, precision, recall``; multiclass ``accuracy,
f1_macro, precision_macro, recall_macro``; regression ``mae, rmse`` (lower is better)
and ``r2``. Intervals are percentile bootstraps (:func:`modelward.stats.bootstrap_ci`);
above :data:`CI_ROWS` labelled rows a binary classifier's values and intervals come from
the engine's counts over every labelled row (:mod:`.confusion`), other tasks bootstrap a
``CI_ROWS``-row subset narrowed by ``sqrt(CI_ROWS / n)``. Above :data:`SAMPLE_ROWS`
predictions the window itself is a consistent hash sample of its requests (see
``docs/monitor.md``, "Large windows").
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from functools import partial
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.stats.order import score_groups, sort_order

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

__all__ = [
    "ALIASES",
    "AUC_ROUND_ROWS",
    "CI_ROWS",
    "CI_SAMPLE",
    "SAMPLE_ROWS",
    "LOWER_IS_BETTER",
    "NO_SCORES",
    "ONE_CLASS",
    "METRICS_BY_TASK",
    "auc_from_counts",
    "compute_metrics",
    "confusion_ratios",
    "positive_label",
    "rank_auc",
    "resolve_metrics",
    "trapezoid_auc",
    "unknown",
]

CI_ROWS = 5000
#: Why a metric of scores has no value.
NO_SCORES, ONE_CLASS = "no scores logged", "one class only"
#: Above this many predictions in a window, metrics use a consistent hash sample of about
#: this many requests (both sides of the feedback join; ``predlog.engine.Scan.rate``):
#: the standard error of a rate is then at most 0.0011, and the reported interval is that
#: of the sample, so it covers the whole window's value.
SAMPLE_ROWS = 200_000
#: Labels of every version a window's hash sample must hold, else every request is read
#: (and the rows a multiclass or regression series bootstraps per period).
CI_SAMPLE = 2000
ALIASES = {"auc": "roc_auc", "roc-auc": "roc_auc", "acc": "accuracy"}
METRICS_BY_TASK = {
    "binary-classification": ("accuracy", "roc_auc", "f1", "precision", "recall"),
    "multiclass-classification": ("accuracy", "f1_macro", "precision_macro", "recall_macro"),
    "regression": ("mae", "rmse", "r2"),
}
LOWER_IS_BETTER = frozenset({"mae", "rmse"})


def resolve_metrics(task: str, names: list[str] | None) -> list[str]:
    known = METRICS_BY_TASK.get(task)
    if known is None:
        raise ConfigError(
            f"monitoring metrics are not defined for {task} models; use `modelward monitor "
            "predictions` for their traffic, cost and response times"
        )
    if not names:
        return list(known)
    out = []
    for raw in names:
        name = ALIASES.get(raw.strip().lower(), raw.strip().lower())
        if name not in known:
            raise ConfigError(
                f"unknown metric {raw!r} for a {task} model; choose from {', '.join(known)}",
                field="metrics",
            )
        out.append(name)
    return out


def _sort_key(label: str) -> tuple[int, float, str]:
    try:
        return (0, float(label), label)
    except ValueError:
        return (1, 0.0, label)


def positive_label(labels: list[str]) -> str:
    """scikit-learn's convention: the last of the sorted classes is the positive one."""
    return sorted(set(labels), key=_sort_key)[-1]


def _functions(task: str, positive: str | None) -> dict[str, tuple[Callable[..., float], str]]:
    """name -> (function of (y_true, column), which column: pred | score)."""
    if task == "binary-classification" and positive is not None:
        return {
            name: (
                partial(_binary_metric, name, positive),
                "score" if name == "roc_auc" else "pred",
            )
            for name in METRICS_BY_TASK[task]
        }
    return _sklearn_functions(task, positive)


def _binary_metric(name: str, positive: str, truth: Any, column: Any) -> float:
    """A binary metric's value exactly as scikit-learn computes it, without importing it
    (most of a small check's time): accuracy, precision, recall and F1 are the same ratios
    of the same counts (:func:`_binary_value`), ROC-AUC the same trapezoids
    (:func:`trapezoid_auc`). Inputs scikit-learn refuses or warns about (more than two
    labels, two without the positive class; ROC-AUC over one class or infinite scores)
    still go to it, so they fail or answer as before."""
    import numpy as np

    if name == "roc_auc":
        hit = np.asarray(truth == positive, dtype=bool)
        score = np.asarray(column, dtype="float64")
        if hit.all() or not hit.any() or not np.isfinite(score).all():
            return _sklearn_functions("binary-classification", positive)[name][0](truth, column)
        return trapezoid_auc(hit, score)
    if name != "accuracy":
        labels = {*np.asarray(truth).tolist(), *np.asarray(column).tolist()}  # np.unique sorts
        if len(labels) > 2 or (len(labels) == 2 and positive not in labels):
            return _sklearn_functions("binary-classification", positive)[name][0](truth, column)
    return _binary_value(name, truth, column, positive)


def trapezoid_auc(positive: Any, score: Any) -> float:
    """ROC-AUC as scikit-learn's ``roc_auc_score`` computes it, to the last bit: the
    trapezoids under the ROC curve's corners (one point per distinct score, collinear
    points dropped, (0, 0) prepended), rates as counts over the totals. ``positive`` is
    a boolean array with both values, ``score`` finite."""
    import numpy as np

    order = np.argsort(score, kind="mergesort")[::-1]
    ordered = score[order]
    ends = np.r_[np.flatnonzero(np.diff(ordered)), len(ordered) - 1]  # last row per score
    tps = np.cumsum(positive[order].astype("float64"))[ends]
    fps = 1 + ends.astype("float64") - tps
    if len(fps) > 2:
        corners = np.r_[True, np.logical_or(np.diff(fps, 2), np.diff(tps, 2)), True]
        tps, fps = tps[corners], fps[corners]
    tpr = np.r_[0.0, tps] / tps[-1]
    fpr = np.r_[0.0, fps] / fps[-1]
    return float(np.sum(np.diff(fpr) * (tpr[1:] + tpr[:-1]) / 2.0))


def _sklearn_functions(
    task: str, positive: str | None
) -> dict[str, tuple[Callable[..., float], str]]:
    import numpy as np
    from sklearn import metrics as m

    if task == "regression":
        return {
            "mae": (m.mean_absolute_error, "pred"),
            "rmse": (lambda t, p: float(np.sqrt(m.mean_squared_error(t, p))), "pred"),
            "r2": (m.r2_score, "pred"),
        }
    if task == "multiclass-classification":
        return {
            "accuracy": (m.accuracy_score, "pred"),
            "f1_macro": (lambda t, p: m.f1_score(t, p, average="macro", zero_division=0), "pred"),
            "precision_macro": (
                lambda t, p: m.precision_score(t, p, average="macro", zero_division=0),
                "pred",
            ),
            "recall_macro": (
                lambda t, p: m.recall_score(t, p, average="macro", zero_division=0),
                "pred",
            ),
        }

    def binary(fn: Callable[..., float]) -> Callable[..., float]:
        return lambda t, p: fn(t, p, pos_label=positive, zero_division=0)

    return {
        "accuracy": (m.accuracy_score, "pred"),
        "roc_auc": (lambda t, s: m.roc_auc_score(t == positive, s), "score"),
        "f1": (binary(m.f1_score), "pred"),
        "precision": (binary(m.precision_score), "pred"),
        "recall": (binary(m.recall_score), "pred"),
    }


def compute_metrics(
    frame: pd.DataFrame | pa.Table,
    task: str,
    names: list[str],
    *,
    positive: str | None = None,
    resamples: int = 1000,
    seed: int = 0,
    interval_rows: int = CI_ROWS,
) -> dict[str, dict[str, Any]]:
    """``name -> {value, low, high}`` over the labelled rows of ``frame`` (a DataFrame or an
    Arrow table with columns ``label``, ``prediction``, ``score``). Above ``interval_rows``
    rows, the interval is the bootstrap of a uniform subset of that many, narrowed by
    ``sqrt(interval_rows / n)``."""
    import numpy as np

    y_true, y_pred, score = _labelled(frame, task)
    functions = _functions(task, positive)
    n = len(y_true)
    rng = np.random.default_rng(seed)
    sub = rng.choice(n, size=interval_rows, replace=False) if n > interval_rows else None
    shrink = math.sqrt(interval_rows / n) if sub is not None else 1.0
    out: dict[str, dict[str, Any]] = {}
    drawn: dict[str, Any] = {}  # what this call's metrics share: confusion draws, intervals
    for name in names:
        fn, which = functions[name]
        column: Any = y_pred if which == "pred" else score
        missing = _missing(which, column, y_true)
        if missing is not None:
            out[name] = missing
            continue
        value = float(fn(y_true, column))
        t, c = (y_true, column) if sub is None else (y_true[sub], column[sub])
        if task == "binary-classification":
            mid = value if sub is None else _binary_value(name, t, c, positive)
            low, high = _binary_bootstrap(name, t == positive, c, positive, resamples, seed, drawn)
        else:
            found = _task_intervals(task, t, c, resamples, seed, drawn)[name]
            mid, low, high = found["value"], found["low"], found["high"]
        if low is not None and high is not None:
            low = value - (mid - low) * shrink
            high = value + (high - mid) * shrink
        out[name] = {"value": _num(value), "low": _num(low), "high": _num(high)}
    return out


#: The columns :func:`compute_metrics` reads.
_COLUMNS = ("label", "prediction", "score")


def _labelled(frame: pd.DataFrame | pa.Table, task: str) -> tuple[Any, Any, Any]:
    """The label, prediction and score arrays (score None when not logged) of the rows of
    ``frame`` (pandas, or the log's Arrow table) with both a label and a prediction. A
    classifier's Arrow table of strings is read as is: pandas (a third of a small check's
    start) is imported only for other tables, which go through it as before."""
    import pyarrow as pa

    if isinstance(frame, pa.Table) and _strings(frame, task):
        import numpy as np

        from modelward.predlog.reader import arrays

        columns = arrays(frame.select([c for c in _COLUMNS if c in frame.column_names]))
        # the labelled rows, filtered in NumPy (pyarrow.compute is a tenth of a small check)
        missing = np.array(None)  # a 0-d object array: compared element by element
        both = ~np.equal(columns["label"], missing) & ~np.equal(columns["prediction"], missing)
        score = columns.get("score")
        return columns["label"][both], columns["prediction"][both], (
            None if score is None else score[both])  # fmt: skip
    if isinstance(frame, pa.Table):
        from modelward.predlog.reader import frame as as_pandas

        frame = as_pandas(frame)
    labelled = frame[frame["label"].notna() & frame["prediction"].notna()]
    y_true: Any
    y_pred: Any
    if task == "regression":
        y_true = labelled["label"].astype("float64").to_numpy()
        y_pred = labelled["prediction"].astype("float64").to_numpy()
    else:
        y_true = labelled["label"].astype(str).to_numpy()
        y_pred = labelled["prediction"].astype(str).to_numpy()
    score = labelled["score"].astype("float64").to_numpy() if "score" in labelled else None
    return y_true, y_pred, score


def _strings(table: pa.Table, task: str) -> bool:
    """Whether ``table`` is a classifier's labels and predictions as strings (and scores
    as floats, when logged): the shapes :func:`_labelled` reads without pandas."""
    if task == "regression":
        return False
    types = {field.name: str(field.type) for field in table.schema}
    text = ("string", "large_string")
    return (
        types["label"] in text
        and types["prediction"] in text
        and types.get("score", "double") in ("float", "double")
    )


def unknown(note: str | None = None) -> dict[str, Any]:
    """The entry of a metric without a value (``note``: why, when it says more than an
    empty window)."""
    return {"value": None, "low": None, "high": None, **({"note": note} if note else {})}


def _missing(which: str, column: Any, truth: Any) -> dict[str, Any] | None:
    """The entry of a metric that cannot be computed (no scores, one class, no rows), or
    None."""
    import numpy as np

    if column is None or (which == "score" and np.isnan(column).any()):
        return unknown(NO_SCORES)
    if which == "score" and len(set(truth)) < 2:
        return unknown(ONE_CLASS)
    if len(truth) == 0:
        return unknown()
    return None


#: Above this many labelled rows ROC-AUC groups scores to 6 decimals (ties share a rank):
#: exact to ~1e-6, and a sort of a million groups instead of ten million rows.
AUC_ROUND_ROWS = 1_000_000


def rank_auc(score: Any, positive: Any) -> float | None:
    """ROC-AUC as the Mann-Whitney rank sum of the positives (average ranks for ties),
    from one argsort of the scores (NumPy's is faster than a window over DuckDB groups,
    and than ``np.unique``'s inverse)."""
    import numpy as np

    score = np.asarray(score, dtype="float64")
    positive = np.asarray(positive, dtype=bool)
    if not len(score):
        return None
    return auc_from_counts(*score_groups(score, positive))


def auc_from_counts(scores: Any, positives: Any, totals: Any) -> float | None:
    """ROC-AUC from the rows and the positives at each distinct score (what an engine's
    grouped counts give): the Mann-Whitney rank sum of the positives, each group's rows
    sharing the average of their ranks."""
    import numpy as np

    order = sort_order(np.asarray(scores, dtype="float64"))  # distinct scores: no ties
    hits = np.asarray(positives, dtype=np.int64)[order]
    count = np.asarray(totals, dtype=np.int64)[order]
    p_count = float(hits.sum())
    n_count = float(count.sum()) - p_count
    if not p_count or not n_count:
        return None
    starts = np.cumsum(count) - count  # rows below each group
    rank_sum = float((hits * (starts + (count + 1) / 2.0)).sum())
    return (rank_sum - p_count * (p_count + 1) / 2) / (p_count * n_count)


@functools.lru_cache(maxsize=1)
def _resample_indices(n: int, resamples: int, seed: int) -> Any:
    """:func:`modelward.stats.bootstrap._indices`, kept for the next call with the same
    count: a report's series draws the same indices for each of its periods. Read-only."""
    from modelward.stats.bootstrap import _indices

    idx = _indices(n, resamples, seed)
    idx.flags.writeable = False
    return idx


def _binary_value(name: str, truth: Any, column: Any, positive: str | None) -> float:
    """The binary metric on the interval's sample, as scikit-learn computes it (the same
    confusion-count ratios; ROC-AUC by ranks, equal to its trapezoids to ~1e-16) without
    its input checks, which cost more than the arithmetic on 2 000 rows. It only centres
    the bootstrap interval on the exact value."""
    import numpy as np

    if name == "accuracy":
        return float(np.mean(truth == column))
    hit = truth == positive
    if name == "roc_auc":
        auc = rank_auc(np.asarray(column, dtype="float64"), hit)
        return float("nan") if auc is None else auc
    said = np.asarray(column) == positive
    tp = int((hit & said).sum())
    fp = int((~hit & said).sum())
    fn = int((hit & ~said).sum())
    if name == "precision":
        return tp / (tp + fp) if tp + fp else 0.0
    if name == "recall":
        return tp / (tp + fn) if tp + fn else 0.0
    return 2 * tp / (2 * tp + fp + fn) if 2 * tp + fp + fn else 0.0  # f1


def _binary_bootstrap(
    name: str,
    truth: Any,
    column: Any,
    positive: str | None,
    resamples: int,
    seed: int,
    drawn: dict[str, Any],
) -> tuple[float | None, float | None]:
    """The same percentile bootstrap as :func:`modelward.stats.bootstrap_ci` (same
    resampling of row indices), vectorized over resamples for the binary metrics; the
    confusion counts of each resample are drawn once into ``drawn`` for all four that
    use them."""
    import numpy as np

    from modelward.stats.bootstrap import _percentiles

    n = len(truth)
    truth = np.asarray(truth, dtype=bool)
    if n < 2:
        return None, None
    idx = _resample_indices(n, resamples, seed)  # the same draws for every metric
    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "roc_auc":
            draws = _auc_draws(truth, np.asarray(column, dtype="float64"), idx)
        else:
            if "confusion" not in drawn:
                t = truth[idx]
                p = (np.asarray(column) == positive)[idx]
                drawn["confusion"] = (
                    (t & p).sum(axis=1),
                    (~t & p).sum(axis=1),
                    (t & ~p).sum(axis=1),
                    (t == p).mean(axis=1),
                )
            draws = confusion_ratios(name, *drawn["confusion"])
    draws = np.where(np.isfinite(draws), draws, np.nan)
    low, high = _percentiles(draws, 0.95)
    return low, high


def confusion_ratios(name: str, tp: Any, fp: Any, fn: Any, correct: Any) -> Any:
    """Accuracy (``correct``, the share right), precision, recall or F1 from confusion
    counts, arrays of them (one per resample) or single counts; 0.0 where undefined, as
    scikit-learn's ``zero_division=0``."""
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        if name == "accuracy":
            return correct
        if name == "precision":
            return np.where(tp + fp > 0, tp / (tp + fp), 0.0)
        if name == "recall":
            return np.where(tp + fn > 0, tp / (tp + fn), 0.0)
        return np.where(2 * tp + fp + fn > 0, 2 * tp / (2 * tp + fp + fn), 0.0)  # f1


def _task_intervals(
    task: str, truth: Any, column: Any, resamples: int, seed: int, drawn: dict[str, Any]
) -> dict[str, dict[str, Any]]:
    """A multiclass or regression model's metrics with their intervals, all from one pass
    over the resamples: the evaluation's own metric functions (every resample at once,
    the same resamples as :func:`modelward.stats.bootstrap_ci`), not a scikit-learn call
    per resample and metric (3 ms each: a multiclass check took 6-12 s)."""
    from modelward.evaluation.resampling import interval_metrics

    if "intervals" not in drawn:
        drawn["intervals"] = interval_metrics(
            _metric_fn(task, truth, column), len(truth), resamples=resamples, seed=seed
        )
    found: dict[str, dict[str, Any]] = drawn["intervals"]
    return found


def _metric_fn(task: str, truth: Any, column: Any) -> Any:
    import numpy as np

    if task == "regression":
        from modelward.evaluation.regression import RegressionData, regression_metrics

        return regression_metrics(RegressionData.of(truth, column))
    from modelward.evaluation.multiclass import ClassData, class_metrics

    n = len(truth)
    classes, codes = np.unique(
        np.concatenate([np.asarray(truth), np.asarray(column)]), return_inverse=True
    )
    return class_metrics(ClassData(list(classes), codes[:n], codes[n:], None))


def _auc_draws(truth: Any, score: Any, idx: Any) -> Any:
    """ROC-AUC of every resample (rows ``idx``) without sorting each one: a resample is
    the original rows with multiplicities, so the Mann-Whitney count runs over the rows'
    distinct scores once, weighted by how often each resample drew them (ties, which
    resampling makes common, count one half). Resamples go in blocks of about
    :data:`_AUC_BLOCK` cells, so the working arrays stay small and are reused (one
    400 x 4 000 block costs more in fresh pages than in arithmetic)."""
    import numpy as np

    resamples, n = idx.shape
    values, group = np.unique(score, return_inverse=True)
    width = len(values) * 2
    # column 2g counts negatives with the g-th smallest score, 2g+1 positives
    cell_of_row = group * 2 + np.asarray(truth, dtype=np.int64)
    step = max(1, _AUC_BLOCK // width)
    out = np.empty(resamples, dtype="float64")
    for start in range(0, resamples, step):
        block = idx[start : start + step]
        rows = len(block)
        cells = cell_of_row[block]
        cells += (np.arange(rows, dtype=np.int64) * width)[:, None]
        weights = np.bincount(cells.ravel(), minlength=rows * width).reshape(rows, width)
        neg, pos = weights[:, 0::2], weights[:, 1::2]
        # twice the Mann-Whitney count: sum of pos * (2 * negatives below + negatives tied)
        twice = np.cumsum(neg, axis=1)
        twice -= neg
        twice *= 2
        twice += neg
        twice *= pos
        out[start : start + rows] = twice.sum(axis=1) / (
            2.0 * pos.sum(axis=1) * neg.sum(axis=1)
        )  # integers until here: exact
    return out


#: Cells (resamples x 2 x distinct scores) per block of :func:`_auc_draws`.
_AUC_BLOCK = 131_072


def _num(value: float | None) -> float | None:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return None
    return float(value)
