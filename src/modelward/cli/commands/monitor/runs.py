"""``modelward monitor watch|history|alerts``, ``modelward report`` and
``modelward runbook daily|weekly|monthly``."""

from __future__ import annotations

from typing import Annotated, Any

import typer

import modelward
from modelward.cli.app import calls, new_typer, state
from modelward.cli.commands.monitor.common import (
    AllEnvs,
    Env,
    Name,
    Until,
    environment,
    monitor,
    monitor_app,
    split,
)
from modelward.cli.options import JsonOption
from modelward.cli.output import console, fmt_time, print_json, table
from modelward.errors import CheckFailed, ConfigError

__all__ = ["define", "report_cmd", "runbook_app"]

runbook_app = new_typer("The runbook's checklists: daily, weekly, monthly; one report each.")
EveryModel = Annotated[
    str | None, typer.Argument(help="Model name (default: every model in the log).")
]
MaxRuns = Annotated[int | None, typer.Option(min=1, help="Stop after this many rounds.")]


@calls("modelward.watch_models")
def watch_cmd(
    name: EveryModel = None,
    every: Annotated[str, typer.Option(help="Pause between rounds, e.g. 5m.")] = "5m",
    checks: Annotated[
        str | None,
        typer.Option(help="Comma-separated checks (default: policy monitoring.watch_checks)."),
    ] = None,
    last: Annotated[
        str | None, typer.Option("--last", help="Window (default: policy monitoring.window).")
    ] = None,
    max_runs: MaxRuns = None,
    env: Env = None,
    all_envs: AllEnvs = False,
) -> None:
    """Run the configured checks every --every until stopped; each also works from cron."""
    failed = modelward.watch_models(
        monitor(),
        name,
        every=every,
        checks=split(checks, "--checks"),
        last=last,
        max_runs=max_runs,
        environment=environment(env, all_envs),
        echo=lambda line: console.print(line),
    )
    if failed:
        raise CheckFailed("; ".join(failed))


@calls("Workspace.monitor.history")
def history_cmd(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    check: Annotated[
        str | None, typer.Option(help="Only this check (metrics, drift, quality, …).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Stored monitoring checks, newest first."""
    watcher = monitor()
    runs = watcher.history(name, check=check, limit=limit)
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    rows = [
        (
            r.id,
            fmt_time(r.created_at),
            r.kind.removeprefix(watcher.RUN_PREFIX),
            r.model,
            r.verdict,
            "; ".join(r.results.get("breaches", []))[:120],
        )  # fmt: skip
        for r in runs
    ]
    console.print(table(("run", "time (UTC)", "check", "model", "verdict", "breaches"), rows))


@calls("Workspace.monitor.alerts.list", "Workspace.monitor.alerts.resolve")
def alerts_cmd(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved alerts.")] = False,
    resolve: Annotated[int | None, typer.Option(help="Resolve this alert id.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Open alerts (deduplicated: count and last seen), or resolve one."""
    alerts = monitor().alerts
    if resolve is not None:
        info = alerts.resolve(resolve)
        if as_json:
            print_json(info.to_dict())
        else:
            console.print(f"alert #{info.id} resolved")
        return
    found = alerts.list(model=name, include_resolved=all_)
    if as_json:
        print_json([a.to_dict() for a in found])
        return
    rows = [
        (
            a.id,
            a.level,
            a.model,
            a.check,
            a.count,
            fmt_time(a.first_at),
            fmt_time(a.last_at),
            "resolved" if a.resolved_at else "open",
            a.message[:100],
        )  # fmt: skip
        for a in found
    ]
    console.print(
        table(("id", "level", "model", "check", "count", "first", "last", "state", "message"), rows)
    )


@calls("Workspace.write_report")
def report_cmd(
    name: Name,
    last: Annotated[str, typer.Option("--last", help="Window length, e.g. 24h, 7d.")] = "7d",
    until: Until = None,
    include_plots: Annotated[
        bool, typer.Option("--include-plots/--no-plots", help="Embed figures.")
    ] = True,
    out: Annotated[
        str | None,
        typer.Option(
            "--out",
            "-o",
            help="HTML file (JSON is written next to it); "
            "default: <workspace>/reports/<name>-<time>.html.",
        ),
    ] = None,
    env: Env = None,
    all_envs: AllEnvs = False,
    as_json: JsonOption = False,
) -> None:
    """One self-contained HTML report (and the same as JSON): metrics over time, drift,
    data quality, degradation slices, alerts."""
    report = state().workspace().write_report(
        name, last=last, until=until, environment=environment(env, all_envs), out=out,
        include_plots=include_plots,
    )  # fmt: skip
    if as_json:
        print_json(report)
        return
    for check, body in report["checks"].items():
        console.print(f"{check}: {body['verdict']}")
    files = report["files"]
    console.print(f"report written: {files['html']} (and {files['json'].rsplit('/', 1)[-1]})")


def _models(name: str | None, options: dict[str, Any]) -> list[str]:
    """The model named, or every model in the log."""
    names = [name] if name is not None else monitor().logged_models()
    if not names:
        raise ConfigError("no model has predictions in the log yet; pass a model name")
    if options["out"] is not None and len(names) > 1:
        raise ConfigError("--out works with one model; pass a model name", field="out")
    return names


def _print_runbooks(
    schedule: str, name: str | None, reports: list[dict[str, Any]], as_json: bool
) -> None:
    if as_json:
        print_json(reports if name is None else reports[0])
    else:
        for report in reports:
            items = [(i["item"], i["verdict"], i["detail"][:140]) for i in report["items"]]
            title = f"{schedule} runbook: {report['model']} ({report['verdict']})"
            console.print(table(("item", "verdict", "detail"), items, title=title))
            console.print(f"report: {report['files']['html']} (run #{report['run_id']})")
    failed = [
        f"{r['model']} {i['item']}: {i['detail']}"
        for r in reports
        if r["verdict"] == "fail"
        for i in r["items"]
        if i["verdict"] in ("fail", "insufficient")
    ]
    if failed:
        raise CheckFailed("; ".join(failed))


def _schedule_command(schedule: str, doc: str) -> None:
    def command(
        name: EveryModel = None,
        until: Until = None,
        out: Annotated[str | None, typer.Option("--out", "-o", help="HTML file.")] = None,
        env: Env = None,
        all_envs: AllEnvs = False,
        no_plots: Annotated[
            bool,
            typer.Option(
                "--no-plots",
                help="Write the report's tables without its figures (seconds faster; for "
                "scheduled runs read through --json or the JSON file).",
            ),
        ] = False,
        as_json: JsonOption = False,
    ) -> None:
        options = {
            "until": until,
            "out": out,
            "environment": environment(env, all_envs),
            "include_plots": not no_plots,
        }
        ws = state().workspace()
        reports = [ws.runbook(schedule, n, **options) for n in _models(name, options)]
        _print_runbooks(schedule, name, reports, as_json)

    command.__doc__ = doc
    runbook_app.command(schedule)(calls("Workspace.runbook")(command))


def define() -> None:
    monitor_app.command("watch")(watch_cmd)
    monitor_app.command("history")(history_cmd)
    monitor_app.command("alerts")(alerts_cmd)
    _schedule_command("daily", "Daily: metrics, predictions, data quality, alerts (last 24h).")
    _schedule_command(
        "weekly", "Weekly: metrics, drift, quality, degradation, report, backup (last 7d)."
    )
    _schedule_command(
        "monthly",
        "Monthly: full evaluation, drift, baseline refresh proposal, retention, report (last 30d).",
    )
