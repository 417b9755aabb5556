"""The direction of every metric, in one place: ranking and thresholds depend on it.

scikit-learn's naming: ``*_score`` and plain names (``accuracy``) are higher-is-better;
``*_loss``, ``*_error``, latency and cost are lower-is-better.
"""

from __future__ import annotations

__all__ = ["HIGHER_IS_BETTER", "LOWER_IS_BETTER", "higher_is_better"]

HIGHER_IS_BETTER = frozenset(
    {
        "accuracy",
        "roc_auc",
        "f1",
        "precision",
        "recall",
        "specificity",
        "average_precision",
        "balanced_accuracy",
        "agreement",
        "roc_auc_ovr",
        "f1_macro",
        "precision_macro",
        "recall_macro",
        "f1_weighted",
        "precision_weighted",
        "recall_weighted",
        "r2",
    }
)
LOWER_IS_BETTER = frozenset(
    {
        "log_loss",
        "brier_score",
        "calibration_error",
        "latency_ms",
        "cost",
        "error_rate",
        "flip_rate",
        "accuracy_drop",
        "demographic_parity_difference",
        "equalized_odds_difference",
        "missing_rate",
        "metric_loss",
        "mae",
        "rmse",
        "mape",
        "median_absolute_error",
        "mae_increase",
        "moved_share",
    }
)


def higher_is_better(metric: str) -> bool:
    """True for metrics where a larger value is better (unknown names: by suffix)."""
    base = metric.rsplit(".", 1)[-1]
    if base in HIGHER_IS_BETTER:
        return True
    if base in LOWER_IS_BETTER:
        return False
    return not base.endswith(("_loss", "_error", "_ms", "_rate", "_difference"))
