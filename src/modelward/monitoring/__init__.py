"""Production monitoring: metrics over windows, drift, data quality, degradation, review,
resources, alerts, reports and the daily/weekly/monthly runbook.

Reads the prediction log and feedback in place with DuckDB (:mod:`.logs`); every check is
stored with ``record_run`` (kind ``monitor-<check>``); a failed check fires an alert and a
passing one resolves it (:mod:`modelward.alerting`, with its sinks). Drift methods are a
family in :mod:`.drift`.
Heavy libraries are imported inside the functions that use them.
"""

from modelward.monitoring.monitor import Monitor
from modelward.monitoring.result import CheckResult
from modelward.monitoring.window import Baseline, Window, parse_baseline, window_for

__all__ = ["Baseline", "CheckResult", "Monitor", "Window", "parse_baseline", "window_for"]
