"""``validate``: performance, bias, robustness and security checks against the policy, by
the model's task, stored as a ``validation`` run (the staging gate reads the latest one).

The verdict is ``fail`` when a check ran and failed, ``incomplete`` when a required check
could not run (bias without a protected column), else ``pass``."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data.io import read_source
from modelward.errors import ConfigError
from modelward.evaluation.metrics import bootstrap_metrics
from modelward.evaluation.multiclass import multiclass_summary
from modelward.evaluation.regression import regression_summary
from modelward.evaluation.scoring import Scored, score_version
from modelward.evaluation.tasks import MULTICLASS, REGRESSION, TABULAR_TASKS
from modelward.progress import NO_PROGRESS, Progress
from modelward.reports.document import check_report_path, write_html
from modelward.validation.bias import bias_checks
from modelward.validation.checks import Check, compare
from modelward.validation.report import check_rows, short, validation_document
from modelward.validation.robustness import robustness_checks
from modelward.validation.security import security_checks

if TYPE_CHECKING:
    import pandas as pd

    from modelward.policy.model import ThresholdsPolicy
    from modelward.workspace import Workspace

__all__ = ["ALL_CHECKS", "ValidationReport", "validate_version"]

ALL_CHECKS = ("performance", "bias", "robustness", "security")


@dataclass
class ValidationReport:
    checks: list[Check]
    results: dict[str, Any]
    verdict: str
    run_id: int | None = None

    @property
    def failed(self) -> list[Check]:
        """Checks that ran and failed."""
        return [c for c in self.checks if c.ran and not c.passed]

    @property
    def not_run(self) -> list[Check]:
        """Checks that could not run (a required one keeps the verdict from ``pass``)."""
        return [c for c in self.checks if not c.ran]

    def rows(self) -> list[tuple[Any, ...]]:
        """One row per check: group, name, value, threshold, result, detail."""
        return check_rows(self.results)

    def failures(self) -> str:
        """The failed checks in one line: ``name = value (needs op threshold)``, …"""
        return "; ".join(
            f"{c.name} = {short(c.value)} (needs {c.op} {short(c.threshold)})" for c in self.failed
        )


def task_thresholds(thresholds: ThresholdsPolicy, task: str) -> list[tuple[str, str, float]]:
    """``(metric, op, limit)`` the task's performance is held to: the policy's
    ``thresholds`` (binary), ``thresholds.multiclass`` or ``thresholds.regression``."""
    return [(limit.metric, limit.op, limit.value) for limit in thresholds.limits(task)]


def _metrics(scored: Scored, seed: int) -> dict[str, dict[str, Any]]:
    if scored.task == REGRESSION:
        return regression_summary(scored.data, resamples=1000, seed=seed)["metrics"]
    if scored.task == MULTICLASS:
        return multiclass_summary(scored.data, resamples=1000, seed=seed)["metrics"]
    return bootstrap_metrics(scored.data, seed=seed)


def performance_checks(
    scored: Scored, thresholds: Any, *, lower_ci: bool, seed: int = 0
) -> tuple[list[Check], dict[str, Any]]:
    """The task's metrics against the policy's thresholds: the point estimate, or with
    ``lower_ci`` the pessimistic end of the 95 % interval (the low end of a higher-is-better
    metric, the high end of an error)."""
    metrics = _metrics(scored, seed)
    n = scored.data.n
    checks = []
    if n < thresholds.min_labels:
        checks.append(
            Check(
                "performance",
                "labelled rows",
                n,
                thresholds.min_labels,
                ">=",
                False,
                "too few labelled rows to judge performance",
            )
        )
    for name, op, limit in task_thresholds(thresholds, scored.task):
        m = metrics.get(name)
        if m is None or m["value"] is None:
            why = "the model gives no probabilities" if m is None else "undefined on this data"
            checks.append(Check("performance", name, None, limit, op, False, why))
            continue
        end = "low" if op == ">=" else "high"
        value = m[end] if lower_ci else m["value"]
        shown = (
            f"95 % {'lower' if end == 'low' else 'upper'} bound" if lower_ci else "point estimate"
        )
        ci = f"[{m['low']:.3f}, {m['high']:.3f}]" if m["low"] is not None else "(no interval)"
        checks.append(
            Check(
                "performance",
                name,
                value,
                limit,
                op,
                compare(value, op, limit),
                f"{shown}; value {m['value']:.3f}, 95 % CI {ci}",
            )
        )
    return checks, {"metrics": metrics, "rows": n, "lower_ci": lower_ci, "task": scored.task}


def validate_version(
    ws: Workspace,
    name: str,
    version: int | str,
    data: pd.DataFrame | Path | str,
    *,
    data_ref: str | None = None,
    target: str | None = None,
    positive_class: str | None = None,
    checks: tuple[str, ...] | None = None,
    lower_ci: bool | None = None,
    report: Path | str | None = None,
    progress: Progress = NO_PROGRESS,
    record: bool = True,
) -> ValidationReport:
    """Run ``checks`` (all of :data:`ALL_CHECKS` by default) on labelled ``data`` (a
    DataFrame, or a file or dataset spec to read) and (by default) store a ``validation``
    run; ``report`` also writes the HTML report there (checked before any work)."""
    if report is not None:
        check_report_path(report)
    checks = tuple(checks) if checks else ALL_CHECKS
    unknown = [c for c in checks if c not in ALL_CHECKS]
    if unknown:
        raise ConfigError(
            f"unknown check {unknown[0]!r}; choose among {', '.join(ALL_CHECKS)}",
            field="checks",
        )
    frame, data_ref = read_source(data, data_ref)
    policy = ws.policy_for(name)
    info = ws.registry.get_version(name, version)
    found: list[Check] = []
    details: dict[str, Any] = {}
    use_lower = policy.thresholds.use_lower_ci if lower_ci is None else lower_ci
    rows = 0
    task = ws.registry.get_model(name).task
    with progress.task("validation checks", total=len(checks)) as advance:
        if "security" in checks:  # first: a tampered artifact is not loaded at all
            part, details["security"] = security_checks(ws, info)
            found += part
            advance()
        if all(c.passed for c in found):
            scored = score_version(
                ws,
                name,
                info.version,
                frame,
                target=target,
                positive_class=positive_class,
                tasks=TABULAR_TASKS,
            )
            rows = scored.data.n
            task = scored.task
            if "performance" in checks:
                part, details["performance"] = performance_checks(
                    scored, policy.thresholds, lower_ci=use_lower
                )
                found += part
                advance()
            if "bias" in checks:
                part, details["bias"] = bias_checks(
                    scored.frame, scored.data.y_true, scored.data.y_pred, policy.bias, task
                )
                found += part
                advance()
            if "robustness" in checks:
                part, details["robustness"] = robustness_checks(
                    scored.model,
                    scored.features,
                    scored.data.y_true,
                    scored.positive,
                    policy.robustness,
                    task=task,
                    classes=getattr(scored.data, "classes", None),
                )
                found += part
                advance()
        else:
            details["skipped"] = "the artifact failed its security checks; it was not loaded"
    failed = [c for c in found if c.ran and not c.passed]
    blocking = [c for c in found if not c.ran and c.required]
    verdict = "fail" if failed else "incomplete" if blocking else "pass"
    results = {
        "model": name,
        "version": info.version,
        "data": data_ref,
        "rows": rows,
        "task": task,
        "checks": [c.to_dict() for c in found],
        "failed": [c.name for c in failed],
        "not_run": [
            {"group": c.group, "name": c.name, "reason": c.detail, "required": c.required}
            for c in found
            if not c.ran
        ],
        "details": details,
    }
    outcome = ValidationReport(found, results, verdict)
    if record:
        outcome.run_id = ws.registry.record(
            "validation",
            results,
            model=name,
            version=info.version,
            inputs={
                "data": data_ref,
                "rows": rows,
                "checks": list(checks),
                "lower_ci": use_lower,
            },
            verdict=verdict,
        )
        ws.registry.record_event(
            name,
            "validated",
            version=info.version,
            reason=f"validation run #{outcome.run_id}: {verdict}",
            details={"run": outcome.run_id, "verdict": verdict, "failed": results["failed"]},
        )
    if report is not None:
        write_html(report, validation_document(results, verdict))
    return outcome
