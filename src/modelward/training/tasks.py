"""What ``train`` does by task: the task itself (declared or inferred), the cross-validation
split and scorers, and a scorer that fails with one line naming the metric.

The metric names are the evaluation's (``f1_macro``, ``mae`` …); each maps to the
scikit-learn scorer that computes it (losses negated by scikit-learn, so higher is better
for every scorer and Optuna always maximises).
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any, Protocol

from modelward.errors import ConfigError, DataError, described

if TYPE_CHECKING:
    import pandas as pd


__all__ = [
    "CV_SCORERS",
    "DEFAULT_METRIC",
    "PROBA_METRICS",
    "TASK_NAMES",
    "cv_splitter",
    "metric_scorer",
    "resolve_task",
    "scorer_name",
    "scorers",
    "task_metrics",
]

BINARY = "binary-classification"
MULTICLASS = "multiclass-classification"
REGRESSION = "regression"
#: ``task:`` in a config: the short name or the registry's name
TASK_NAMES = {
    "binary": BINARY,
    "multiclass": MULTICLASS,
    "regression": REGRESSION,
    BINARY: BINARY,
    MULTICLASS: MULTICLASS,
    REGRESSION: REGRESSION,
}

#: per task: the metric name we store -> scikit-learn's scorer name
CV_SCORERS: dict[str, dict[str, str]] = {
    BINARY: {
        "accuracy": "accuracy",
        "roc_auc": "roc_auc",
        "f1": "f1",
        "precision": "precision",
        "recall": "recall",
        "log_loss": "neg_log_loss",
        "brier_score": "neg_brier_score",
    },
    MULTICLASS: {
        "accuracy": "accuracy",
        "balanced_accuracy": "balanced_accuracy",
        "f1_macro": "f1_macro",
        "precision_macro": "precision_macro",
        "recall_macro": "recall_macro",
        "log_loss": "neg_log_loss",
        "roc_auc_ovr": "roc_auc_ovr",
    },
    REGRESSION: {
        "r2": "r2",
        "mae": "neg_mean_absolute_error",
        "rmse": "neg_root_mean_squared_error",
        "median_absolute_error": "neg_median_absolute_error",
    },
}
#: metrics that need predicted probabilities (left out for an estimator without them)
PROBA_METRICS = frozenset({"log_loss", "brier_score", "roc_auc_ovr"})
DEFAULT_METRIC = {BINARY: "roc_auc", MULTICLASS: "f1_macro", REGRESSION: "r2"}
#: binary scorers that need the positive class spelled out for string labels
_POSITIVE_SCORERS = {"f1": "f1_score", "precision": "precision_score", "recall": "recall_score"}


class Declared(Protocol):
    """What a training config declares about its task (``TrainingConfig`` is one)."""

    @property
    def task(self) -> str | None: ...
    @property
    def target(self) -> str: ...
    @property
    def estimator(self) -> Any: ...


class ScoringFailed(Exception):
    """A scorer raised; the message names the metric."""


def resolve_task(config: Declared, estimator: Any, y: pd.Series) -> str:
    """``task:`` from the config, else the estimator's kind and the label count; a declared
    task the estimator cannot do is a config error."""
    from sklearn.base import is_classifier, is_regressor

    declared = TASK_NAMES[config.task] if config.task else None
    classes = int(y.nunique())
    if is_regressor(estimator):
        kind = REGRESSION
    elif is_classifier(estimator):
        kind = BINARY if classes == 2 else MULTICLASS
    else:
        kind = declared or (BINARY if classes == 2 else MULTICLASS)
    if declared is None:
        return kind
    if (declared == REGRESSION) != (kind == REGRESSION):
        what = "a regressor" if kind == REGRESSION else "a classifier"
        raise ConfigError(
            f"task: {config.task} but estimator.class {config.estimator.class_} is {what}; "
            "pick an estimator for the task or change task:",
            field="task",
        )
    if declared == BINARY and classes != 2:
        raise DataError(
            f"task: {config.task} but the target {config.target!r} has {classes} classes; "
            "use task: multiclass",
            field="task",
        )
    if declared == MULTICLASS and classes < 3:
        raise DataError(
            f"task: {config.task} but the target {config.target!r} has {classes} classes; "
            "use task: binary",
            field="task",
        )
    return declared


def scorer_name(task: str, metric: str | None, where: str) -> tuple[str, str]:
    """``(our name, scikit-learn scorer)`` for a configured metric (either spelling)."""
    table = CV_SCORERS[task]
    metric = metric or DEFAULT_METRIC[task]
    if metric in table:
        return metric, table[metric]
    for ours, theirs in table.items():
        if metric == theirs:
            return ours, theirs
    raise ConfigError(
        f"{where}: {metric!r} is not a {task} metric; use one of {', '.join(table)}",
        field=where,
    )


def metric_scorer(task: str, metric: str, positive: Any = None) -> Any:
    """A scorer for ``metric`` that raises :class:`ScoringFailed` naming it on failure."""
    from sklearn import metrics

    name = CV_SCORERS[task][metric]
    if task == BINARY and metric in _POSITIVE_SCORERS and positive is not None:
        scorer = metrics.make_scorer(
            getattr(metrics, _POSITIVE_SCORERS[metric]), pos_label=positive, zero_division=0
        )
    elif task == BINARY and metric == "brier_score" and positive is not None:
        scorer = metrics.make_scorer(
            metrics.brier_score_loss,
            response_method="predict_proba",
            greater_is_better=False,
            pos_label=positive,
        )
    else:
        scorer = metrics.get_scorer(name)

    def score(estimator: Any, x: Any, y: Any) -> float:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                return float(scorer(estimator, x, y))
        except Exception as exc:  # noqa: BLE001 - any scorer failure becomes one line
            raise ScoringFailed(
                f"the cross-validation metric {metric} ({name}) failed: {described(exc)}"
            ) from exc

    return score


def task_metrics(task: str, estimator: Any) -> list[str]:
    """The task's CV metrics this estimator can be scored on."""
    proba = hasattr(estimator, "predict_proba")
    return [m for m in CV_SCORERS[task] if proba or m not in PROBA_METRICS]


def scorers(task: str, estimator: Any, positive: Any = None) -> dict[str, Any]:
    return {m: metric_scorer(task, m, positive) for m in task_metrics(task, estimator)}


def cv_splitter(task: str, folds: int, seed: int) -> Any:
    """Stratified folds for a classifier, plain shuffled folds for a regressor."""
    from sklearn.model_selection import KFold, StratifiedKFold

    if task == REGRESSION:
        return KFold(folds, shuffle=True, random_state=seed)
    return StratifiedKFold(folds, shuffle=True, random_state=seed)
