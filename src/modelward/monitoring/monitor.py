"""The monitoring entry point: ``Monitor(workspace)`` runs each check, stores it with
``record_run`` (kind ``monitor-<check>``) and turns failures into alerts.

Every check takes a window (``last="24h"``, optional ``until``) and returns a
:class:`~modelward.monitoring.result.CheckResult`; the CLI prints it and exits 1 when
it failed.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from functools import cached_property
from typing import TYPE_CHECKING, Any, TypeVar

from modelward.errors import ConfigError
from modelward.monitoring.result import CheckResult, verdict_of
from modelward.monitoring.window import Window, window_for

if TYPE_CHECKING:
    import pandas as pd

    from modelward.alerting import Alerts
    from modelward.monitoring.logs import PredictionLog
    from modelward.registry.records import ModelInfo
    from modelward.workspace import Workspace

__all__ = ["Monitor"]

RUN_PREFIX = "monitor-"
#: The checks stored in history (``monitor-<check>`` runs) and the runbook's own run.
CHECKS = (
    "metrics",
    "drift",
    "predictions",
    "quality",
    "degradation",
    "review",
    "resources",
    "runbook",
)
Check = TypeVar("Check", bound=Callable[..., Any])


def rereads(check: Check) -> Check:
    """Run ``check`` once more when a log file it listed was replaced by a compaction
    before DuckDB opened it (:class:`~modelward.monitoring.logs.LogChanged`): the new
    listing names the compacted file, which holds the same rows. Checks only read until
    they record their result, so running one again is safe."""

    @functools.wraps(check)
    def run(*args: Any, **kwargs: Any) -> Any:
        from modelward.monitoring.logs import LogChanged

        try:
            return check(*args, **kwargs)
        except LogChanged:
            return check(*args, **kwargs)

    return run  # type: ignore[return-value]


class Monitor:
    def __init__(self, workspace: Workspace, *, alert: bool = True) -> None:
        self.ws = workspace
        self.alert = alert

    # -- parts ----------------------------------------------------------------------------

    @cached_property
    def log(self) -> PredictionLog:
        from modelward.monitoring.logs import PredictionLog

        return PredictionLog(self.ws.logs_url)

    @property
    def alerts(self) -> Alerts:
        return self.ws.alerting.alerts

    def _model(self, name: str) -> ModelInfo:
        self.log.warm()  # the check reads the log next: connect while the registry answers
        info = self.ws.registry.get_model(name)  # NotFound names the known models
        self.log.require(name)
        return info

    def finish(self, result: CheckResult, *, record: bool = True) -> CheckResult:
        """Store the check and fire (or resolve) its alert."""
        if record:
            run = self.ws.registry.record_run(
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
        if self.alert:
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
            result.results["alert"] = {"id": alert.id, "sent": alert.sent, "count": alert.count}
            return errors
        if result.verdict == "pass":
            return self.alerts.resolve_check(result.model, result.check, environment)[1]
        return []

    # -- metrics --------------------------------------------------------------------------

    @rereads
    def metrics(
        self,
        name: str,
        *,
        last: str = "24h",
        until: str | None = None,
        environment: str | None = "production",
        metrics: list[str] | None = None,
        thresholds: list[float] | None = None,
        record: bool = True,
    ) -> CheckResult:
        """Metrics on the labelled predictions of the window, per version (with label
        coverage and CIs) against thresholds (default: ``policy.thresholds``)."""
        from modelward.monitoring.metrics import SAMPLE_ROWS, resolve_metrics

        model = self._model(name)
        window = window_for(last, until=until)
        names = resolve_metrics(model.task, metrics)
        limits = self._thresholds(names, thresholds)
        rate = self.log.hash_rate(name, window, SAMPLE_ROWS, environment=environment)
        con = self.log.snapshot(
            name,
            window,
            ["request_hash", "ts", "version", "status", "prediction", "score"],
            environment=environment,
            rate=rate,
        )
        if con is not None and rate < 1.0:
            from modelward.monitoring.metrics import CI_SAMPLE

            sampled = con.sql(
                "SELECT min(k) FROM (SELECT count(label) AS k FROM w WHERE status = 'ok' "
                "GROUP BY version)"
            ).fetchall()[0][0]
            if sampled is not None and sampled < CI_SAMPLE:
                # sparse labels (or a version with little traffic): the sample would hold
                # too few of them, so join every request instead
                con.close()
                rate = 1.0
                con = self.log.snapshot(
                    name,
                    window,
                    ["request_hash", "ts", "version", "status", "prediction", "score"],
                    environment=environment,
                )
        try:
            return self._metrics(con, name, model, window, environment, names, limits, record, rate)
        finally:
            if con is not None:
                con.close()

    def _metrics(
        self,
        con: Any,
        name: str,
        model: ModelInfo,
        window: Window,
        environment: str | None,
        names: list[str],
        limits: dict[str, float],
        record: bool,
        rate: float = 1.0,
    ) -> CheckResult:
        from modelward.monitoring.metrics import (
            CI_ROWS,
            CI_SAMPLE,
            LOWER_IS_BETTER,
            compute_metrics,
            sql_binary_metrics,
        )

        policy = self.ws.policy.thresholds
        counts = []
        if con is not None:
            counts = con.sql(
                "SELECT version, count(*), count(label) FROM w WHERE status = 'ok' GROUP BY 1"
            ).fetchall()
        positive = (
            self._positive(name, [int(r[0]) for r in counts])
            if model.task == "binary-classification"
            else None
        )
        per_version: dict[str, Any] = {}
        breaches: list[str] = []
        keys: list[str] = []
        insufficient = False
        critical = False
        if not counts:
            insufficient = True
        totals: dict[int, int] = {}
        if rate < 1.0:
            # the window is a hash sample of requests: count every prediction, scale labels
            totals = self.served_per_version(name, window, environment)
        for version, sampled_total, sampled in sorted(counts):
            total = totals.get(int(version), sampled_total)
            labelled = sampled if rate >= 1.0 else round(sampled / rate)
            coverage = labelled / total if total else 0.0
            entry: dict[str, Any] = {
                "predictions": int(total),
                "labelled": int(labelled),
                "label_coverage": coverage,
                "status": "pass",
            }
            if rate < 1.0:
                entry["sample"] = {"rate": rate, "labelled": int(sampled)}
            tag = f"v{int(version)}"
            if labelled < policy.min_labels:
                entry["status"] = "insufficient"
                entry["reason"] = (
                    f"{tag}: too few labels to judge: {labelled} labelled of {total} "
                    f"predictions (coverage {coverage:.1%}), need {policy.min_labels}"
                )
                insufficient = True
                per_version[tag] = entry
                continue
            selected = (
                "SELECT request_hash, ts, version, prediction, score, label FROM w "
                f"WHERE status = 'ok' AND label IS NOT NULL AND version = {int(version)}"
            )
            # rows in time order (ties by request): the bootstrap's draws must not depend on
            # the order a parallel scan returns them in
            if positive is not None and sampled > CI_ROWS:
                exact = sql_binary_metrics(con, version=int(version), positive=positive)
                size = min(CI_ROWS, CI_SAMPLE)
                # the interval's rows: the labelled requests with the smallest hashes, a
                # uniform sample that is the same on every run (a reservoir depends on the
                # order rows arrive in)
                sample = con.sql(
                    f"SELECT * FROM ({selected} ORDER BY request_hash LIMIT {size}) "
                    "ORDER BY ts, request_hash"
                ).df()
                values = compute_metrics(
                    sample,
                    model.task,
                    names,
                    positive=positive,
                    exact=exact,
                    population=int(sampled),
                )
            else:
                rows = con.sql(f"{selected} ORDER BY ts, request_hash").df()
                values = compute_metrics(rows, model.task, names, positive=positive)
            entry["metrics"] = values
            for metric, limit in limits.items():
                found = values[metric]
                value = found["value"]
                if value is None:
                    continue
                lower = metric in LOWER_IS_BETTER
                judged = value
                if policy.use_lower_ci and found["low"] is not None and not lower:
                    judged = found["low"]
                if policy.use_lower_ci and found["high"] is not None and lower:
                    judged = found["high"]
                bad = judged > limit if lower else judged < limit
                found["status"] = "fail" if bad else "pass"
                if bad:
                    entry["status"] = "fail"
                    sign = ">" if lower else "<"
                    ci = ""
                    if found["low"] is not None:
                        ci = f" [95% CI {found['low']:.3f}, {found['high']:.3f}]"
                    breaches.append(
                        f"{tag} {metric} {value:.3f}{ci} {sign} {limit:.2f} (n={labelled} labelled)"
                    )
                    keys.append(f"{tag}:{metric}")
                    whole = found["high"] if not lower else found["low"]
                    if whole is not None and (whole < limit if not lower else whole > limit):
                        critical = True  # the whole interval is on the wrong side
            per_version[tag] = entry
        reasons = [e["reason"] for e in per_version.values() if "reason" in e]
        if not counts:
            reasons.append(f"no predictions in {window.label()}")
        result = CheckResult(
            check="metrics",
            model=name,
            verdict=verdict_of(breaches, insufficient),
            inputs={
                "window": window.to_dict(),
                "environment": environment,
                "metrics": names,
                "thresholds": limits,
                "min_labels": policy.min_labels,
                "use_lower_ci": policy.use_lower_ci,
            },
            results={"versions": per_version, "positive_label": positive, "insufficient": reasons},
            breaches=breaches + ([] if breaches else reasons),
            keys=keys or (["insufficient"] if insufficient else []),
            level="critical" if critical else "warning",
        )
        return self.finish(result, record=record)

    # -- drift ----------------------------------------------------------------------------

    @rereads
    def drift(self, name: str, **options: Any) -> CheckResult:
        """Per-feature drift; see :func:`modelward.monitoring.driftcheck.feature_drift`."""
        from modelward.monitoring.driftcheck import feature_drift

        return feature_drift(self, name, **options)

    @rereads
    def predictions(self, name: str, **options: Any) -> CheckResult:
        """Prediction volume, errors, latency and distribution drift."""
        from modelward.monitoring.driftcheck import prediction_drift

        return prediction_drift(self, name, **options)

    @rereads
    def quality(self, name: str, **options: Any) -> CheckResult:
        """Missing values, ranges, zeros, categories, types, schema and volume."""
        from modelward.monitoring.quality import quality_check

        return quality_check(self, name, **options)

    @rereads
    def degradation(self, name: str, **options: Any) -> CheckResult:
        """When a metric dropped, which slices lost most, which drifted features go with it."""
        from modelward.monitoring.degradation import degradation_check

        return degradation_check(self, name, **options)

    @rereads
    def review(self, name: str, **options: Any) -> CheckResult:
        """Misclassified and low-confidence predictions, their inputs and shared patterns."""
        from modelward.monitoring.review import review_check

        return review_check(self, name, **options)

    def resources(self, **options: Any) -> CheckResult:
        """CPU, memory, disk, GPU and the server's /metrics figures."""
        from modelward.monitoring.resources import resources_check

        return resources_check(self, **options)

    def report(self, name: str, **options: Any) -> dict[str, Any]:
        """The report content (metrics over time, drift, quality, degradation, alerts)."""
        from modelward.monitoring.report import build_report

        return build_report(self, name, **options)

    def runbook(self, schedule: str, name: str, **options: Any) -> dict[str, Any]:
        """Run the daily, weekly or monthly checklist and write its report."""
        from modelward.monitoring.runbook import run_runbook

        return run_runbook(self, schedule, name, **options)

    def _thresholds(self, names: list[str], given: list[float] | None) -> dict[str, float]:
        if given:
            if len(given) != len(names):
                raise ConfigError(
                    f"--thresholds has {len(given)} value(s) for {len(names)} metric(s) "
                    f"({', '.join(names)}); give one threshold per metric, in the same order",
                    field="thresholds",
                )
            from modelward.monitoring.metrics import LOWER_IS_BETTER

            for metric, value in zip(names, given, strict=True):
                value = float(value)
                # rates and AUC live in 0..1 (r2 up to 1); errors are >= 0
                top = math.inf if metric in LOWER_IS_BETTER else 1.0
                bottom = -math.inf if metric == "r2" else 0.0
                if not (math.isfinite(value) and bottom <= value <= top):
                    span = "a number >= 0" if top == math.inf else f"a number up to {top:g}"
                    if bottom == 0.0 and top == 1.0:
                        span = "a number from 0 to 1"
                    raise ConfigError(
                        f"--thresholds {value:g} for {metric} is not {span}; e.g. "
                        "--metrics accuracy,auc --thresholds 0.80,0.85",
                        field="thresholds",
                    )
            return dict(zip(names, (float(v) for v in given), strict=True))
        defaults = self.ws.policy.thresholds.as_dict()
        return {n: defaults[n] for n in names if n in defaults}

    def served_per_version(
        self, name: str, window: Window, environment: str | None
    ) -> dict[int, int]:
        """version -> predictions served (status ok) in the window, from the whole log."""
        census = self.log.census(name, window, environment=environment)
        return {
            v: n for (v, status), n in sorted(census.items()) if status == "ok" and v is not None
        }

    def _ok_rows(
        self,
        name: str,
        window: Window,
        environment: str | None,
        columns: list[str],
        **options: Any,
    ) -> pd.DataFrame:
        frame = self.log.frame(
            name, window, columns=[*columns, "status"], environment=environment, **options
        )
        return frame[frame["status"] == "ok"].reset_index(drop=True)

    def _positive(self, name: str, versions: Any) -> str | None:
        """The positive class: from the training labels, else from what was predicted."""
        from modelward.monitoring.metrics import positive_label

        if hasattr(versions, "columns"):  # a frame with a version column
            frame = versions
            versions = frame["version"].dropna().unique().tolist() if not frame.empty else []
        ref = int(max(versions)) if len(versions) else "latest"
        profile = self.ws.registry.reference_profile(name, ref) or {}
        labels = list(profile.get("target_counts", {}))
        return positive_label(labels) if labels else None
