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

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.monitoring.result import FAILING, CheckResult
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.monitoring.monitor import Monitor

__all__ = ["SCHEDULES", "run_runbook"]

SCHEDULES = {"daily": "24h", "weekly": "7d", "monthly": "30d"}
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
    from modelward.monitoring.report import build_report, write_report

    if schedule not in SCHEDULES:
        raise ConfigError(f"runbook {schedule!r} is not one of daily, weekly, monthly")
    policy = monitor.ws.policy.monitoring
    items_wanted: list[str] = list(getattr(policy, schedule))
    unknown = [i for i in items_wanted if i not in KNOWN_ITEMS]
    if unknown:
        raise ConfigError(
            f"monitoring.{schedule} in policy.yml names unknown item(s) {', '.join(unknown)}; "
            f"choose from {', '.join(sorted(KNOWN_ITEMS))}"
        )
    model = monitor._model(name)
    last = SCHEDULES[schedule]
    tabular_only = {"metrics", "evaluation", "drift", "quality", "degradation", "baseline"}
    common: dict[str, Any] = {"last": last, "until": until, "environment": environment}
    items: list[dict[str, Any]] = []
    checks: list[CheckResult] = []
    for item in items_wanted:
        if model.task == "text-generation" and item in tabular_only:
            items.append(_item(item, "skipped", "not defined for endpoint (LLM) models"))
            continue
        if item in ("metrics", "evaluation"):
            result = monitor.metrics(name, **common)
            checks.append(result)
            items.append(_from_check(item, result))
        elif item == "predictions":
            result = monitor.predictions(name, distribution_check=True, **common)
            checks.append(result)
            items.append(_from_check(item, result))
        elif item == "quality":
            result = monitor.quality(name, **common)
            checks.append(result)
            items.append(_from_check(item, result))
        elif item == "drift":
            result = monitor.drift(name, **common)
            checks.append(result)
            items.append(_from_check(item, result))
        elif item == "degradation":
            result = monitor.degradation(name, **common)
            checks.append(result)
            items.append(_from_check(item, result))
        elif item == "alerts":
            open_alerts = monitor.alerts.list(model=name)
            critical = [a for a in open_alerts if a.level == "critical"]
            verdict = "fail" if critical else ("warn" if open_alerts else "pass")
            detail = (
                f"{len(open_alerts)} open alert(s), {len(critical)} critical"
                if open_alerts
                else "no open alerts"
            )
            items.append(_item(item, verdict, detail, alerts=[a.id for a in open_alerts]))
        elif item == "baseline":
            items.append(_baseline_proposal(checks))
        elif item == "retention":
            items.append(_retention(monitor, name))
        elif item == "backup":
            items.append(_backup(monitor))
        elif item == "compact":
            items.append(_compact(monitor, name))
        elif item == "report":
            items.append(_item(item, "pass", "written with this runbook"))
    report = build_report(
        monitor, name, last=last, until=until, environment=environment, checks=checks
    )
    verdict = "fail" if any(i["verdict"] in FAILING for i in items) else "pass"
    report.update(runbook=schedule, items=items, verdict=verdict)
    if out is None:
        stamp = utcnow().strftime("%Y%m%dT%H%M%S")
        out = monitor.ws.root / "reports" / f"{name}-{schedule}-{stamp}.html"
    html_path, json_path = write_report(report, out, include_plots=include_plots)
    report["files"] = {"html": str(html_path), "json": str(json_path)}
    run = monitor.ws.registry.record_run(
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


def _baseline_proposal(checks: list[CheckResult]) -> dict[str, Any]:
    """Propose refreshing the reference when the inputs moved but the model still performs."""
    drift = next((c for c in checks if c.check == "drift"), None)
    metrics = next((c for c in checks if c.check == "metrics"), None)
    if drift is None:
        return _item("baseline", "skipped", "no drift check in this runbook to judge from")
    drifted = drift.results.get("drifted", [])
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

    policy = monitor.ws.policy.retention
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
    """Closed days of the model's log as one file each, so the checks read them fast."""
    from modelward.errors import StorageError
    from modelward.predlog.compact import compact

    try:
        done = compact(monitor.ws.logs_url, model=name)
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
    from modelward.timeutil import utcnow

    folder = monitor.ws.root / "backups"
    folder.mkdir(exist_ok=True)
    out = folder / f"weekly-{utcnow():%Y%m%dT%H%M%S}.tar.gz"
    try:
        info = create_backup(monitor.ws, out, include_weights=True)
    except Exception as exc:  # noqa: BLE001 - a failed backup is a failed item, not a crash
        return _item("backup", "fail", f"backup failed: {exc}")
    return _item("backup", "pass", f"backup written: {info.path}")
