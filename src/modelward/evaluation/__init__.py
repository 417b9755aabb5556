"""Evaluation: metrics with bootstrap intervals, paired comparison, HTML reports."""

from modelward.evaluation.directions import higher_is_better
from modelward.evaluation.evaluate import evaluate_version
from modelward.evaluation.metrics import BinaryData, bootstrap_metrics, point_metrics
from modelward.evaluation.result import Evaluation

__all__ = [
    "BinaryData",
    "Evaluation",
    "bootstrap_metrics",
    "evaluate_version",
    "higher_is_better",
    "point_metrics",
]
