"""``modelward runbook daily|weekly|monthly``: the runbook's checklists, one report each.

| schedule | window | items (``monitoring.daily`` / ``weekly`` / ``monthly`` in policy) |
| --- | --- | --- |
| daily | 24h | compact (the log's closed days), metrics, predictions, quality, alerts |
| weekly | 7d | metrics, drift, quality, degradation, report, backup |
| monthly | 30d | evaluation (every metric), drift, baseline refresh proposal, retention, report |

Every item gets a verdict (pass, fail, insufficient, warn, info, skipped) and a one-line
detail; the whole run is stored (kind ``runbook``) and written as one HTML + JSON report.
"""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.monitoring.checks import CHECKS, DriftResult
from modelward.monitoring.report import build_report, write_report
from modelward.monitoring.result import FAILING, CheckResult
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.monitoring.monitor import Monitor

__all__ = ["SCHEDULES", "run_runbook"]

SCHEDULES = {"daily": "24h", "weekly": "7d", "monthly": "30d"}
#: Closed days a runbook's compaction looks at: a week, so a few missed daily runs are
#: caught up; older days are not listed again (``logs compact`` does them all).
COMPACT_DAYS = 7
KNOWN_ITEMS = {
    "compact",
    "metrics",
    "predictions",
    "quality",
    "alerts",
    "drift",
    "degradation",
    "report",
    "backup",
    "evaluation",
    "baseline",
    "retention",
}


def _item(item: str, verdict: str, detail: str, **extra: Any) -> dict[str, Any]:
    return {"item": item, "verdict": verdict, "detail": detail, **extra}


def _from_check(item: str, result: CheckResult) -> dict[str, Any]:
    detail = "; ".join(result.breaches) if result.breaches else "within thresholds"
    return _item(item, result.verdict, detail, run_id=result.run_id)


#: Items that are a check (``evaluation`` is the metrics check: every metric), and the
#: options they run with.
CHECK_ITEMS: dict[str, tuple[str, dict[str, Any]]] = {
    "metrics": ("metrics", {}),
    "evaluation": ("metrics", {}),
    "predictions": ("predictions", {"distribution_check": True}),
    "quality": ("quality", {}),
    "drift": ("drift", {}),
    "degradation": ("degradation", {}),
}
TABULAR_ONLY = {"metrics", "evaluation", "drift", "quality", "degradation", "baseline"}


def run_runbook(
    monitor: Monitor,
    schedule: str,
    name: str,
    *,
    until: str | None = None,
    environment: str | None = "production",
    out: str | Path | None = None,
    include_plots: bool = True,
) -> dict[str, Any]:
    if schedule not in SCHEDULES:
        raise ConfigError(f"runbook {schedule!r} is not one of daily, weekly, monthly")
    wanted: list[str] = list(getattr(monitor.ws.policy_for(name).monitoring, schedule))
    unknown = [i for i in wanted if i not in KNOWN_ITEMS]
    if unknown:
        raise ConfigError(
            f"monitoring.{schedule} in policy.yml names unknown item(s) {', '.join(unknown)}; "
            f"choose from {', '.join(sorted(KNOWN_ITEMS))}"
        )
    model = monitor.model(name)
    last = SCHEDULES[schedule]
    items: list[dict[str, Any]] = []
    checks: list[CheckResult] = []
    with monitor.log.sharing():  # the items read the window once, a snapshot they share
        for item in wanted:
            if model.task == "text-generation" and item in TABULAR_ONLY:
                items.append(_item(item, "skipped", "not defined for endpoint (LLM) models"))
            elif item in CHECK_ITEMS:
                kind, options = CHECK_ITEMS[item]
                result = monitor.run(
                    CHECKS[kind](**options), name, last=last, until=until, environment=environment
                )
                checks.append(result)
                items.append(_from_check(item, result))
            else:
                items.append(_other_item(monitor, item, name, checks))
        report = build_report(
            monitor, name, last=last, until=until, environment=environment, checks=checks
        )
    verdict = "fail" if any(i["verdict"] in FAILING for i in items) else "pass"
    report.update(runbook=schedule, items=items, verdict=verdict)
    _write(report, out or _default_out(monitor, name, schedule), include_plots)
    run = monitor.ws.catalog.record_run(
        "runbook",
        model=name,
        version=None,
        inputs={"schedule": schedule, "window": report["window"], "environment": environment},
        results={
            "items": items,
            "files": report["files"],
            "breaches": [f"{i['item']}: {i['detail']}" for i in items if i["verdict"] in FAILING],
        },
        verdict=verdict,
    )
    report["run_id"] = run.id
    return report


def _default_out(monitor: Monitor, name: str, schedule: str) -> Path:
    stamp = utcnow().strftime("%Y%m%dT%H%M%S")
    return monitor.ws.layout.reports / f"{name}-{schedule}-{stamp}.html"


def _write(report: dict[str, Any], out: str | Path, plots: bool) -> None:
    html_path, json_path = write_report(report, out, include_plots=plots)
    report["files"] = {"html": str(html_path), "json": str(json_path)}


def _other_item(
    monitor: Monitor, item: str, name: str, checks: list[CheckResult]
) -> dict[str, Any]:
    """An item that is not a check: open alerts, a proposal, retention, backup, compaction,
    the report."""
    if item == "alerts":
        open_alerts = monitor.alerts.list(model=name)
        critical = [a for a in open_alerts if a.level == "critical"]
        verdict = "fail" if critical else ("warn" if open_alerts else "pass")
        detail = (
            f"{len(open_alerts)} open alert(s), {len(critical)} critical"
            if open_alerts
            else "no open alerts"
        )
        return _item(item, verdict, detail, alerts=[a.id for a in open_alerts])
    if item == "baseline":
        return _baseline_proposal(checks)
    if item == "retention":
        return _retention(monitor, name)
    if item == "backup":
        return _backup(monitor)
    if item == "compact":
        return _compact(monitor, name)
    return _item(item, "pass", "written with this runbook")  # the report


def _baseline_proposal(checks: list[CheckResult]) -> dict[str, Any]:
    """Propose refreshing the reference when the inputs moved but the model still performs."""
    drift = next((c for c in checks if isinstance(c, DriftResult)), None)
    metrics = next((c for c in checks if c.check == "metrics"), None)
    if drift is None:
        return _item("baseline", "skipped", "no drift check in this runbook to judge from")
    drifted = drift.drifted
    if not drifted:
        return _item("baseline", "pass", "inputs match the reference; no refresh needed")
    if metrics is not None and metrics.verdict == "pass":
        return _item(
            "baseline",
            "info",
            f"inputs drifted ({', '.join(drifted)}) while metrics pass: propose registering a "
            "new version with recent data as its reference profile "
            "(`modelward register … --data <recent data>`)",
            proposal="refresh",
        )
    return _item(
        "baseline",
        "warn",
        f"inputs drifted ({', '.join(drifted)}) and metrics do not pass: retrain on recent "
        "labelled data before refreshing the reference",
        proposal="retrain",
    )


def _retention(monitor: Monitor, name: str) -> dict[str, Any]:
    """What `modelward clean` would delete under the retention rules: candidates only."""
    from modelward.errors import ModelwardError
    from modelward.lifecycle.retention import plan_clean

    policy = monitor.ws.policy_for(name).retention
    note = ""
    try:
        plan = plan_clean(monitor.ws, name)
    except ModelwardError:  # no version records the ranking metric: rank by age only
        plan = plan_clean(monitor.ws, name, keep_best=0)
        note = f" (keep-best skipped: no version records {plan.metric})"
    candidates = sorted(d.version for d in plan.to_delete)
    detail = (
        f"{len(candidates)} version(s) outside keep-last {policy.keep_last} / keep-best "
        f"{policy.keep_best}: {', '.join(f'v{c}' for c in candidates)} "
        f"(`modelward clean {name} --yes` deletes them)"
        if candidates
        else f"{len(plan.decisions)} version(s), all within retention"
    ) + note
    return _item("retention", "info" if candidates else "pass", detail, candidates=candidates)


def _compact(monitor: Monitor, name: str) -> dict[str, Any]:
    """The last COMPACT_DAYS closed days of the model's log as one file each, so the checks
    read them fast; older days were compacted by earlier runs (or ``logs compact``), and
    are not listed again: in object storage a day is a listing."""
    from modelward.errors import StorageError
    from modelward.predlog.compact import compact

    since = (utcnow() - timedelta(days=COMPACT_DAYS)).date()
    try:
        done = compact(monitor.ws.logs_url, model=name, since=since)
    except StorageError as exc:
        return _item("compact", "warn", f"log not compacted: {exc.message}")
    if not done:
        return _item("compact", "pass", "every closed day is one file per partition")
    files = sum(c.files for c in done)
    return _item(
        "compact",
        "pass",
        f"{files} files of {len(done)} closed day partition(s) compacted into {len(done)}",
        partitions=[c.to_dict() for c in done],
    )


def _backup(monitor: Monitor) -> dict[str, Any]:
    """A checksummed backup of the workspace into its backups/ folder."""
    from modelward.backup.archive import create_backup

    folder = monitor.ws.layout.backups
    folder.mkdir(exist_ok=True)
    out = folder / f"weekly-{utcnow():%Y%m%dT%H%M%S}.tar.gz"
    try:
        info = create_backup(monitor.ws, out, include_weights=True)
    except Exception as exc:  # noqa: BLE001 - a failed backup is a failed item, not a crash
        return _item("backup", "fail", f"backup failed: {exc}")
    return _item("backup", "pass", f"backup written: {info.path}")
