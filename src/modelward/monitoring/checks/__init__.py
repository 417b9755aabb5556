"""The monitoring checks, one module each, all with one interface (:class:`.base.Check`:
``run(context) -> CheckResult``) and a typed result.

``CHECKS`` names them: ``Monitor`` runs them, ``monitor history --check`` filters by
them, and a test holds every module of this package, the CLI and the docs to it. A new
check is one module here and one line below.
"""

from modelward.monitoring.checks.base import Check
from modelward.monitoring.checks.degradation import Degradation, DegradationResult
from modelward.monitoring.checks.drift import Drift, DriftResult
from modelward.monitoring.checks.metrics import Metrics, MetricsResult
from modelward.monitoring.checks.predictions import Predictions, PredictionsResult
from modelward.monitoring.checks.quality import Quality, QualityResult
from modelward.monitoring.checks.resources import Resources, ResourcesResult
from modelward.monitoring.checks.review import Review, ReviewResult
from modelward.monitoring.error_degradation import ErrorDegradationResult

__all__ = [
    "CHECKS",
    "Check",
    "Degradation",
    "DegradationResult",
    "ErrorDegradationResult",
    "Drift",
    "DriftResult",
    "Metrics",
    "MetricsResult",
    "Predictions",
    "PredictionsResult",
    "Quality",
    "QualityResult",
    "Resources",
    "ResourcesResult",
    "Review",
    "ReviewResult",
]

CHECKS: dict[str, type[Check]] = {
    check.name: check
    for check in (Metrics, Drift, Predictions, Quality, Degradation, Review, Resources)
}
