"""The charts of a check's history on a model's monitoring page: one drawer per check."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from modelward.ui.pages.monitoring.checks import as_float
from modelward.ui.render import chart_values

__all__ = ["DRAWERS"]


#: Series a chart of per-feature figures draws at most (the highest ones).
MAX_SERIES = 8


def _epoch(moments: Iterable[datetime]) -> list[float]:
    return [m.timestamp() for m in moments]


def _chart(
    title: str, runs: list[dict[str, Any]], series: dict[str, list[Any]], **options: Any
) -> dict[str, Any]:
    return {
        "id": "c-" + "".join(ch if ch.isalnum() else "-" for ch in title.lower()),
        "title": title,
        "data": chart_values(
            _epoch(r["at"] for r in runs),
            {k: [as_float(v) for v in vs] for k, vs in series.items()},
            title=title,
            **options,
        ),
    }


def _thresholds(label: str, value: Any) -> dict[str, float]:
    found = as_float(value)
    return {label: found} if found is not None else {}


def _metrics_charts(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One chart per metric: each version's value with its 95 % interval as a band."""
    limits = runs[-1].get("thresholds") or {}
    names: list[str] = []
    versions: list[str] = []
    for r in runs:
        for tag, entry in (r.get("versions") or {}).items():
            if tag not in versions:
                versions.append(tag)
            for metric in (entry or {}).get("metrics") or {}:
                if metric not in names:
                    names.append(metric)
    charts = []
    for metric in names[:10]:
        series: dict[str, list[Any]] = {}
        bands: dict[str, list[str]] = {}
        for tag in versions[:4]:
            got = [((r.get("versions") or {}).get(tag) or {}).get("metrics") or {} for r in runs]
            values = [(g.get(metric) or {}) for g in got]
            series[tag] = [v.get("value") for v in values]
            if any(v.get("low") is not None for v in values):
                series[f"{tag} low"] = [v.get("low") for v in values]
                series[f"{tag} high"] = [v.get("high") for v in values]
                bands[tag] = [f"{tag} low", f"{tag} high"]
        charts.append(
            _chart(
                metric,
                runs,
                series,
                bands=bands,
                thresholds=_thresholds(f"threshold {limits.get(metric)}", limits.get(metric)),
            )  # fmt: skip
        )
    coverage = {
        tag: [((r.get("versions") or {}).get(tag) or {}).get("label_coverage") for r in runs]
        for tag in versions[:4]
    }
    charts.append(_chart("label coverage", runs, coverage))
    return charts


def _drift_charts(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    limit = runs[-1].get("limit")
    return [
        _chart(
            "drifted share of features",
            runs,
            {"drifted share": [r.get("share") for r in runs]},
            thresholds=_thresholds(f"max share {limit}", limit),
        )  # fmt: skip
    ]


def _per_feature(runs: list[dict[str, Any]], figure: str) -> dict[str, list[Any]]:
    """``figure`` of each feature across the runs: the features where it is highest."""
    features: dict[str, list[Any]] = {}
    for i, r in enumerate(runs):
        for feature, entry in (r.get("features") or {}).items():
            column = features.setdefault(feature, [None] * len(runs))
            column[i] = (entry or {}).get(figure)
    peak = {f: max([as_float(v) or 0.0 for v in vs], default=0.0) for f, vs in features.items()}
    chosen = sorted((f for f in features if peak[f] > 0), key=lambda f: -peak[f])[:MAX_SERIES]
    return {f: features[f] for f in chosen}


def _quality_charts(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = runs[-1]
    volumes = [r.get("volume") or {} for r in runs]
    limits = last.get("volume_limits") or []
    return [
        _chart(
            "missing rate per feature", runs, _per_feature(runs, "missing_rate"),
            thresholds=_thresholds(f"max {last.get('max_missing')}", last.get("max_missing")),
        ),
        _chart(
            "out-of-range share per feature", runs, _per_feature(runs, "out_of_range_share"),
            thresholds=_thresholds(f"max {last.get('max_out')}", last.get("max_out")),
        ),
        _chart(
            "volume (rows per window)", runs,
            {"rows": [v.get("rows") for v in volumes],
             "mean of previous windows": [v.get("previous_mean") for v in volumes]},
            unit="rows",
        ),
        _chart(
            "volume against the previous windows", runs,
            {"ratio": [v.get("ratio") for v in volumes]},
            thresholds={
                **_thresholds("low", limits[0] if limits else None),
                **_thresholds("high", limits[1] if len(limits) > 1 else None),
            },
        ),
    ]  # fmt: skip


def _predictions_charts(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    last = runs[-1]
    return [
        _chart(
            "requests", runs,
            {k: [r.get(k) for r in runs] for k in ("predictions", "errors", "rejected")},
            unit="requests",
        ),
        _chart(
            "latency", runs,
            {"p50": [r.get("p50") for r in runs], "p95": [r.get("p95") for r in runs]},
            unit="ms",
            thresholds=_thresholds(f"p95 target {last.get('p95_limit')}", last.get("p95_limit")),
        ),
        _chart(
            "error rate", runs, {"error rate": [r.get("error_rate") for r in runs]},
            thresholds=_thresholds(
                f"max {last.get('max_error_rate')}", last.get("max_error_rate")
            ),
        ),
    ]  # fmt: skip


def _degradation_charts(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    metric = str(runs[-1].get("metric") or "accuracy")
    current = [r.get("current") or {} for r in runs]
    values = [c.get(metric, c.get("accuracy", c.get("mae"))) for c in current]
    ci = [c.get("ci") or [None, None] for c in current]
    limit = runs[-1].get("threshold") if metric == "accuracy" else None
    return [
        _chart(
            f"{metric} in the window",
            runs,
            {metric: values, "low": [c[0] for c in ci], "high": [c[1] for c in ci]},
            bands={metric: ["low", "high"]},
            thresholds=_thresholds(f"threshold {limit}", limit),
        )  # fmt: skip
    ]


def _review_charts(runs: list[dict[str, Any]]) -> list[dict[str, Any]]:
    figures = ("reviewed", "misclassified", "low_confidence")
    return [_chart("reviewed predictions", runs, {k: [r.get(k) for r in runs] for k in figures})]


DRAWERS: dict[str, Callable[[list[dict[str, Any]]], list[dict[str, Any]]]] = {
    "metrics": _metrics_charts,
    "drift": _drift_charts,
    "quality": _quality_charts,
    "predictions": _predictions_charts,
    "degradation": _degradation_charts,
    "review": _review_charts,
}
