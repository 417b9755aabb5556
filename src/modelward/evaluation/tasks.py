"""The tabular tasks evaluation covers (``ModelInfo.task``) and the metrics shown per task.

Light on purpose: the CLI reads it without the numeric stack."""

from __future__ import annotations

__all__ = ["BINARY", "GROUP_METRICS", "MULTICLASS", "REGRESSION", "TABULAR_TASKS"]

BINARY = "binary-classification"
MULTICLASS = "multiclass-classification"
REGRESSION = "regression"
TABULAR_TASKS = (BINARY, MULTICLASS, REGRESSION)

#: The metrics shown per group (and in short tables), by task.
GROUP_METRICS = {
    BINARY: ("accuracy", "roc_auc", "f1", "precision", "recall"),
    MULTICLASS: ("accuracy", "balanced_accuracy", "f1_macro", "log_loss"),
    REGRESSION: ("mae", "rmse", "r2", "median_absolute_error"),
}
