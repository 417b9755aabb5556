"""The monitoring entry point: ``Monitor(workspace)`` resolves a check's context, runs it,
stores its result with ``record_run`` (kind ``monitor-<check>``) and fires or resolves
its alert through the workspace's alerting. The checks themselves are
:mod:`modelward.monitoring.checks`.

Every check of a model takes a window (``last="24h"``, optional ``until``) and an
environment, and returns its typed :class:`~modelward.monitoring.result.CheckResult`;
the CLI prints it and exits 1 when it failed.
"""

from __future__ import annotations

from datetime import datetime
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from modelward.errors import ConfigError
from modelward.monitoring.checks import CHECKS, Check
from modelward.monitoring.context import Context
from modelward.monitoring.result import AlertRef, CheckResult
from modelward.predlog.files import relisted
from modelward.predlog.reader import LogReader

if TYPE_CHECKING:
    from modelward.alerting import Alerts
    from modelward.monitoring.checks import (
        DegradationResult,
        DriftResult,
        ErrorDegradationResult,
        MetricsResult,
        PredictionsResult,
        QualityResult,
        ResourcesResult,
        ReviewResult,
    )
    from modelward.registry.records import ModelInfo, RunInfo
    from modelward.workspace import Workspace

__all__ = ["CHECKS", "RUN_PREFIX", "STORED", "Monitor"]

RUN_PREFIX = "monitor-"
#: What history holds: a ``monitor-<check>`` run per check, the reports
#: (``monitor-report``) and the runbooks' own runs.
STORED = (*CHECKS, "report", "runbook")
R = TypeVar("R", bound=CheckResult)
#: The options every check of a model takes (the rest are the check's own).
_COMMON = ("last", "until", "environment", "record")


class Monitor:
    #: What starts the kind of a stored check's run (``monitor-drift``).
    RUN_PREFIX = RUN_PREFIX

    def __init__(
        self,
        workspace: Workspace,
        *,
        alert: bool = True,
        engine: str | None = None,
        spark_master: str | None = None,
    ) -> None:
        """``engine`` (``duckdb`` or ``spark``) and ``spark_master``: what reads the log,
        unless the policy's ``monitoring.engine`` and ``monitoring.spark_master`` say."""
        self.ws = workspace
        self.alert = alert
        self.engine = engine
        self.spark_master = spark_master

    @cached_property
    def log(self) -> LogReader:
        from modelward.predlog.engines import engine

        policy = self.ws.policy.monitoring
        name = self.engine or ("spark" if self.spark_master else policy.engine)
        master = self.spark_master or (policy.spark_master if name == "spark" else None)
        chosen = engine(name, spark_master=master)
        return LogReader(self.ws.logs_url, wal=self.ws.layout.wal, engine=chosen)

    def use_engine(self, engine: str | None, spark_master: str | None = None) -> None:
        """Read the log with ``engine`` from now on (None: the policy's)."""
        if "log" in self.__dict__:
            self.__dict__.pop("log").close()
        self.engine, self.spark_master = engine, spark_master

    @property
    def alerts(self) -> Alerts:
        return self.ws.alerting.alerts

    # -- running a check -----------------------------------------------------------------

    def run(
        self,
        check: Check[R],
        name: str | None = None,
        *,
        last: str | None = None,
        until: str | datetime | None = None,
        environment: str | None = "production",
        record: bool = True,
        alert: bool | None = None,
    ) -> R:
        """Resolve the context, run ``check``, record its result and alert. A log file
        that a compaction replaced between the listing and the read makes the check run
        again (:func:`~modelward.predlog.files.relisted`): the new listing names the
        compacted file, which holds the same rows (checks only read until their result is
        recorded)."""
        result = relisted(lambda: check.run(self.context(check, name, last, until, environment)))
        return self.finish(result, record=record, alert=self.alert if alert is None else alert)

    def context(
        self,
        check: Check[Any],
        name: str | None,
        last: str | None,
        until: str | datetime | None,
        environment: str | None,
    ) -> Context:
        """What ``check`` runs on: the model (it must have predictions in the log), the
        window ``last`` (default: the check's) ending at ``until``, the environment."""
        model = self.model(name) if name is not None else None
        asked = last or check.last
        window = check.window(asked, until) if asked is not None else None
        return Context(self.ws, self.log, model, window, environment, last=asked)

    def model(self, name: str) -> ModelInfo:
        """A registered model that has predictions in the log (else a one-line error)."""
        self.log.warm()  # the check reads the log next: connect while the registry answers
        info = self.ws.catalog.get_model(name)  # NotFound names the known models
        self.log.require(name)
        return info

    def finish(self, result: R, *, record: bool = True, alert: bool = True) -> R:
        """Store the check and fire (or resolve) its alert."""
        if record:
            run = self.ws.catalog.record_run(
                RUN_PREFIX + result.check,
                model=result.model,
                version=result.version,
                inputs=result.inputs,
                results={
                    **result.results,
                    "breaches": result.breaches,
                    "warnings": result.warnings,
                },
                verdict=result.verdict,
            )
            result.run_id = run.id
        if alert:
            errors = self._alert(result)
            result.warnings.extend(f"alert sink: {e}" for e in errors)
        return result

    def _alert(self, result: CheckResult) -> list[str]:
        """Fire an alert for a failed check; resolve the check's open alerts when it passed
        (of its environment only; a check of every environment resolves them all)."""
        environment = result.inputs.get("environment")
        if result.failed:
            alert, errors = self.alerts.fire(
                model=result.model, check=result.check, level=result.level,
                message=result.summary(), keys=result.keys or [result.verdict],
                details={"run_id": result.run_id, "breaches": result.breaches},
                environment=environment,
            )  # fmt: skip
            result.alert = AlertRef(alert.id, alert.sent, alert.count)
            return errors
        if result.verdict == "pass":
            return self.alerts.resolve_check(result.model, result.check, environment)[1]
        return []

    def _check(self, kind: type[Check[R]], name: str | None, options: dict[str, Any]) -> R:
        common = {key: options.pop(key) for key in _COMMON if key in options}
        return self.run(kind(**options), name, **common)

    def logged_models(self) -> list[str]:
        """The registered models that have predictions in the log."""
        logged = set(self.log.models())
        return [m.name for m in self.ws.catalog.list_models() if m.name in logged]

    def history(
        self, name: str | None = None, *, check: str | None = None, limit: int | None = 50
    ) -> list[RunInfo]:
        """Stored checks, reports and runbooks (of ``check`` only), newest first."""
        if check is not None and check not in STORED:
            raise ConfigError(
                f"--check {check!r} is not a stored check; use one of {', '.join(STORED)}",
                field="check",
            )
        wanted = [check] if check is not None else STORED
        kinds = [kind if kind == "runbook" else RUN_PREFIX + kind for kind in wanted]
        return self.ws.catalog.list_runs(model=name, kinds=kinds, limit=limit)

    # -- the checks ----------------------------------------------------------------------

    def metrics(self, name: str, **options: Any) -> MetricsResult:
        """Metrics per version with label coverage and CIs (:class:`.checks.Metrics`)."""
        from modelward.monitoring.checks.metrics import Metrics

        return self._check(Metrics, name, options)

    def drift(self, name: str, **options: Any) -> DriftResult:
        """Per-feature drift (:class:`.checks.Drift`)."""
        from modelward.monitoring.checks.drift import Drift

        return self._check(Drift, name, options)

    def predictions(self, name: str, **options: Any) -> PredictionsResult:
        """Prediction volume, errors, latency and distribution drift
        (:class:`.checks.Predictions`)."""
        from modelward.monitoring.checks.predictions import Predictions

        return self._check(Predictions, name, options)

    def quality(self, name: str, **options: Any) -> QualityResult:
        """Missing values, ranges, zeros, categories, types, schema and volume
        (:class:`.checks.Quality`)."""
        from modelward.monitoring.checks.quality import Quality

        return self._check(Quality, name, options)

    def degradation(self, name: str, **options: Any) -> DegradationResult | ErrorDegradationResult:
        """When a metric dropped, which slices lost most, which drifted features go with it
        (:class:`.checks.Degradation`)."""
        from modelward.monitoring.checks.degradation import Degradation

        return self._check(Degradation, name, options)

    def review(self, name: str, **options: Any) -> ReviewResult:
        """Misclassified and low-confidence predictions (:class:`.checks.Review`)."""
        from modelward.monitoring.checks.review import Review

        return self._check(Review, name, options)

    def resources(self, **options: Any) -> ResourcesResult:
        """CPU, memory, disk, GPU and the server's /metrics (:class:`.checks.Resources`)."""
        from modelward.monitoring.checks.resources import Resources

        return self._check(Resources, None, options)
