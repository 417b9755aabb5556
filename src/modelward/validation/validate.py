"""``validate``: performance, bias, robustness and security checks against the policy,
stored as a ``validation`` run (the staging gate reads the latest one)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data.io import read_source
from modelward.errors import ConfigError
from modelward.evaluation.metrics import bootstrap_metrics
from modelward.evaluation.scoring import score_version
from modelward.progress import NO_PROGRESS, Progress
from modelward.reports.document import check_report_path, write_html
from modelward.validation.bias import bias_checks
from modelward.validation.checks import Check, compare
from modelward.validation.report import check_rows, short, validation_document
from modelward.validation.robustness import robustness_checks
from modelward.validation.security import security_checks

if TYPE_CHECKING:
    import pandas as pd

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
        return [c for c in self.checks if not c.passed]

    def rows(self) -> list[tuple[Any, ...]]:
        """One row per check: group, name, value, threshold, result, detail."""
        return check_rows(self.results)

    def failures(self) -> str:
        """The failed checks in one line: ``name = value (needs op threshold)``, …"""
        return "; ".join(
            f"{c.name} = {short(c.value)} (needs {c.op} {short(c.threshold)})" for c in self.failed
        )


def performance_checks(
    data: Any, thresholds: Any, *, lower_ci: bool, seed: int = 0
) -> tuple[list[Check], dict[str, Any]]:
    metrics = bootstrap_metrics(data, seed=seed)
    checks = []
    if data.n < thresholds.min_labels:
        checks.append(
            Check(
                "performance",
                "labelled rows",
                data.n,
                thresholds.min_labels,
                ">=",
                False,
                "too few labelled rows to judge performance",
            )
        )
    for name, limit in thresholds.as_dict().items():
        m = metrics.get(name)
        if m is None:
            checks.append(
                Check(
                    "performance",
                    name,
                    None,
                    limit,
                    ">=",
                    False,
                    "the model gives no probabilities",
                )
            )
            continue
        value = m["low"] if lower_ci else m["value"]
        shown = "95 % lower bound" if lower_ci else "point estimate"
        ci = f"[{m['low']:.3f}, {m['high']:.3f}]" if m["low"] is not None else "(no interval)"
        checks.append(
            Check(
                "performance",
                name,
                value,
                limit,
                ">=",
                compare(value, ">=", limit),
                f"{shown}; value {m['value']:.3f}, 95 % CI {ci}",
            )
        )
    return checks, {"metrics": metrics, "rows": data.n, "lower_ci": lower_ci}


def validate_version(
    ws: Workspace,
    name: str,
    version: int | str,
    data: pd.DataFrame | Path | str,
    *,
    data_ref: str | None = None,
    target: str | None = None,
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
    policy = ws.policy
    info = ws.registry.get_version(name, version)
    found: list[Check] = []
    details: dict[str, Any] = {}
    use_lower = policy.thresholds.use_lower_ci if lower_ci is None else lower_ci
    rows = 0
    with progress.task("validation checks", total=len(checks)) as advance:
        if "security" in checks:  # first: a tampered artifact is not loaded at all
            part, details["security"] = security_checks(ws, info)
            found += part
            advance()
        if all(c.passed for c in found):
            scored = score_version(ws, name, info.version, frame, target=target)
            rows = scored.data.n
            if "performance" in checks:
                part, details["performance"] = performance_checks(
                    scored.data, policy.thresholds, lower_ci=use_lower
                )
                found += part
                advance()
            if "bias" in checks:
                part, details["bias"] = bias_checks(
                    scored.frame, scored.data.y_true, scored.data.y_pred, policy.bias
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
                )
                found += part
                advance()
        else:
            details["skipped"] = "the artifact failed its security checks; it was not loaded"
    verdict = "pass" if all(c.passed for c in found) else "fail"
    results = {
        "model": name,
        "version": info.version,
        "data": data_ref,
        "rows": rows,
        "checks": [c.to_dict() for c in found],
        "failed": [c.name for c in found if not c.passed],
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
