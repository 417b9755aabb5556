"""A check's run drilled into on its run page: drift per feature with its histograms,
quality per feature, metrics per version, degradation slices, the reviewed predictions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelward.ui.pages.monitoring.checks import MAX_ROWS, as_float, scalar, strings, text_value
from modelward.ui.render import chart_values

__all__ = ["DETAILS"]


#: A run page: features drawn with a histogram at most.
MAX_HISTOGRAMS = 40


def _dict(value: Any) -> dict[str, Any]:
    """A stored value that should be an object (an empty one when it is not)."""
    return value if isinstance(value, dict) else {}


def _drift_detail(results: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    """The per-feature table and the reference-vs-current histograms."""
    features = _dict(results.get("features"))
    rows = []
    for feature, entry in list(features.items())[:MAX_ROWS]:
        entry = _dict(entry)
        rows.append(
            {
                "feature": str(feature),
                **{
                    k: entry.get(k)
                    for k in (
                        "kind",
                        "method",
                        "statistic",
                        "p_value",
                        "threshold",
                        "drifted",
                        "reference_rows",
                        "current_rows",
                        "note",
                    )
                },  # fmt: skip
            }
        )
    ordered = sorted(rows, key=lambda r: (not r["drifted"], r["feature"]))
    charts = [
        c
        for i, r in enumerate(ordered[:MAX_HISTOGRAMS])
        if (c := _histogram(i, str(r["feature"]), features[str(r["feature"])])) is not None
    ]
    return {
        "kind": "drift",
        "features": rows,
        "histograms": charts,
        "summary": {
            "drifted share": results.get("drifted_share"),
            "max drifted share": inputs.get("max_drifted_share"),
            "rows": results.get("rows"),
            "compared with": inputs.get("compare_to"),
        },
        "shown": ("features", "breaches", "warnings", "drifted_share", "rows", "drifted"),
    }


def _histogram(index: int, feature: str, entry: Any) -> dict[str, Any] | None:
    hist = entry.get("histogram") if isinstance(entry, dict) else None
    if not isinstance(hist, dict):
        return None
    ref, cur = hist.get("reference") or [], hist.get("current") or []
    series = {"reference": [as_float(v) for v in ref], "current": [as_float(v) for v in cur]}
    verdict = "drifted" if entry.get("drifted") else "no drift"
    if isinstance(hist.get("edges"), list) and len(hist["edges"]) == len(ref) + 1 == len(cur) + 1:
        edges = [float(e) for e in hist["edges"]]
        x = [(a + b) / 2 for a, b in zip(edges[:-1], edges[1:], strict=True)]
        options: dict[str, Any] = {}
    elif isinstance(hist.get("labels"), list) and len(hist["labels"]) == len(ref) == len(cur):
        x = [float(i) for i in range(len(ref))]
        options = {"labels": [str(label) for label in hist["labels"]]}
    else:
        return None
    title = f"{feature} ({verdict})"
    return {
        "id": f"histogram-{index}",
        "title": title,
        "outside": (hist.get("current_below_range"), hist.get("current_above_range")),
        "data": chart_values(
            x, series, title=title, time=False, bars=True, unit="share", **options
        ),
    }


#: The figures of a feature the quality table shows.
QUALITY = (
    "kind", "absent", "missing_rate", "missing", "reference_missing_rate", "out_of_range",
    "out_of_range_share", "range", "zero_share", "unseen_share",
)  # fmt: skip


def _quality_detail(results: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    features = _dict(results.get("features"))
    rows = [
        {"feature": str(f), **{k: _dict(e).get(k) for k in QUALITY}}
        for f, e in list(features.items())[:MAX_ROWS]
    ]
    volume = _dict(results.get("volume"))
    return {
        "kind": "quality",
        "features": rows,
        "limits": {
            "missing": inputs.get("max_missing_rate"),
            "out_of_range": inputs.get("max_out_of_range_share"),
            "zeros": inputs.get("max_zero_share"),
            "unseen": inputs.get("max_unseen_share"),
        },
        "summary": {
            "rows with inputs": results.get("rows"),
            "rejected or failed": results.get("rejected_or_failed"),
            "volume": volume.get("rows"),
            "mean of previous windows": volume.get("previous_mean"),
            "volume ratio": volume.get("ratio"),
            "absent features": strings(results.get("absent")) or None,
            "extra columns": strings(results.get("extra_columns")) or None,
        },
        "shown": ("features", "breaches", "warnings", "rows", "rejected_or_failed"),
    }


def _metrics_detail(results: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    limits = _dict(inputs.get("thresholds"))
    versions = []
    for tag, entry in list((results.get("versions") or {}).items())[:20]:
        entry = _dict(entry)
        metrics = _dict(entry.get("metrics"))
        versions.append(
            {
                "tag": str(tag),
                "predictions": entry.get("predictions"),
                "labelled": entry.get("labelled"),
                "coverage": entry.get("label_coverage"),
                "status": entry.get("status"),
                "reason": entry.get("reason"),
                "metrics": [_metric(str(n), m, limits.get(n)) for n, m in metrics.items()],
            }
        )
    return {"kind": "metrics", "versions": versions, "shown": ("versions", "breaches", "warnings")}


def _metric(name: str, found: Any, threshold: Any) -> dict[str, Any]:
    found = _dict(found)
    figures = {k: found.get(k) for k in ("value", "low", "high", "status", "note")}
    return {"name": name, "threshold": threshold, **figures}


def _degradation_detail(results: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "kind": "degradation",
        "timeline": _records(results.get("timeline")),
        "slices": _records(results.get("slices")),
        "error_features": _records(results.get("error_features")),
        "shown": ("timeline", "slices", "error_features", "breaches", "warnings"),
    }


def _review_detail(results: dict[str, Any], inputs: dict[str, Any]) -> dict[str, Any]:
    items = []
    for item in (results.get("items") or [])[:MAX_ROWS]:
        if not isinstance(item, dict):
            continue
        contributions = item.get("contributions")
        contributions = _dict(contributions)
        items.append(
            {
                **{
                    k: item.get(k)
                    for k in (
                        "request_id",
                        "ts",
                        "version",
                        "prediction",
                        "label",
                        "score",
                        "confidence",
                        "why",
                        "error",
                    )
                },
                "contributions": [(str(f), v) for f, v in list(contributions.items())[:5]],
                "inputs": text_value(
                    ", ".join(f"{k}={scalar(v)}" for k, v in _dict(item.get("inputs")).items())
                ),
            }  # fmt: skip
        )
    return {
        "kind": "review",
        "items": items,
        "patterns": _records(results.get("patterns")),
        "shown": ("items", "patterns", "breaches", "warnings"),
    }


def _records(value: Any) -> dict[str, Any]:
    """A list of objects as a table: its columns (their keys) and rows."""
    rows = [v for v in value[:MAX_ROWS] if isinstance(v, dict)] if isinstance(value, list) else []
    columns: list[str] = []
    for row in rows:
        columns.extend(str(k) for k in row if str(k) not in columns)
    return {"columns": columns[:15], "rows": rows, "more": max(len(value or []) - len(rows), 0)}


DETAILS: dict[str, Callable[[dict[str, Any], dict[str, Any]], dict[str, Any]]] = {
    "drift": _drift_detail,
    "quality": _quality_detail,
    "metrics": _metrics_detail,
    "degradation": _degradation_detail,
    "review": _review_detail,
}
