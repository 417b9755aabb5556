"""The monitoring report: one self-contained HTML file (opens offline: figures are PNGs
embedded as data URIs, no scripts, no external CSS) and the same content as JSON.

Sections: metric time series against thresholds (per day, with CIs), per-feature drift
with reference vs current histograms, the data-quality table, degradation slices, alerts.
"""

from __future__ import annotations

import base64
import functools
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.atomic import write_atomic
from modelward.monitoring.checks import Degradation, Drift, Metrics, Quality
from modelward.monitoring.result import CheckResult
from modelward.monitoring.series import metric_series
from modelward.present import dump_json
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.monitoring.monitor import Monitor

__all__ = ["build_report", "publish_report", "render_html", "write_report"]


def build_report(
    monitor: Monitor,
    name: str,
    *,
    last: str = "7d",
    until: str | None = None,
    environment: str | None = "production",
    checks: list[CheckResult] | None = None,
) -> dict[str, Any]:
    """The report's content as plain JSON-able data (checks are run unless given; a
    report describes: it stores nothing and pages no one)."""
    context = monitor.context(Metrics(), name, last, until, environment)
    assert context.model is not None and context.window is not None
    if checks is None:
        checks = [
            monitor.run(check, name, last=last, until=until, environment=environment,
                        record=False, alert=False)
            for check in (Metrics(), Drift(), Quality(), Degradation())
        ]  # fmt: skip
    series = (
        metric_series(context)
        if context.model.task != "text-generation"
        else {"metrics": [], "thresholds": {}, "step": "1d", "points": []}
    )
    alerts = [a.to_dict() for a in monitor.alerts.list(model=name, include_resolved=True, limit=50)]
    return {
        "model": name,
        "window": context.window.to_dict(),
        "environment": environment,
        "generated_at": utcnow().isoformat(),
        "verdict": "fail" if any(c.failed for c in checks) else "pass",
        "checks": {c.check: c.to_dict() for c in checks},
        "series": series,
        "alerts": alerts,
    }


def publish_report(
    monitor: Monitor,
    name: str,
    *,
    out: str | Path | None = None,
    include_plots: bool = True,
    **window: Any,
) -> dict[str, Any]:
    """:func:`build_report` written (HTML and JSON, ``out`` or
    ``<workspace>/reports/<name>-<time>.html``) and stored as a ``monitor-report`` run."""
    report = build_report(monitor, name, **window)
    target = out or monitor.ws.layout.reports / f"{name}-{utcnow():%Y%m%dT%H%M%S}.html"
    html_path, json_path = write_report(report, target, include_plots=include_plots)
    files = {"html": str(html_path), "json": str(json_path)}
    run = monitor.ws.catalog.record_run(
        "monitor-report",
        model=name,
        version=None,
        inputs={"window": report["window"], "environment": report["environment"]},
        results={
            "files": files,
            "checks": {k: v["verdict"] for k, v in report["checks"].items()},
            "breaches": [],
        },
        verdict="info",
    )
    return {**report, "files": files, "run_id": run.id}


# -- figures --------------------------------------------------------------------------------


def _png(figure: Any) -> str:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80, bbox_inches="tight")
    import matplotlib.pyplot as plt

    plt.close(figure)
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def _figures(report: dict[str, Any]) -> dict[str, Any]:
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    figures: dict[str, Any] = {"metrics": {}, "drift": {}}
    points = report["series"]["points"]
    for metric in report["series"]["metrics"]:
        xs = [p["start"][:13] for p in points]
        ys = [p["metrics"][metric]["value"] for p in points]
        if not any(y is not None for y in ys):
            continue
        fig, ax = plt.subplots(figsize=(6, 2.4))
        ax.plot(xs, [y if y is not None else float("nan") for y in ys], marker="o")
        lows = [p["metrics"][metric]["low"] for p in points]
        highs = [p["metrics"][metric]["high"] for p in points]
        if all(v is not None for v in lows + highs):
            ax.fill_between(xs, lows, highs, alpha=0.2)
        limit = report["series"]["thresholds"].get(metric)
        if limit is not None:
            ax.axhline(limit, color="red", linestyle="--", label=f"threshold {limit}")
            ax.legend(loc="lower left", fontsize=7)
        ax.set_title(metric, fontsize=9)
        ax.tick_params(axis="x", labelrotation=45, labelsize=6)
        figures["metrics"][metric] = _png(fig)
    drift = report["checks"].get("drift", {}).get("results", {}).get("features", {})
    for feature, entry in drift.items():
        hist = entry.get("histogram")
        if not hist:
            continue
        fig, ax = plt.subplots(figsize=(4, 2.2))
        if "edges" in hist:
            edges = hist["edges"]
            centres = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
            width = (edges[1] - edges[0]) * 0.45 if len(edges) > 1 else 0.4
            ax.bar(
                [c - width / 2 for c in centres], hist["reference"], width=width, label="reference"
            )
            ax.bar([c + width / 2 for c in centres], hist["current"], width=width, label="current")
        else:
            idx = list(range(len(hist["labels"])))
            ax.bar([i - 0.2 for i in idx], hist["reference"], width=0.4, label="reference")
            ax.bar([i + 0.2 for i in idx], hist["current"], width=0.4, label="current")
            ax.set_xticks(idx, hist["labels"], fontsize=7)
        ax.set_title(f"{feature} ({'drift' if entry.get('drifted') else 'no drift'})", fontsize=9)
        ax.legend(fontsize=6)
        figures["drift"][feature] = _png(fig)
    return figures


def render_html(report: dict[str, Any], *, include_plots: bool = True) -> str:
    from jinja2 import Environment, PackageLoader, select_autoescape

    env = Environment(
        loader=PackageLoader("modelward.monitoring", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        bytecode_cache=_bytecode_cache(),
    )
    env.filters["num"] = _num
    template = env.get_template("report.html.j2")
    figures = _figures(report) if include_plots else {"metrics": {}, "drift": {}}
    return template.render(report=report, figures=figures, include_plots=include_plots)


@functools.cache
def _bytecode_cache() -> Any:
    """Jinja's cache of compiled templates in the user's own folder of the temp directory
    (Jinja makes it 0700 and refuses one that another user owns): compiling the report's
    template is ~40 ms of every report. None where there is no such folder; a cache that
    cannot be written is passed over, never a failed report. Made once a process."""
    from jinja2 import FileSystemBytecodeCache

    class _Kept(FileSystemBytecodeCache):
        def dump_bytecode(self, bucket: Any) -> None:
            try:
                super().dump_bytecode(bucket)
            except OSError:
                pass  # a full or read-only temp directory: compiled again next time

    try:
        return _Kept()
    except (OSError, RuntimeError):  # RuntimeError: Jinja found the folder unsafe
        return None


def _num(value: Any, digits: int = 3) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def write_report(
    report: dict[str, Any], out: str | Path, *, include_plots: bool = True
) -> tuple[Path, Path]:
    """``out`` (.html) and the same content as JSON next to it; temp name then rename."""
    html_path = Path(out)
    if html_path.suffix.lower() != ".html":
        html_path = html_path.with_suffix(".html")
    json_path = html_path.with_suffix(".json")
    html_path.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(html_path, render_html(report, include_plots=include_plots))
    write_atomic(json_path, dump_json(report))
    return html_path, json_path
