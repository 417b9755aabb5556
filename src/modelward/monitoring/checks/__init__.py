"""The monitoring checks, one module each, all with one interface (:class:`.base.Check`:
``run(context) -> CheckResult``) and a typed result.

``CHECKS`` names them: ``Monitor`` runs them, ``monitor history --check`` filters by
them, and a test holds every module of this package, the CLI and the docs to it. A new
check is one module here and one line below. A check's module is imported when it is
first asked for (``CHECKS[name]``, or a name below): a command runs one check, and the
others' imports were a twentieth of its time.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

from modelward.monitoring.checks.base import Check

if TYPE_CHECKING:
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

#: Each check's name, its module and its class, in the order commands list them.
_CHECKS = {
    "metrics": ("metrics", "Metrics"),
    "drift": ("drift", "Drift"),
    "predictions": ("predictions", "Predictions"),
    "quality": ("quality", "Quality"),
    "degradation": ("degradation", "Degradation"),
    "review": ("review", "Review"),
    "resources": ("resources", "Resources"),
}
#: Where the other names of ``__all__`` are defined.
_ELSEWHERE = {
    "ErrorDegradationResult": "modelward.monitoring.error_degradation",
    **{f"{cls}Result": f"{__name__}.{module}" for module, cls in _CHECKS.values()},
    **{cls: f"{__name__}.{module}" for module, cls in _CHECKS.values()},
}


class _Registry(Mapping[str, "type[Check[Any]]"]):
    """name -> check class, each module imported on first use."""

    def __getitem__(self, name: str) -> type[Check[Any]]:
        module, cls = _CHECKS[name]
        found: type[Check[Any]] = getattr(importlib.import_module(f"{__name__}.{module}"), cls)
        return found

    def __iter__(self) -> Iterator[str]:
        return iter(_CHECKS)

    def __len__(self) -> int:
        return len(_CHECKS)


CHECKS: Mapping[str, type[Check[Any]]] = _Registry()


def __getattr__(name: str) -> Any:
    if name in _ELSEWHERE:
        return getattr(importlib.import_module(_ELSEWHERE[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
