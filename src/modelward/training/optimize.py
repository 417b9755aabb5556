"""``optimize``: convert a scikit-learn version to ONNX, check it still predicts the same
(agreement, the task's metrics' loss on validation data), measure per-row and batch latency
before and after, and register the ONNX model as a new version only when the loss is
within bounds. Every task converts, and pipelines with string categories too (one graph
input per column: :mod:`modelward.flavors.convert`)."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data import split_target
from modelward.data.io import read_source
from modelward.errors import CheckFailed, ConfigError, DataError
from modelward.evaluation.scoring import features_for, target_for
from modelward.flavors import OnnxFlavor
from modelward.flavors.convert import ConversionFailed, column_kinds, label_key, to_onnx_bytes

if TYPE_CHECKING:
    import pandas as pd

    from modelward.workspace import Workspace

__all__ = ["TARGETS", "convert_to_onnx", "latency_ms", "optimize_version", "task_metrics"]

TARGETS = ("latency",)


def convert_to_onnx(model: Any, sample: pd.DataFrame) -> bytes:
    """skl2onnx conversion with one graph input per column of ``sample`` (float, or string
    for text); raises :class:`~modelward.flavors.convert.ConversionFailed` naming the
    estimator skl2onnx has no converter for."""
    return to_onnx_bytes(model, column_kinds(sample))


def latency_ms(
    predict: Any, frame: pd.DataFrame, *, rows: int = 200, repeats: int = 5
) -> dict[str, float]:
    """Median per-row latency (one row at a time) and median whole-batch latency, in ms."""
    import numpy as np

    singles = []
    for i in range(min(rows, len(frame))):
        row = frame.iloc[i : i + 1]
        start = time.perf_counter()
        predict(row)
        singles.append((time.perf_counter() - start) * 1000)
    batches = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(frame)
        batches.append((time.perf_counter() - start) * 1000)
    return {
        "per_row_ms": float(np.median(singles)),
        "per_row_p95_ms": float(np.percentile(singles, 95)),
        "batch_ms": float(np.median(batches)),
        "batch_rows": int(len(frame)),
    }


def optimize_version(
    ws: Workspace,
    name: str,
    version: int | str,
    data: pd.DataFrame | Path | str,
    *,
    data_ref: str | None = None,
    target: str | None = None,
    goal: str = "latency",
    max_loss: float = 0.01,
) -> dict[str, Any]:
    """Convert to ONNX and register the result when the metric loss on labelled ``data`` (a
    DataFrame, or a file or dataset spec to read) is within ``max_loss``; stored as an
    ``optimization`` run. The metrics are the task's (:func:`task_metrics`). A model
    skl2onnx cannot convert is a check that ran and failed (:class:`CheckFailed`, naming
    the estimator), recorded as a failed run."""
    if goal not in TARGETS:
        raise ConfigError(
            f"--target {goal!r}: optimize supports {', '.join(TARGETS)}", field="target"
        )
    if not 0 <= max_loss <= 1:
        raise ConfigError(
            f"--max-loss {max_loss}: give a fraction between 0 and 1", field="max_loss"
        )
    frame, data_ref = read_source(data, data_ref)
    info = ws.registry.get_version(name, version)
    if info.flavor != "sklearn":
        raise ConfigError(
            f"{info.ref} is already {info.flavor}; optimize converts scikit-learn models"
        )
    task = ws.registry.get_model(name).task
    model = ws.load_model(name, info.version)
    column = target_for(ws, info, target)
    split_target(frame, column, source="the optimization data")
    labelled = frame[frame[column].notna()].reset_index(drop=True)
    if labelled.empty:
        raise DataError(f"the target column {column!r} has no labels; pass labelled data")
    features = features_for(model, info, labelled)
    inputs = {"data": data_ref, "target": goal, "max_loss": max_loss}
    try:
        blob = convert_to_onnx(model.model, features)  # type: ignore[attr-defined]
    except ConversionFailed as exc:
        failed = {
            "model": name,
            "version": info.version,
            "task": task,
            "data": data_ref,
            "passed": False,
            "unconvertible": exc.estimator,
            "error": exc.cause,
        }
        ws.registry.record(
            "optimization", failed, model=name, version=info.version, inputs=inputs,
            verdict="fail",
        )  # fmt: skip
        raise CheckFailed(
            f"{info.ref} cannot be converted to ONNX: skl2onnx has no conversion for its "
            f"{exc.estimator} ({exc.cause}); it stays in scikit-learn, nothing was registered",
            result=failed,
        ) from exc
    onnx_model = OnnxFlavor.load(blob)
    y_true = labelled[column].to_numpy()
    before = _predictions(model, features, task)
    after = _predictions(onnx_model, features, task)
    m_before = task_metrics(task, y_true, *before, classes=getattr(model, "classes", None))
    m_after = task_metrics(task, y_true, *after, classes=getattr(model, "classes", None))
    losses = {m: _loss(m, m_before[m], m_after[m]) for m in m_before if m in m_after}
    agreement, max_diff = _agreement(task, before, after)
    sk_latency = latency_ms(model.predict, features)
    onnx_latency = latency_ms(onnx_model.predict, features)
    worst = max(losses.values()) if losses else 0.0
    passed = worst <= max_loss
    results: dict[str, Any] = {
        "model": name,
        "version": info.version,
        "task": task,
        "data": data_ref,
        "rows": int(len(labelled)),
        "agreement": agreement,
        "max_probability_difference" if task != "regression" else "max_value_difference": (
            max_diff
        ),
        "metrics_before": m_before,
        "metrics_after": m_after,
        "metric_loss": losses,
        "max_loss": max_loss,
        "latency_before": sk_latency,
        "latency_after": onnx_latency,
        "speedup_per_row": sk_latency["per_row_ms"] / onnx_latency["per_row_ms"],
        "speedup_batch": sk_latency["batch_ms"] / onnx_latency["batch_ms"],
        "bytes_before": info.size,
        "bytes_after": len(blob),
        "passed": passed,
    }
    if passed:
        profile = ws.registry.reference_profile(name, info.version)
        new = ws.register(
            name,
            blob,
            data=features.assign(**{str(column): labelled[column].to_numpy()}),
            target=str(column),
            params={**info.params, "optimized_from": info.version, "optimization": goal},
            metrics={
                **info.metrics,
                "optimization": {
                    "agreement": agreement,
                    "metric_loss": losses,
                    "per_row_ms": onnx_latency["per_row_ms"],
                    "batch_ms": onnx_latency["batch_ms"],
                },
            },
            tags={**info.tags, "optimized_from": str(info.version), "flavor": "onnx"},
            description=f"ONNX conversion of {info.ref} for {goal}",
            source={**info.source, "optimized_from": info.ref},
            reference_profile=profile,
        )
        results["registered"] = new.version
    ws.registry.record(
        "optimization",
        results,
        model=name,
        version=info.version,
        inputs=inputs,
        verdict="pass" if passed else "fail",
    )
    return results


#: Metrics where lower is better: their loss is the relative increase.
LOWER_IS_BETTER = ("mae", "rmse")


def _loss(metric: str, before: float, after: float) -> float:
    """How much worse ``after`` is: a drop for scores, a relative rise for errors."""
    if metric in LOWER_IS_BETTER:
        return (after - before) / before if before else after - before
    return before - after


def _predictions(model: Any, features: pd.DataFrame, task: str) -> tuple[Any, Any]:
    """Labels (or values) and the probability matrix (None for a regressor)."""
    import numpy as np

    if hasattr(model, "predict_both"):
        labels, proba = model.predict_both(features)
    else:
        labels = model.predict(features)
        proba = None if task == "regression" else model.predict_proba(features)
    proba = None if proba is None or task == "regression" else np.asarray(proba, dtype=float)
    return np.asarray(labels).ravel(), proba


def task_metrics(
    task: str, y_true: Any, predicted: Any, proba: Any, *, classes: list[Any] | None
) -> dict[str, float]:
    """The metrics optimize compares, by task (scikit-learn's definitions):

    - binary: accuracy, F1 and ROC-AUC of the model's second class;
    - multiclass: accuracy, balanced accuracy, macro F1;
    - regression: R², MAE, RMSE.
    """
    import numpy as np
    from sklearn import metrics

    if task == "regression":
        y = np.asarray(y_true, dtype=float)
        values = np.asarray(predicted, dtype=float)
        return {
            "r2": float(metrics.r2_score(y, values)),
            "mae": float(metrics.mean_absolute_error(y, values)),
            "rmse": float(np.sqrt(metrics.mean_squared_error(y, values))),
        }
    truth = [label_key(v) for v in y_true]
    guess = [label_key(v) for v in predicted]
    out = {"accuracy": float(metrics.accuracy_score(truth, guess))}
    if task == "binary-classification" and classes is not None and len(classes) == 2:
        positive = label_key(classes[1])
        hit = np.array([t == positive for t in truth])
        out["f1"] = float(metrics.f1_score(hit, np.array([g == positive for g in guess])))
        if proba is not None and 0 < hit.sum() < len(hit):
            out["roc_auc"] = float(metrics.roc_auc_score(hit, proba[:, 1]))
    else:
        out["balanced_accuracy"] = float(metrics.balanced_accuracy_score(truth, guess))
        out["f1_macro"] = float(metrics.f1_score(truth, guess, average="macro"))
    return out


def _agreement(
    task: str, before: tuple[Any, Any], after: tuple[Any, Any]
) -> tuple[float, float | None]:
    """Share of rows with the same answer, and the largest probability (classifiers) or
    value (regressors) difference. A value counts as the same within 1e-4 of the largest."""
    import numpy as np

    if task == "regression":
        a, b = before[0].astype(float), after[0].astype(float)
        gap = np.abs(a - b)
        scale = max(1.0, float(np.abs(a).max(initial=0.0)))
        return float((gap <= 1e-4 * scale).mean()), float(gap.max(initial=0.0))
    same = [label_key(x) == label_key(y) for x, y in zip(before[0], after[0], strict=True)]
    diff = None
    if before[1] is not None and after[1] is not None:
        diff = float(np.abs(before[1] - after[1]).max(initial=0.0))
    return float(np.mean(same)), diff
