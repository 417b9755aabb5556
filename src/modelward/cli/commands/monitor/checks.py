"""``modelward monitor metrics|drift|predictions|quality|degradation|review|resources``:
each parses its options, runs its check through ``ws.monitor`` and prints the result."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Annotated, Any

import typer

import modelward
import modelward.cli.commands.monitor.show as show
from modelward.cli.app import calls
from modelward.cli.commands.monitor.common import check_command, monitor, monitor_app, split
from modelward.cli.options import JsonOption
from modelward.cli.output import print_json
from modelward.errors import CheckFailed, ConfigError

if TYPE_CHECKING:
    from modelward.monitoring import CheckResult, Monitor

__all__ = ["define"]

CompareTo = Annotated[
    str, typer.Option("--compare-to", help="reference | previous | window:<duration>.")
]
Version = Annotated[int | None, typer.Option(help="Only this version's traffic.")]


def _floats(text: str | None, option: str) -> list[float] | None:
    parts = split(text, option)
    if parts is None:
        return None
    try:
        return [float(p) for p in parts]
    except ValueError as exc:
        raise ConfigError(
            f"{option} {text!r} must be numbers separated by commas, e.g. 0.80,0.85,0.75",
            field=option.lstrip("-"),
        ) from exc


def metrics(
    monitor: Monitor,
    window: dict[str, Any],
    metrics: Annotated[
        str | None, typer.Option(help="Comma-separated metrics, e.g. accuracy,auc,f1.")
    ] = None,
    thresholds: Annotated[
        str | None, typer.Option(help="One threshold per metric, e.g. 0.80,0.85,0.75.")
    ] = None,
) -> CheckResult:
    """Metrics on labelled predictions per version, with label coverage and CIs."""
    chosen, limits = split(metrics, "--metrics"), _floats(thresholds, "--thresholds")
    return monitor.metrics(**window, metrics=chosen, thresholds=limits)


def drift(
    monitor: Monitor,
    window: dict[str, Any],
    compare_to: CompareTo = "reference",
    features: Annotated[str, typer.Option(help="all, or comma-separated feature names.")] = "all",
    method: Annotated[
        list[str] | None,
        typer.Option(
            help="FEATURE=METHOD override (ks, chi2, ztest, psi, wasserstein, jensenshannon); repeatable."
        ),
    ] = None,
    version: Version = None,
) -> CheckResult:
    """Per-feature drift against the reference profile or an earlier window."""
    return monitor.drift(
        **window,
        compare_to=compare_to,
        features=split(features, "--features"),
        methods=modelward.parse_drift_methods(method),
        version=version,
    )


def predictions(
    monitor: Monitor,
    window: dict[str, Any],
    distribution_check: Annotated[
        bool, typer.Option("--distribution-check", help="Also check distribution drift.")
    ] = False,
    drift_threshold: Annotated[
        float | None, typer.Option(help="Distance threshold (default: policy, 0.1).")
    ] = None,
    compare_to: CompareTo = "reference",
) -> CheckResult:
    """Prediction volume, errors, latency and prediction-distribution drift."""
    if drift_threshold is not None and not distribution_check:
        raise ConfigError(
            "--drift-threshold is the distribution check's threshold; add --distribution-check",
            field="drift_threshold",
        )
    return monitor.predictions(
        **window,
        compare_to=compare_to,
        distribution_check=distribution_check,
        drift_threshold=drift_threshold,
    )


def quality(monitor: Monitor, window: dict[str, Any], version: Version = None) -> CheckResult:
    """Missing values, out-of-range values, types, categories, schema changes, volume."""
    return monitor.quality(**window, version=version)


def degradation(
    monitor: Monitor,
    window: dict[str, Any],
    compare_to: Annotated[
        str, typer.Option("--compare-to", help="previous | window:<duration> | reference.")
    ] = "previous",
    periods: Annotated[int, typer.Option(help="Cut the window into this many periods.")] = 4,
    top: Annotated[int, typer.Option(min=1, help="Show this many slices.")] = 10,
) -> CheckResult:
    """When accuracy dropped, which slices lost most, which drifted features go with it."""
    return monitor.degradation(**window, compare_to=compare_to, periods=periods, top=top)


def review(
    monitor: Monitor,
    window: dict[str, Any],
    failed_only: Annotated[
        bool, typer.Option("--failed-only", help="Only misclassified predictions.")
    ] = False,
    limit: Annotated[int, typer.Option(min=1, help="Show at most this many.")] = 20,
) -> CheckResult:
    """Misclassified and low-confidence predictions, their inputs, contributions, patterns."""
    return monitor.review(**window, failed_only=failed_only, limit=limit)


@calls("Workspace.monitor.resources")
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
    rounds, result = 0, None
    try:
        while result is None or (continuous and (max_runs is None or rounds < max_runs)):
            if result is not None:
                time.sleep(pause)
            result = monitor().resources(url=url, alert_threshold=alert_threshold)
            rounds += 1
            if as_json:
                print_json(result.to_dict())
            else:
                show.resources(result)
    except KeyboardInterrupt:
        pass
    if result is not None and result.failed:
        raise CheckFailed("; ".join(result.breaches), result=result)


def define() -> None:
    check_command("metrics", show.metrics)(metrics)
    check_command("drift", show.drift)(drift)
    check_command("predictions", show.predictions)(predictions)
    check_command("quality", show.quality)(quality)
    check_command("degradation", show.degradation)(degradation)
    last_help = "The last N predictions, or a window such as 24h."
    check_command("review", show.review, last="100", last_help=last_help)(review)
    monitor_app.command("resources")(resources_cmd)
