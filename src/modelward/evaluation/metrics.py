"""Binary-classification metrics, with a vectorised bootstrap of all of them at once.

Every metric here is a weighted sum over rows, so one bootstrap resample is a vector of
row weights (how often each row was drawn). ``bootstrap_metrics`` turns the index matrix
of :mod:`modelward.stats.bootstrap` into a weight matrix and computes every metric for
every resample with a few matrix products: the same numbers as calling scikit-learn on
each resample (tests check that exactly), without the Python loop.

Metric names (directions in :mod:`modelward.evaluation.directions`): accuracy,
precision, recall, specificity, f1, roc_auc, average_precision, log_loss, brier_score,
calibration_error (expected calibration error over ``CALIBRATION_BINS`` equal-width bins).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.stats.bootstrap import _indices, _percentiles

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "CALIBRATION_BINS",
    "LABEL_METRICS",
    "METRICS",
    "SCORE_METRICS",
    "BinaryData",
    "bootstrap_metrics",
    "calibration_table",
    "confusion",
    "point_metrics",
    "resample_weights",
    "threshold_table",
]

LABEL_METRICS = ("accuracy", "precision", "recall", "specificity", "f1")
SCORE_METRICS = ("roc_auc", "average_precision", "log_loss", "brier_score", "calibration_error")
METRICS = LABEL_METRICS + SCORE_METRICS
CALIBRATION_BINS = 10
#: resamples x rows held in memory at once by the bootstrap
CHUNK_CELLS = 10_000_000


@dataclass(frozen=True)
class BinaryData:
    """Labels (0/1), predicted labels (0/1) and positive-class scores (or None)."""

    y_true: np.ndarray
    y_pred: np.ndarray
    y_score: np.ndarray | None

    @classmethod
    def of(cls, y_true: Any, y_pred: Any, y_score: Any = None) -> BinaryData:
        import numpy as np

        score = None if y_score is None else np.asarray(y_score, dtype="float64")
        return cls(
            np.asarray(y_true).astype("int64"),
            np.asarray(y_pred).astype("int64"),
            score,
        )

    @property
    def n(self) -> int:
        return int(len(self.y_true))


def resample_weights(indices: np.ndarray, n: int) -> np.ndarray:
    """(B, n) index matrix -> (B, n) counts: how often each row is in each resample."""
    import numpy as np

    b = indices.shape[0]
    offsets = (np.arange(b, dtype="int64") * n)[:, None]
    counts = np.bincount((indices + offsets).ravel(), minlength=b * n)
    return counts.reshape(b, n).astype("float64")


def _div(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    import numpy as np

    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1), np.nan)


def _weighted(data: BinaryData, w: np.ndarray) -> dict[str, np.ndarray]:
    """Every metric for each row of the weight matrix ``w`` (B, n)."""
    import numpy as np

    y = data.y_true.astype("float64")
    yhat = data.y_pred.astype("float64")
    total = w.sum(axis=1)
    tp = w @ (y * yhat)
    fp = w @ ((1 - y) * yhat)
    fn = w @ (y * (1 - yhat))
    tn = total - tp - fp - fn
    out: dict[str, np.ndarray] = {
        "accuracy": _div(tp + tn, total),
        # scikit-learn's zero_division default: 0.0 when nothing is predicted positive
        "precision": np.where(tp + fp > 0, _div(tp, tp + fp), 0.0),
        "recall": np.where(tp + fn > 0, _div(tp, tp + fn), 0.0),
        "specificity": np.where(tn + fp > 0, _div(tn, tn + fp), 0.0),
        "f1": np.where(2 * tp + fp + fn > 0, _div(2 * tp, 2 * tp + fp + fn), 0.0),
    }
    if data.y_score is None:
        return out
    p = data.y_score
    eps = np.finfo(p.dtype).eps
    clipped = np.clip(p, eps, 1 - eps)
    loss = -(y * np.log(clipped) + (1 - y) * np.log(1 - clipped))
    out["log_loss"] = _div(w @ loss, total)
    out["brier_score"] = _div(w @ ((p - y) ** 2), total)
    out["roc_auc"], out["average_precision"] = _ranking(y, p, w)
    out["calibration_error"] = _ece(y, p, w, total)
    # Metrics that need both classes are undefined on a one-class resample.
    positives = w @ y
    one_class = (positives == 0) | (positives == total)
    for name in ("roc_auc", "log_loss"):
        out[name] = np.where(one_class, np.nan, out[name])
    out["average_precision"] = np.where(positives == 0, np.nan, out["average_precision"])
    return out


def _ranking(y: np.ndarray, p: np.ndarray, w: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Weighted ROC-AUC (ties count half) and average precision, per weight row."""
    import numpy as np

    order = np.argsort(p, kind="mergesort")  # ascending scores
    sorted_p = p[order]
    starts = np.flatnonzero(np.r_[True, sorted_p[1:] != sorted_p[:-1]])
    ws = w[:, order]
    ys = y[order]
    # per resample and distinct score: weight of positives and of negatives at that score
    pos = np.add.reduceat(ws * ys, starts, axis=1)
    neg = np.add.reduceat(ws, starts, axis=1) - pos
    below = np.cumsum(neg, axis=1) - neg
    n_pos = pos.sum(axis=1)
    n_neg = neg.sum(axis=1)
    auc = _div((pos * (below + 0.5 * neg)).sum(axis=1), n_pos * n_neg)
    # average precision: thresholds from the highest score down (scikit-learn's definition)
    tps = np.cumsum(pos[:, ::-1], axis=1)
    fps = np.cumsum(neg[:, ::-1], axis=1)
    precision = _div(tps, tps + fps)
    precision = np.nan_to_num(precision, nan=0.0)
    recall = _div(tps, n_pos[:, None])
    recall = np.nan_to_num(recall, nan=0.0)
    step = np.diff(np.concatenate([np.zeros((len(w), 1)), recall], axis=1), axis=1)
    ap = (step * precision).sum(axis=1)
    return auc, ap


def _bins(p: np.ndarray) -> np.ndarray:
    import numpy as np

    # scikit-learn's calibration_curve bins: equal width, closed on the right
    edges = np.linspace(0.0, 1.0, CALIBRATION_BINS + 1)
    return np.searchsorted(edges[1:-1], p)


def _ece(y: np.ndarray, p: np.ndarray, w: np.ndarray, total: np.ndarray) -> np.ndarray:
    import numpy as np

    rows = np.zeros((len(y), CALIBRATION_BINS))
    rows[np.arange(len(y)), _bins(p)] = 1.0
    gap = w @ (rows * (y - p)[:, None])  # per bin: sum of (label - score)
    return _div(np.abs(gap).sum(axis=1), total)


def point_metrics(data: BinaryData) -> dict[str, float]:
    """Every metric on the data as given."""
    import numpy as np

    values = _weighted(data, np.ones((1, data.n)))
    return {name: float(v[0]) for name, v in values.items()}


def bootstrap_metrics(
    data: BinaryData,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
    chunk: int | None = None,
) -> dict[str, dict[str, Any]]:
    """Every metric with a percentile bootstrap interval, all from the same resamples.

    The resamples are exactly those of :func:`modelward.stats.bootstrap_ci` with the same
    seed, so each interval equals what ``bootstrap_ci`` gives for that metric alone.
    """
    import numpy as np

    point = point_metrics(data)
    out: dict[str, dict[str, Any]] = {}
    if data.n < 2:
        return {
            k: {"value": v, "low": None, "high": None, "confidence": confidence}
            for k, v in point.items()
        }
    indices = _indices(data.n, resamples, seed)
    if chunk is None:  # about 80 MB of weights per chunk, whatever the row count
        chunk = max(1, min(250, CHUNK_CELLS // data.n))
    draws: dict[str, list[np.ndarray]] = {name: [] for name in point}
    for start in range(0, resamples, chunk):  # bounded memory on large data
        w = resample_weights(indices[start : start + chunk], data.n)
        for name, values in _weighted(data, w).items():
            draws[name].append(values)
    for name, value in point.items():
        low, high = _percentiles(np.concatenate(draws[name]), confidence)
        out[name] = {
            "value": None if np.isnan(value) else value,
            "low": low,
            "high": high,
            "confidence": confidence,
            "resamples": resamples,
        }
    return out


def confusion(data: BinaryData) -> dict[str, int]:
    y, yhat = data.y_true, data.y_pred
    return {
        "tn": int(((y == 0) & (yhat == 0)).sum()),
        "fp": int(((y == 0) & (yhat == 1)).sum()),
        "fn": int(((y == 1) & (yhat == 0)).sum()),
        "tp": int(((y == 1) & (yhat == 1)).sum()),
    }


def calibration_table(y_true: Any, y_score: Any) -> list[dict[str, Any]]:
    """Per equal-width bin: rows, mean predicted probability, observed positive rate."""
    import numpy as np

    y = np.asarray(y_true, dtype="float64")
    p = np.asarray(y_score, dtype="float64")
    bins = _bins(p)
    rows = []
    for b in range(CALIBRATION_BINS):
        mask = bins == b
        if not mask.any():
            continue
        rows.append(
            {
                "bin": f"{b / CALIBRATION_BINS:.1f}-{(b + 1) / CALIBRATION_BINS:.1f}",
                "rows": int(mask.sum()),
                "mean_predicted": float(p[mask].mean()),
                "observed_rate": float(y[mask].mean()),
            }
        )
    return rows


def threshold_table(
    y_true: Any, y_score: Any, thresholds: Any = None, *, resamples: int = 1000, seed: int = 0
) -> list[dict[str, Any]]:
    """Precision, recall, specificity, F1, accuracy (each with a 95 % bootstrap interval)
    and the positive rate at each decision threshold."""
    import numpy as np

    y = np.asarray(y_true).astype("int64")
    p = np.asarray(y_score, dtype="float64")
    if thresholds is None:
        thresholds = np.round(np.arange(0.1, 0.91, 0.1), 2)
    rows = []
    for t in thresholds:
        labels = BinaryData.of(y, (p >= t).astype("int64"))  # label metrics only: fast
        ci = bootstrap_metrics(labels, resamples=resamples, seed=seed)
        row: dict[str, Any] = {"threshold": float(t)}
        for name in ("precision", "recall", "specificity", "f1", "accuracy"):
            row[name] = ci[name]["value"]
            row[f"{name}_ci"] = [ci[name]["low"], ci[name]["high"]]
        row["positive_rate"] = float((p >= t).mean())
        rows.append(row)
    return rows
