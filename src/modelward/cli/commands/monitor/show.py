"""Printing each check's typed result as tables (``--json`` prints ``to_dict()``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

from modelward.cli.output import console, fmt, satisfaction_table, table

if TYPE_CHECKING:
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

__all__ = ["degradation", "drift", "metrics", "predictions", "quality", "resources", "review"]


def _ci(pair: Any) -> str:
    if not pair or pair[0] is None:
        return ""
    return f"{pair[0]:.3f} .. {pair[1]:.3f}"


def metrics(result: MetricsResult) -> None:
    rows = []
    for tag, entry in result.versions.items():
        coverage = f"{entry.label_coverage:.1%}"
        for metric, found in (entry.metrics or {}).items():
            limit = result.thresholds.get(metric)
            status = found.status or ("-" if limit is None else entry.status)
            ci = _ci((found.low, found.high))
            rows.append((tag, metric, found.value, ci, limit, entry.labelled, coverage, status))
        if not entry.metrics:
            rows.append((tag, "", None, "", None, entry.labelled, coverage, entry.status))
    window = result.window
    console.print(
        table(
            ("version", "metric", "value", "95% CI", "threshold", "labels", "coverage", "status"),
            rows,
            title=f"metrics, {window.start.isoformat()[:16]} .. {window.end.isoformat()[:16]}",
        )
    )


def drift(result: DriftResult) -> None:
    rows = [
        (
            feature,
            entry.kind,
            entry.method,
            entry.statistic,
            entry.p_value,
            entry.threshold,
            "DRIFT" if entry.drifted else entry.note or "",
            entry.current_rows,
        )  # fmt: skip
        for feature, entry in result.features.items()
    ]
    console.print(
        table(
            ("feature", "kind", "method", "statistic", "p-value", "threshold", "drifted", "rows"),
            rows,
            title=f"drift vs {result.compare_to}",
        )
    )
    console.print(
        f"drifted share {result.drifted_share:.0%} (limit {result.max_drifted_share:.0%})"
    )


def predictions(result: PredictionsResult) -> None:
    rows: list[tuple[str, Any]] = [
        ("predictions", result.predictions),
        ("errors", result.errors),
        ("rejected", result.rejected),
        ("error_rate", result.error_rate),
        ("latency_p50_ms", result.latency_p50_ms),
        ("latency_p95_ms", result.latency_p95_ms),
        ("mean_score", result.mean_score),
    ]
    rows += [(f"share {k}", v) for k, v in result.class_shares.items()]
    for key, score in (
        ("class_drift", result.class_drift.score if result.class_drift else None),
        ("score_drift", result.score_drift),
    ):
        if score is not None:
            text = f"{score.method} {score.statistic:.4f} (threshold {score.threshold})"
            rows.append((key, text))
    console.print(table(("figure", "value"), rows, title="predictions"))
    rated = result.llm.satisfaction if result.llm is not None else []
    if rated:
        console.print(satisfaction_table(rated))


def quality(result: QualityResult) -> None:
    rows = [
        (
            feature,
            entry.missing_rate,
            entry.reference_missing_rate,
            entry.out_of_range,
            entry.zeros,
            entry.unseen,
            "absent" if entry.absent else "",
        )  # fmt: skip
        for feature, entry in result.features.items()
    ]
    title = f"data quality, {result.rows} rows with inputs"
    if result.rejected_or_failed:
        title += f" ({result.rejected_or_failed} rejected or failed requests logged without them)"
    console.print(
        table(
            ("feature", "missing", "ref. missing", "out of range", "zeros", "unseen", "schema"),
            rows,
            title=title,
        )
    )
    volume = result.volume
    if volume.ratio is not None and volume.previous_mean is not None:
        console.print(
            f"volume {volume.rows} rows = {volume.ratio:.2f}x the previous "
            f"mean {volume.previous_mean:.0f}"
        )


def degradation(result: DegradationResult | ErrorDegradationResult) -> None:
    """A classifier's accuracy, or (``metric: mae``) a regressor's absolute error."""
    if result.metric == "mae":
        _error_degradation(cast("ErrorDegradationResult", result))
    else:
        _accuracy_degradation(cast("DegradationResult", result))


def _accuracy_degradation(result: DegradationResult) -> None:
    now, before = result.current, result.baseline
    # a recorded baseline (the version's evaluation) or a measured window
    then = getattr(before, "recorded_accuracy", getattr(before, "accuracy", None))
    console.print(
        f"accuracy now {fmt(now.accuracy)} [{_ci(now.ci)}] on {now.rows} labelled; "
        f"before {fmt(then)}"
    )
    periods = [
        (p.start[:16], p.end[:16], p.rows, p.accuracy, _ci((p.low, p.high)))
        for p in result.timeline
    ]
    console.print(table(("from", "to", "rows", "accuracy", "95% CI"), periods, title="when"))
    slices = [
        (s.slice, s.rows, s.accuracy, _ci(s.ci), s.baseline_accuracy, s.drop) for s in result.slices
    ]
    console.print(
        table(
            ("slice", "rows", "accuracy", "95% CI", "before", "drop"),
            slices,
            title="slices that lost most",
        )
    )
    if result.drifted_with_errors:
        console.print(
            "drifted features that go with the errors: " + ", ".join(result.drifted_with_errors)
        )


def _error_degradation(result: ErrorDegradationResult) -> None:
    now, before = result.current, result.baseline
    then = before.mae if before is not None else None
    console.print(
        f"mean absolute error now {fmt(now.mae)} [{_ci(now.ci)}] on {now.rows} labelled; "
        f"before {fmt(then)}"
    )
    periods = [
        (p.start[:16], p.end[:16], p.rows, p.mae, _ci((p.low, p.high))) for p in result.timeline
    ]
    console.print(table(("from", "to", "rows", "MAE", "95% CI"), periods, title="when"))
    slices = [(s.slice, s.rows, s.mae, s.baseline_mae, s.increase) for s in result.slices]
    console.print(
        table(("slice", "rows", "MAE", "before", "increase"), slices, title="slices that grew most")
    )
    if result.drifted_with_errors:
        console.print(
            "drifted features that go with the errors: " + ", ".join(result.drifted_with_errors)
        )


def review(result: ReviewResult) -> None:
    regression = any(i.error is not None for i in result.items) or result.large_errors
    if regression:
        found = f"{result.large_errors} large errors (top decile of |prediction - label|)"
    else:
        found = f"{result.misclassified} misclassified, {result.low_confidence} low-confidence"
    console.print(f"{result.rows} predictions, {result.labelled} labelled, {found}")
    items = [
        (
            i.request_id[:12],
            i.why,
            i.prediction,
            i.label,
            i.error if regression else i.confidence,
            ", ".join(f"{k} {v:+.2f}" for k, v in i.contributions.items()),
        )  # fmt: skip
        for i in result.items
    ]
    measure = "|error|" if regression else "confidence"
    columns = ("request", "why", "pred", "label", measure, "top contributions")
    console.print(table(columns, items, title="reviewed predictions"))
    patterns = [(p.pattern, p.share_reviewed, p.share_all) for p in result.patterns]
    console.print(table(("pattern", "in reviewed", "in all"), patterns, title="shared patterns"))


def resources(result: ResourcesResult) -> None:
    server = result.server or {}
    extra = ""
    if "process_resident_memory_bytes" in server:
        extra = f" server rss {server['process_resident_memory_bytes'] / 2**20:.0f} MB"
    gpus = "".join(f" gpu{i} {g.utilization:.0%}" for i, g in enumerate(result.gpus))
    console.print(
        f"cpu {result.cpu:.0%} memory {result.memory:.0%} disk {result.disk:.0%}"
        f"{gpus}{extra}: {result.verdict}"
    )
