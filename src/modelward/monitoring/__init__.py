"""Production monitoring: metrics over windows, drift, data quality, degradation, review,
resources, alerts, reports and the daily/weekly/monthly runbook.

The checks are plug-ins (:mod:`.checks`, one module each, ``run(context) ->
CheckResult`` with a typed result); :class:`Monitor` resolves their context, runs them,
stores each with ``record_run`` (kind ``monitor-<check>``) and fires or resolves its alert
(:mod:`modelward.alerting`). They read the prediction log through
:class:`modelward.predlog.LogReader`. Drift methods are a family in :mod:`.drift`.
Heavy libraries are imported inside the functions that use them.
"""

from modelward.monitoring.checks import CHECKS, Check
from modelward.monitoring.context import Context
from modelward.monitoring.monitor import Monitor
from modelward.monitoring.result import CheckResult
from modelward.monitoring.window import Baseline, Window, parse_baseline, window_for

__all__ = [
    "CHECKS",
    "Baseline",
    "Check",
    "CheckResult",
    "Context",
    "Monitor",
    "Window",
    "parse_baseline",
    "window_for",
]
