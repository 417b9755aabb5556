"""Multiclass metrics, every one for many bootstrap resamples at once.

scikit-learn's definitions: macro averages run over the classes present in the labels or
the predictions (a class with no true and no predicted row is left out, as
``precision_recall_fscore_support`` does without ``labels=``), weighted averages weigh each
class by its support, balanced accuracy is the mean recall over the classes present in the
labels, log-loss is the mean of ``-log p(true class)`` (clipped at machine epsilon) and
ROC-AUC is one-vs-rest, macro-averaged (undefined when a class has no row).

Metric names: accuracy, balanced_accuracy, f1, precision, recall with _macro / _weighted,
log_loss, roc_auc_ovr.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.evaluation.metrics import _div, _ranking, resample_weights
from modelward.evaluation.resampling import interval_metrics, point_of

if TYPE_CHECKING:
    import numpy as np

__all__ = [
    "ClassData",
    "class_metrics",
    "class_table",
    "confusion_matrix",
    "multiclass_summary",
]

AVERAGED = ("f1", "precision", "recall")


@dataclass(frozen=True)
class ClassData:
    """Labels and predictions as codes into ``classes``; probabilities per class or None."""

    classes: list[Any]
    y_true: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray | None

    @property
    def n(self) -> int:
        return int(len(self.y_true))

    @property
    def k(self) -> int:
        return len(self.classes)

    def correct(self) -> np.ndarray:
        return self.y_true == self.y_pred


def _per_class(data: ClassData, w: np.ndarray) -> dict[str, np.ndarray]:
    """Per resample and class: support, predicted, true positives (B, K)."""
    import numpy as np

    eye = np.eye(data.k)
    truth, said = eye[data.y_true], eye[data.y_pred]
    return {"support": w @ truth, "predicted": w @ said, "tp": w @ (truth * said)}


def _weighted(data: ClassData, w: np.ndarray) -> dict[str, np.ndarray]:
    import numpy as np

    c = _per_class(data, w)
    support, predicted, tp = c["support"], c["predicted"], c["tp"]
    total = w.sum(axis=1)
    per = {
        "precision": np.where(predicted > 0, _div(tp, predicted), 0.0),
        "recall": np.where(support > 0, _div(tp, support), 0.0),
        "f1": np.where(support + predicted > 0, _div(2 * tp, support + predicted), 0.0),
    }
    present = (support + predicted > 0).astype("float64")
    out: dict[str, np.ndarray] = {
        "accuracy": _div(tp.sum(axis=1), total),
        "balanced_accuracy": _div(
            (per["recall"] * (support > 0)).sum(axis=1), (support > 0).sum(axis=1)
        ),
    }
    for name in AVERAGED:
        out[f"{name}_macro"] = _div((per[name] * present).sum(axis=1), present.sum(axis=1))
        out[f"{name}_weighted"] = _div((per[name] * support).sum(axis=1), support.sum(axis=1))
    for i in range(data.k):
        for name in AVERAGED:
            out[f"class:{i}:{name}"] = per[name][:, i]
    if data.proba is not None:
        p = np.asarray(data.proba, dtype="float64")
        eps = np.finfo(p.dtype).eps
        chosen = np.clip(p[np.arange(data.n), data.y_true], eps, 1 - eps)
        out["log_loss"] = _div(w @ -np.log(chosen), total)
        aucs = []
        for i in range(data.k):
            auc, _ = _ranking((data.y_true == i).astype("float64"), p[:, i], w)
            aucs.append(np.where((support[:, i] > 0) & (support[:, i] < total), auc, np.nan))
        out["roc_auc_ovr"] = np.mean(np.vstack(aucs), axis=0)  # NaN if any class is absent
    return out


def class_metrics(data: ClassData) -> Any:
    """A :data:`~modelward.evaluation.resampling.MetricFn` over ``data``."""

    def fn(indices: np.ndarray) -> dict[str, np.ndarray]:
        return _weighted(data, resample_weights(indices, data.n))

    return fn


def confusion_matrix(data: ClassData) -> dict[str, Any]:
    """Rows: actual class; columns: predicted class (scikit-learn's layout)."""
    import numpy as np

    cells = np.bincount(data.y_true * data.k + data.y_pred, minlength=data.k * data.k)
    return {
        "labels": [str(c) for c in data.classes],
        "matrix": cells.reshape(data.k, data.k).astype(int).tolist(),
    }


def class_table(data: ClassData, metrics: dict[str, dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """Per class: support, and precision, recall, F1 each with its interval."""
    import numpy as np

    support = np.bincount(data.y_true, minlength=data.k)
    out: dict[str, dict[str, Any]] = {}
    for i, label in enumerate(data.classes):
        row: dict[str, Any] = {"support": int(support[i])}
        for name in AVERAGED:
            row[name] = metrics[f"class:{i}:{name}"]
        out[str(label)] = row
    return out


def multiclass_summary(data: ClassData, *, resamples: int, seed: int) -> dict[str, Any]:
    """Headline metrics with intervals, the per-class table and the confusion matrix."""
    every = interval_metrics(class_metrics(data), data.n, resamples=resamples, seed=seed)
    headline = {k: v for k, v in every.items() if not k.startswith("class:")}
    return {
        "rows": data.n,
        "classes": [str(c) for c in data.classes],
        "metrics": headline,
        "per_class": class_table(data, every),
        "confusion": confusion_matrix(data),
    }


def point_class_metrics(data: ClassData) -> dict[str, float | None]:
    values = point_of(class_metrics(data), data.n)
    return {k: v for k, v in values.items() if not k.startswith("class:")}
