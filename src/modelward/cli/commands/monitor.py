"""``modelward monitor …``: production checks over the prediction log, alerts and history."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelward.cli.app import new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, fmt, fmt_time, print_json, table
from modelward.errors import CheckFailed, ConfigError

if TYPE_CHECKING:
    from modelward.monitoring.result import CheckResult

monitor_app = new_typer(
    "Production monitoring: metrics, drift, data quality, degradation, review, alerts."
)

Name = Annotated[str, typer.Argument(help="Model name.")]
Last = Annotated[str, typer.Option("--last", help="Window length, e.g. 24h, 7d.")]
Until = Annotated[
    str | None,
    typer.Option("--until", help="End of the window (ISO time, UTC); default: now."),
]
Env = Annotated[str | None, typer.Option("--env", help="Environment (default: production).")]
AllEnvs = Annotated[bool, typer.Option("--all-envs", help="Every environment.")]


def _env(env: str | None, all_envs: bool) -> str | None:
    from modelward.deploy.deployments import check_environment

    if all_envs and env is not None:
        raise ConfigError(
            f"--env {env} and --all-envs contradict each other; give one of them",
            field="environment",
        )
    return None if all_envs else check_environment(env or "production")


def _split(text: str | None, option: str) -> list[str] | None:
    """A comma-separated option's parts; an option given but empty is a mistake."""
    if text is None:
        return None
    parts = [part.strip() for part in text.split(",")]
    if not all(parts):
        raise ConfigError(
            f"{option} {text!r} has an empty item; list names separated by commas, e.g. a,b",
            field=option.lstrip("-"),
        )
    return parts


def _floats(text: str | None, option: str) -> list[float] | None:
    parts = _split(text, option)
    if parts is None:
        return None
    try:
        return [float(p) for p in parts]
    except ValueError:
        raise ConfigError(
            f"{option} {text!r} must be numbers separated by commas, e.g. 0.80,0.85,0.75",
            field=option.lstrip("-"),
        ) from None


def emit(result: CheckResult, as_json: bool, show: Any = None) -> None:
    """Print the result (JSON or a table), then exit 1 when the check failed."""
    if as_json:
        print_json(result.to_dict())
    else:
        if show is not None:
            show(result)
        tail = f" (run #{result.run_id})" if result.run_id else ""
        console.print(f"{result.check} {result.model or ''}: {result.verdict}{tail}")
        for warning in result.warnings:
            console.print(f"  warning: {warning}")
    if result.failed:
        raise CheckFailed("; ".join(result.breaches) or result.verdict, result=result)


def _show_metrics(result: CheckResult) -> None:
    rows = []
    for tag, entry in result.results["versions"].items():
        values = entry.get("metrics", {})
        for metric, found in values.items():
            limit = result.inputs["thresholds"].get(metric)
            ci = ""
            if found.get("low") is not None:
                ci = f"{found['low']:.3f} .. {found['high']:.3f}"
            rows.append(
                (
                    tag,
                    metric,
                    found.get("value"),
                    ci,
                    limit,
                    entry["labelled"],
                    f"{entry['label_coverage']:.1%}",
                    found.get("status", "-" if limit is None else entry["status"]),
                )
            )
        if not values:
            rows.append(
                (
                    tag,
                    "",
                    None,
                    "",
                    None,
                    entry["labelled"],
                    f"{entry['label_coverage']:.1%}",
                    entry["status"],
                )
            )
    console.print(
        table(
            ("version", "metric", "value", "95% CI", "threshold", "labels", "coverage", "status"),
            rows,
            title=f"metrics, {result.inputs['window']['start'][:16]} .. "
            f"{result.inputs['window']['end'][:16]}",
        )
    )


@monitor_app.command("metrics")
def metrics_cmd(
    name: Name,
    last: Last = "24h",
    until: Until = None,
    env: Env = None,
    all_envs: AllEnvs = False,
    metrics: Annotated[
        str | None, typer.Option(help="Comma-separated metrics, e.g. accuracy,auc,f1.")
    ] = None,
    thresholds: Annotated[
        str | None, typer.Option(help="One threshold per metric, e.g. 0.80,0.85,0.75.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Metrics on labelled predictions per version, with label coverage and CIs."""
    result = (
        state()
        .workspace()
        .monitor.metrics(
            name,
            last=last,
            until=until,
            environment=_env(env, all_envs),
            metrics=_split(metrics, "--metrics"),
            thresholds=_floats(thresholds, "--thresholds"),
        )
    )
    emit(result, as_json, _show_metrics)


def _show_drift(result: CheckResult) -> None:
    rows = []
    for feature, entry in result.results["features"].items():
        rows.append(
            (
                feature,
                entry["kind"],
                entry["method"],
                entry.get("statistic"),
                entry.get("p_value"),
                entry.get("threshold"),
                "DRIFT" if entry.get("drifted") else entry.get("note", ""),
                entry["current_rows"],
            )
        )
    console.print(
        table(
            ("feature", "kind", "method", "statistic", "p-value", "threshold", "drifted", "rows"),
            rows,
            title=f"drift vs {result.inputs['compare_to']}",
        )
    )
    console.print(
        f"drifted share {result.results['drifted_share']:.0%} "
        f"(limit {result.inputs['max_drifted_share']:.0%})"
    )


@monitor_app.command("drift")
def drift_cmd(
    name: Name,
    last: Last = "24h",
    until: Until = None,
    compare_to: Annotated[
        str, typer.Option("--compare-to", help="reference | previous | window:<duration>.")
    ] = "reference",
    features: Annotated[str, typer.Option(help="all, or comma-separated feature names.")] = "all",
    method: Annotated[
        list[str] | None,
        typer.Option(
            help="FEATURE=METHOD override (ks, chi2, psi, wasserstein, jensenshannon); repeatable."
        ),
    ] = None,
    version: Annotated[int | None, typer.Option(help="Only this version's traffic.")] = None,
    env: Env = None,
    all_envs: AllEnvs = False,
    as_json: JsonOption = False,
) -> None:
    """Per-feature drift against the reference profile or an earlier window."""
    from modelward.monitoring.checks.drift import parse_methods

    result = (
        state()
        .workspace()
        .monitor.drift(
            name,
            last=last,
            until=until,
            compare_to=compare_to,
            features=_split(features, "--features"),
            methods=parse_methods(method),
            environment=_env(env, all_envs),
            version=version,
        )
    )
    emit(result, as_json, _show_drift)


def _show_predictions(result: CheckResult) -> None:
    r = result.results
    rows = [
        (k, r.get(k))
        for k in (
            "predictions",
            "errors",
            "rejected",
            "error_rate",
            "latency_p50_ms",
            "latency_p95_ms",
            "mean_score",
        )
    ]
    rows += [(f"share {k}", v) for k, v in r.get("class_shares", {}).items()]
    for key in ("class_drift", "score_drift"):
        if key in r:
            rows.append(
                (
                    key,
                    f"{r[key]['method']} {r[key]['statistic']:.4f} "
                    f"(threshold {r[key]['threshold']})",
                )
            )
    console.print(table(("figure", "value"), rows, title="predictions"))


@monitor_app.command("predictions")
def predictions_cmd(
    name: Name,
    last: Last = "24h",
    until: Until = None,
    distribution_check: Annotated[
        bool, typer.Option("--distribution-check", help="Also check distribution drift.")
    ] = False,
    drift_threshold: Annotated[
        float | None, typer.Option(help="Distance threshold (default: policy, 0.1).")
    ] = None,
    compare_to: Annotated[
        str, typer.Option("--compare-to", help="reference | previous | window:<duration>.")
    ] = "reference",
    env: Env = None,
    all_envs: AllEnvs = False,
    as_json: JsonOption = False,
) -> None:
    """Prediction volume, errors, latency and prediction-distribution drift."""
    if drift_threshold is not None and not distribution_check:
        raise ConfigError(
            "--drift-threshold is the distribution check's threshold; add --distribution-check",
            field="drift_threshold",
        )
    result = (
        state()
        .workspace()
        .monitor.predictions(
            name,
            last=last,
            until=until,
            compare_to=compare_to,
            distribution_check=distribution_check,
            drift_threshold=drift_threshold,
            environment=_env(env, all_envs),
        )
    )
    emit(result, as_json, _show_predictions)


def _show_quality(result: CheckResult) -> None:
    rows = []
    for feature, entry in result.results["features"].items():
        rows.append(
            (
                feature,
                entry.get("missing_rate"),
                entry.get("reference_missing_rate"),
                entry.get("out_of_range"),
                entry.get("zeros"),
                entry.get("unseen"),
                "absent" if entry.get("absent") else "",
            )
        )
    console.print(
        table(
            ("feature", "missing", "ref. missing", "out of range", "zeros", "unseen", "schema"),
            rows,
            title=(
                f"data quality, {result.results['rows']} rows with inputs"
                + (
                    f" ({result.results['rejected_or_failed']} rejected or failed requests "
                    "logged without them)"
                    if result.results.get("rejected_or_failed")
                    else ""
                )
            ),
        )
    )
    volume = result.results["volume"]
    if "ratio" in volume:
        console.print(
            f"volume {volume['rows']} rows = {volume['ratio']:.2f}x the previous "
            f"mean {volume['previous_mean']:.0f}"
        )


@monitor_app.command("quality")
def quality_cmd(
    name: Name,
    last: Last = "24h",
    until: Until = None,
    version: Annotated[int | None, typer.Option(help="Only this version's traffic.")] = None,
    env: Env = None,
    all_envs: AllEnvs = False,
    as_json: JsonOption = False,
) -> None:
    """Missing values, out-of-range values, types, categories, schema changes, volume."""
    result = (
        state()
        .workspace()
        .monitor.quality(
            name, last=last, until=until, environment=_env(env, all_envs), version=version
        )
    )
    emit(result, as_json, _show_quality)


def _ci(pair: Any) -> str:
    if not pair or pair[0] is None:
        return ""
    return f"{pair[0]:.3f} .. {pair[1]:.3f}"


def _show_degradation(result: CheckResult) -> None:
    r = result.results
    now, before = r["current"], r.get("baseline", {})
    console.print(
        f"accuracy now {fmt(now.get('accuracy'))} [{_ci(now.get('ci'))}] on {now['rows']} "
        f"labelled; before {fmt(before.get('accuracy', before.get('recorded_accuracy')))}"
    )
    console.print(
        table(
            ("from", "to", "rows", "accuracy", "95% CI"),
            [
                (
                    p["start"][:16],
                    p["end"][:16],
                    p["rows"],
                    p["accuracy"],
                    _ci((p["low"], p["high"])),
                )
                for p in r["timeline"]
            ],
            title="when",
        )
    )
    console.print(
        table(
            ("slice", "rows", "accuracy", "95% CI", "before", "drop"),
            [
                (
                    s["slice"],
                    s["rows"],
                    s["accuracy"],
                    _ci(s["ci"]),
                    s.get("baseline_accuracy"),
                    s.get("drop"),
                )
                for s in r["slices"]
            ],
            title="slices that lost most",
        )
    )
    if r.get("drifted_with_errors"):
        console.print(
            "drifted features that go with the errors: " + ", ".join(r["drifted_with_errors"])
        )


@monitor_app.command("degradation")
def degradation_cmd(
    name: Name,
    last: Last = "24h",
    until: Until = None,
    compare_to: Annotated[
        str, typer.Option("--compare-to", help="previous | window:<duration> | reference.")
    ] = "previous",
    periods: Annotated[int, typer.Option(help="Cut the window into this many periods.")] = 4,
    top: Annotated[int, typer.Option(min=1, help="Show this many slices.")] = 10,
    env: Env = None,
    all_envs: AllEnvs = False,
    as_json: JsonOption = False,
) -> None:
    """When accuracy dropped, which slices lost most, which drifted features go with it."""
    result = (
        state()
        .workspace()
        .monitor.degradation(
            name,
            last=last,
            until=until,
            compare_to=compare_to,
            periods=periods,
            top=top,
            environment=_env(env, all_envs),
        )
    )
    emit(result, as_json, _show_degradation)


def _show_review(result: CheckResult) -> None:
    r = result.results
    console.print(
        f"{r['rows']} predictions, {r['labelled']} labelled, {r['misclassified']} "
        f"misclassified, {r['low_confidence']} low-confidence"
    )
    console.print(
        table(
            ("request", "why", "pred", "label", "confidence", "top contributions"),
            [
                (
                    i["request_id"][:12],
                    i["why"],
                    i["prediction"],
                    i["label"],
                    i["confidence"],
                    ", ".join(f"{k} {v:+.2f}" for k, v in i["contributions"].items()),
                )
                for i in r["items"]
            ],
            title="reviewed predictions",
        )
    )
    console.print(
        table(
            ("pattern", "in reviewed", "in all"),
            [(p["pattern"], p["share_reviewed"], p["share_all"]) for p in r["patterns"]],
            title="shared patterns",
        )
    )


@monitor_app.command("review")
def review_cmd(
    name: Name,
    last: Annotated[
        str, typer.Option("--last", help="The last N predictions, or a window such as 24h.")
    ] = "100",
    until: Until = None,
    failed_only: Annotated[
        bool, typer.Option("--failed-only", help="Only misclassified predictions.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 20,
    env: Env = None,
    all_envs: AllEnvs = False,
    as_json: JsonOption = False,
) -> None:
    """Misclassified and low-confidence predictions, their inputs, contributions, patterns."""
    result = (
        state()
        .workspace()
        .monitor.review(
            name,
            last=last,
            until=until,
            failed_only=failed_only,
            limit=limit,
            environment=_env(env, all_envs),
        )
    )
    emit(result, as_json, _show_review)


@monitor_app.command("resources")
def resources_cmd(
    url: Annotated[
        str | None, typer.Option("--url", help="A modelward server; reads its /metrics.")
    ] = None,
    continuous: Annotated[
        bool, typer.Option("--continuous", help="Repeat until stopped (Ctrl-C).")
    ] = False,
    every: Annotated[str, typer.Option(help="Pause between rounds with --continuous.")] = "1m",
    max_runs: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many rounds.")
    ] = None,
    alert_threshold: Annotated[
        float, typer.Option(help="Breach when a share reaches this (0..1).")
    ] = 0.9,
    as_json: JsonOption = False,
) -> None:
    """CPU, memory, workspace disk, GPU if present, and the server's /metrics figures."""
    from modelward.timeutil import parse_duration

    pause = parse_duration(every, what="--every").total_seconds()
    if continuous and pause <= 0:
        raise ConfigError("--every must be longer than zero, e.g. 1m", field="every")
    monitor = state().workspace().monitor
    rounds = 0
    result = None
    try:
        while True:
            result = monitor.resources(url=url, alert_threshold=alert_threshold)
            rounds += 1
            if as_json:
                print_json(result.to_dict())
            else:
                r = result.results
                server = r.get("server", {})
                extra = ""
                if "process_resident_memory_bytes" in server:
                    extra = f" server rss {server['process_resident_memory_bytes'] / 2**20:.0f} MB"
                gpus = "".join(f" gpu{i} {g['utilization']:.0%}" for i, g in enumerate(r["gpus"]))
                console.print(
                    f"cpu {r['cpu']:.0%} memory {r['memory']:.0%} disk "
                    f"{r['disk']:.0%}{gpus}{extra}: {result.verdict}"
                )
            if not continuous or (max_runs is not None and rounds >= max_runs):
                break
            time.sleep(pause)
    except KeyboardInterrupt:
        pass
    if result is not None and result.failed:
        raise CheckFailed("; ".join(result.breaches), result=result)


@monitor_app.command("watch")
def watch_cmd(
    name: Annotated[
        str | None, typer.Argument(help="Model name (default: every model in the log).")
    ] = None,
    every: Annotated[str, typer.Option(help="Pause between rounds, e.g. 5m.")] = "5m",
    checks: Annotated[
        str | None,
        typer.Option(help="Comma-separated checks (default: policy monitoring.watch_checks)."),
    ] = None,
    last: Annotated[
        str | None, typer.Option("--last", help="Window (default: policy monitoring.window).")
    ] = None,
    max_runs: Annotated[
        int | None, typer.Option(min=1, help="Stop after this many rounds.")
    ] = None,
    env: Env = None,
    all_envs: AllEnvs = False,
) -> None:
    """Run the configured checks every --every until stopped; each also works from cron."""
    from modelward.monitoring.watch import watch

    ws = state().workspace()
    failed = watch(
        ws.monitor,
        name,
        every=every,
        checks=_split(checks, "--checks"),
        last=last,
        max_runs=max_runs,
        environment=_env(env, all_envs),
        echo=lambda line: console.print(line),
    )
    if failed:
        raise CheckFailed("; ".join(failed))


@monitor_app.command("history")
def history_cmd(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    check: Annotated[
        str | None, typer.Option(help="Only this check (metrics, drift, quality, …).")
    ] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Stored monitoring checks, newest first."""
    from modelward.monitoring.monitor import RUN_PREFIX

    ws = state().workspace()
    runs = ws.registry.list_runs(model=name, limit=None)
    runs = [r for r in runs if r.kind.startswith(RUN_PREFIX) or r.kind == "runbook"]
    if check:
        from modelward.monitoring.monitor import STORED as CHECKS

        if check not in CHECKS:
            raise ConfigError(
                f"--check {check!r} is not a stored check; use one of {', '.join(CHECKS)}",
                field="check",
            )
        runs = [r for r in runs if r.kind in (RUN_PREFIX + check, check)]
    runs = runs[:limit]
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    rows = [
        (
            r.id,
            fmt_time(r.created_at),
            r.kind.removeprefix(RUN_PREFIX),
            r.model,
            r.verdict,
            "; ".join(r.results.get("breaches", []))[:120],
        )
        for r in runs
    ]
    console.print(table(("run", "time (UTC)", "check", "model", "verdict", "breaches"), rows))


@monitor_app.command("alerts")
def alerts_cmd(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    all_: Annotated[bool, typer.Option("--all", help="Include resolved alerts.")] = False,
    resolve: Annotated[int | None, typer.Option(help="Resolve this alert id.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Open alerts (deduplicated: count and last seen), or resolve one."""
    monitor = state().workspace().monitor
    if resolve is not None:
        info = monitor.alerts.resolve(resolve)
        if as_json:
            print_json(info.to_dict())
        else:
            console.print(f"alert #{info.id} resolved")
        return
    alerts = monitor.alerts.list(model=name, include_resolved=all_)
    if as_json:
        print_json([a.to_dict() for a in alerts])
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
        )
        for a in alerts
    ]
    console.print(
        table(("id", "level", "model", "check", "count", "first", "last", "state", "message"), rows)
    )


def report_cmd(
    name: Name,
    last: Last = "7d",
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
    from modelward.monitoring.report import write_report
    from modelward.timeutil import utcnow

    ws = state().workspace()
    report = ws.monitor.report(name, last=last, until=until, environment=_env(env, all_envs))
    target = out or str(ws.root / "reports" / f"{name}-{utcnow():%Y%m%dT%H%M%S}.html")
    html_path, json_path = write_report(report, target, include_plots=include_plots)
    run = ws.registry.record_run(
        "monitor-report",
        model=name,
        version=None,
        inputs={"window": report["window"], "environment": report["environment"]},
        results={
            "files": {"html": str(html_path), "json": str(json_path)},
            "checks": {k: v["verdict"] for k, v in report["checks"].items()},
            "breaches": [],
        },
        verdict="info",
    )
    if as_json:
        print_json(
            {**report, "files": {"html": str(html_path), "json": str(json_path)}, "run_id": run.id}
        )
        return
    for check, body in report["checks"].items():
        console.print(f"{check}: {body['verdict']}")
    console.print(f"report written: {html_path} (and {json_path.name})")


runbook_app = new_typer("The runbook's checklists: daily, weekly, monthly; one report each.")


def _runbook(
    schedule: str,
    name: str | None,
    until: str | None,
    out: str | None,
    env: str | None,
    all_envs: bool,
    as_json: bool,
) -> None:
    ws = state().workspace()
    if name is None:
        logged = set(ws.monitor.log.models())
        names = [m.name for m in ws.registry.list_models() if m.name in logged]
        if not names:
            raise ConfigError("no model has predictions in the log yet; pass a model name")
    else:
        names = [name]
    if out is not None and len(names) > 1:
        raise ConfigError("--out works with one model; pass a model name", field="out")
    reports = [
        ws.monitor.runbook(schedule, n, until=until, environment=_env(env, all_envs), out=out)
        for n in names
    ]
    if as_json:
        print_json(reports if name is None else reports[0])
    else:
        for report in reports:
            console.print(
                table(
                    ("item", "verdict", "detail"),
                    [(i["item"], i["verdict"], i["detail"][:140]) for i in report["items"]],
                    title=f"{schedule} runbook: {report['model']} ({report['verdict']})",
                )
            )
            console.print(f"report: {report['files']['html']} (run #{report['run_id']})")
    failed = [r for r in reports if r["verdict"] == "fail"]
    if failed:
        raise CheckFailed(
            "; ".join(
                f"{r['model']} {i['item']}: {i['detail']}"
                for r in failed
                for i in r["items"]
                if i["verdict"] in ("fail", "insufficient")
            )
        )


def _schedule_command(schedule: str) -> None:
    def command(
        name: Annotated[
            str | None, typer.Argument(help="Model name (default: every model in the log).")
        ] = None,
        until: Until = None,
        out: Annotated[str | None, typer.Option("--out", "-o", help="HTML file.")] = None,
        env: Env = None,
        all_envs: AllEnvs = False,
        as_json: JsonOption = False,
    ) -> None:
        _runbook(schedule, name, until, out, env, all_envs, as_json)

    command.__doc__ = {
        "daily": "Daily: metrics, predictions, data quality, alerts (last 24h).",
        "weekly": "Weekly: metrics, drift, quality, degradation, report, backup (last 7d).",
        "monthly": "Monthly: full evaluation, drift, baseline refresh proposal, retention, "
        "report (last 30d).",
    }[schedule]
    runbook_app.command(schedule)(command)


for _schedule in ("daily", "weekly", "monthly"):
    _schedule_command(_schedule)


def register(app: typer.Typer) -> None:
    app.add_typer(monitor_app, name="monitor")
    app.command("report")(report_cmd)
    app.add_typer(runbook_app, name="runbook")


__all__ = ["emit", "fmt", "register"]
