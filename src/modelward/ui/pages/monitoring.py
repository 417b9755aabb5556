"""Monitoring: the stored results of the checks, and any one stored run.

- ``/ui/monitoring``: every model (a page of them) by environment with the latest result
  of each check, and the machine's last resources check.
- ``/ui/monitoring/{name}?env=``: each check's history in one environment as time series
  with their intervals and thresholds (the newest ``?runs=`` runs of each check).
- ``/ui/runs/{id}``: one stored run; a check's run drilled into (drift per feature with
  its histograms, quality per feature, metrics per version, degradation slices, the
  reviewed predictions), any other run's results as nested tables.

Pages read the ``runs`` table only, never the prediction log and never a check run
anew. The figures a chart needs are picked out of the stored JSON by the database
(:func:`_json`), so a history of drift runs never loads their histograms.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from modelward.errors import NotFound, RequestError
from modelward.redact import redact
from modelward.store.plain import json_value, moment
from modelward.ui.render import chart_values
from modelward.ui.sql import Json
from modelward.ui.view import Page, PageRoute, View

__all__ = ["ROUTES"]

MONITOR = "monitor-"
#: The checks of a model, in the order the pages show them.
CHECKS = ("metrics", "drift", "quality", "predictions", "degradation", "review")
#: ``?env=``: an environment, or ``all`` for checks run over every environment.
ENVIRONMENTS: dict[str, str | None] = {"production": "production", "staging": "staging"}
ALL = "all"
#: A monitoring report's run: a summary of checks, not a check of its own.
REPORT = "monitor-report"
#: The overview: models per page, and the newest monitoring runs of each model read for
#: the latest result of each check and environment.
MODELS_PER_PAGE = 25
RECENT_RUNS = 40
#: A model page: runs per check drawn (``?runs=``), by default and at most.
HISTORY = 100
MAX_HISTORY = 1000
#: A run page: features with a histogram, rows of a table, items of a generic list.
MAX_HISTOGRAMS = 40
MAX_ROWS = 500
MAX_ITEMS = 50
MAX_KEYS = 60
MAX_TEXT = 400
MAX_DEPTH = 5
#: Series a chart of per-feature figures draws at most (the highest ones).
MAX_SERIES = 8
MAX_RUN_ID = 2**63 - 1


# -- SQL on the stored JSON -------------------------------------------------------------------


def _environment(view: View) -> tuple[str, str | None]:
    label = view.arg("env", "production") or "production"
    if label == ALL:
        return ALL, None
    if label not in ENVIRONMENTS:
        raise RequestError(
            f"?env= must be production, staging or all, not {label[:40]!r}", field="env"
        )
    return label, ENVIRONMENTS[label]


def _model(run: Any, name: str) -> tuple[int, str]:
    rows = run("SELECT id, task FROM models WHERE name = :name", {"name": name})
    if not rows:
        raise NotFound(f"no model {name[:100]!r}; see /ui/monitoring", field="name")
    return int(rows[0][0]), str(rows[0][1])


# -- /ui/monitoring ---------------------------------------------------------------------------


def overview(view: View) -> Page:
    """Every model of the page by environment, with the latest result of each check."""
    limit = view.number("limit", MODELS_PER_PAGE, high=100)
    page = view.number("page", 1, high=100_000)
    offset = (page - 1) * limit
    js = Json(view.ws.sql.dialect)
    env = js.text("inputs", "environment")
    with view.ws.sql.snapshot() as run:
        total = run("SELECT COUNT(*) FROM models")[0][0]
        models = run(
            "SELECT id, name, task FROM models ORDER BY name LIMIT :limit OFFSET :offset",
            {"limit": limit, "offset": offset},
        )
        latest: dict[int, dict[tuple[str | None, str], tuple[Any, ...]]] = {}
        for model_id, _, _ in models:
            found: dict[tuple[str | None, str], tuple[Any, ...]] = {}
            for row in run(
                f"SELECT id, kind, {env}, verdict, created_at FROM runs WHERE model_id = :m "
                "AND kind LIKE :monitor ORDER BY id DESC LIMIT :n",
                {"m": model_id, "monitor": MONITOR + "%", "n": RECENT_RUNS},
            ):
                if row[1] != REPORT:
                    found.setdefault((row[2], row[1].removeprefix(MONITOR)), row)
            latest[model_id] = found
        why = _breaches(run, js, [r[0] for f in latest.values() for r in f.values()])
        resources = run(
            f"SELECT id, verdict, created_at, {js.part('results', 'cpu')}, "
            f"{js.part('results', 'memory')}, {js.part('results', 'disk')} FROM runs "
            "WHERE kind = :kind ORDER BY id DESC LIMIT 1",
            {"kind": MONITOR + "resources"},
        )
    rows = []
    for model_id, name, task in models:
        found = latest[model_id]
        checks = sorted({check for _, check in found}, key=_check_order)
        envs = sorted({e for e, _ in found}, key=lambda e: (e is None, e != "production", e))
        cells = [
            {
                "environment": e,
                "env": e if e is not None else ALL,
                "checks": {c: _latest(found[(e, c)], why) for c in checks if (e, c) in found},
            }
            for e in envs
        ]
        rows.append({"name": name, "task": task, "environments": cells})
    shown = [c for c in CHECKS if any(c in e["checks"] for r in rows for e in r["environments"])]
    shown += sorted({c for r in rows for e in r["environments"] for c in e["checks"]} - set(shown))
    return Page(
        "monitoring.html.j2",
        "Monitoring",
        {
            "models": rows,
            "checks": shown,
            "total": total,
            "limit": limit,
            "offset": offset,
            "recent": RECENT_RUNS,
            "resources": _resources(resources[0], js) if resources else None,
        },
    )


def _check_order(check: str) -> tuple[int, str]:
    return (CHECKS.index(check) if check in CHECKS else len(CHECKS), check)


def _breaches(run: Any, js: Json, ids: list[int]) -> dict[int, list[str]]:
    """The breaches of the runs ``ids`` that have some (one query)."""
    if not ids:
        return {}
    listed = ", ".join(str(int(i)) for i in ids)
    return {
        int(run_id): [_short(_text(b), 200) for b in (js.value(found) or [])][:2]
        for run_id, found in run(
            f"SELECT id, {js.part('results', 'breaches')} FROM runs WHERE id IN ({listed}) "
            "AND verdict <> 'pass'"
        )
    }


def _short(text: str, size: int) -> str:
    return text if len(text) <= size else text[: size - 1] + "…"


def _latest(row: tuple[Any, ...], why: dict[int, list[str]]) -> dict[str, Any]:
    run_id, _, _, verdict, created_at = row
    return {"id": run_id, "verdict": verdict, "at": moment(created_at), "why": why.get(run_id, [])}


def _resources(row: tuple[Any, ...], js: Json) -> dict[str, Any]:
    run_id, verdict, created_at, cpu, memory, disk = row
    return {
        "id": run_id,
        "verdict": verdict,
        "at": moment(created_at),
        "usage": {"cpu": js.value(cpu), "memory": js.value(memory), "disk": js.value(disk)},
    }


# -- /ui/monitoring/{name} --------------------------------------------------------------------

#: What a model page reads of each check's runs: (label, column, JSON path).
FIELDS: dict[str, list[tuple[str, str, tuple[str, ...]]]] = {
    "metrics": [
        ("versions", "results", ("versions",)),
        ("thresholds", "inputs", ("thresholds",)),
    ],
    "drift": [
        ("share", "results", ("drifted_share",)),
        ("drifted", "results", ("drifted",)),
        ("limit", "inputs", ("max_drifted_share",)),
    ],
    "quality": [
        ("features", "results", ("features",)),
        ("volume", "results", ("volume",)),
        ("max_missing", "inputs", ("max_missing_rate",)),
        ("max_out", "inputs", ("max_out_of_range_share",)),
        ("volume_limits", "inputs", ("volume",)),
    ],
    "predictions": [
        ("predictions", "results", ("predictions",)),
        ("errors", "results", ("errors",)),
        ("rejected", "results", ("rejected",)),
        ("error_rate", "results", ("error_rate",)),
        ("p50", "results", ("latency_p50_ms",)),
        ("p95", "results", ("latency_p95_ms",)),
        ("p95_limit", "inputs", ("latency_p95_ms",)),
        ("max_error_rate", "inputs", ("max_error_rate",)),
    ],
    "degradation": [
        ("metric", "results", ("metric",)),
        ("current", "results", ("current",)),
        ("threshold", "results", ("threshold",)),
        ("allowance", "results", ("allowance",)),
    ],
    "review": [
        ("rows", "results", ("rows",)),
        ("reviewed", "results", ("reviewed",)),
        ("misclassified", "results", ("misclassified",)),
        ("low_confidence", "results", ("low_confidence",)),
    ],
}


def model_page(view: View) -> Page:
    """One model's checks in one environment: each check's history as charts."""
    name = view.params["name"]
    label, env = _environment(view)
    count = view.number("runs", HISTORY, high=MAX_HISTORY)
    js = Json(view.ws.sql.dialect)
    condition, params = js.environment(env)
    with view.ws.sql.snapshot() as run:
        model_id, task = _model(run, name)
        kinds = [
            str(k).removeprefix(MONITOR)
            for (k,) in run(
                "SELECT DISTINCT kind FROM runs WHERE model_id = :m AND kind LIKE :monitor",
                {"m": model_id, "monitor": MONITOR + "%"},
            )
        ]
        history = {
            check: _history(run, js, model_id, check, condition, params, count)
            for check in sorted(kinds, key=_check_order)
            if check in FIELDS
        }
    history = {check: runs for check, runs in history.items() if runs}
    sections = [_section(check, runs) for check, runs in history.items()]
    recent = sorted((r for runs in history.values() for r in runs[-20:]), key=lambda r: -r["id"])[
        :20
    ]
    return Page(
        "monitoring_model.html.j2",
        f"Monitoring {name} ({label})",
        {
            "name": name,
            "task": task,
            "env": label,
            "environments": [*ENVIRONMENTS, ALL],
            "count": count,
            "sections": sections,
            "recent": recent,
            "others": sorted(set(kinds) - set(FIELDS)),
        },
    )


def _history(
    run: Any,
    js: Json,
    model_id: int,
    check: str,
    condition: str,
    params: dict[str, Any],
    count: int,
) -> list[dict[str, Any]]:
    """The newest ``count`` runs of ``check`` in the environment, oldest first."""
    fields = FIELDS[check]
    picked = ", ".join(js.part(column, *path) for _, column, path in fields)
    rows = run(
        f"SELECT id, created_at, verdict, version, {picked}, "
        f"{js.part('results', 'breaches')} FROM runs WHERE model_id = :m AND kind = :kind "
        f"AND {condition} ORDER BY id DESC LIMIT :n",
        {"m": model_id, "kind": MONITOR + check, "n": count, **params},
    )
    out = []
    for row in reversed(rows):
        entry = {"id": row[0], "at": moment(row[1]), "verdict": row[2], "version": row[3]}
        entry.update(
            {label: js.value(v) for (label, _, _), v in zip(fields, row[4:], strict=False)}
        )
        entry["breaches"] = js.value(row[-1]) or []
        entry["check"] = check
        out.append(entry)
    return out


def _epoch(moments: Iterable[datetime]) -> list[float]:
    return [m.timestamp() for m in moments]


def _number(value: Any) -> float | None:
    """A stored figure as a float for a chart (None for anything else)."""
    kind = type(value)  # not isinstance: a bool is no figure
    if kind is float:
        return value if math.isfinite(value) else None
    return float(value) if kind is int else None


def _section(check: str, runs: list[dict[str, Any]]) -> dict[str, Any]:
    draw: Callable[[list[dict[str, Any]]], list[dict[str, Any]]] = DRAWERS[check]
    last = runs[-1]
    return {
        "check": check,
        "runs": len(runs),
        "last": last,
        "charts": draw(runs),
        "failing": sum(1 for r in runs if r["verdict"] in ("fail", "insufficient")),
    }


def _chart(
    title: str, runs: list[dict[str, Any]], series: dict[str, list[Any]], **options: Any
) -> dict[str, Any]:
    return {
        "id": "c-" + "".join(ch if ch.isalnum() else "-" for ch in title.lower()),
        "title": title,
        "data": chart_values(
            _epoch(r["at"] for r in runs),
            {k: [_number(v) for v in vs] for k, vs in series.items()},
            title=title,
            **options,
        ),
    }


def _thresholds(label: str, value: Any) -> dict[str, float]:
    found = _number(value)
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
    peak = {f: max([_number(v) or 0.0 for v in vs], default=0.0) for f, vs in features.items()}
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


# -- /ui/runs/{id} ----------------------------------------------------------------------------


def run_page(view: View) -> Page:
    """One stored run: what it was asked, its verdict, and its results."""
    text = view.params["id"]
    if not text.isdigit() or int(text) > MAX_RUN_ID:
        raise RequestError(
            f"a run is named by its number, not {text[:40]!r}; see /ui/monitoring", field="id"
        )
    with view.ws.sql.snapshot() as run:
        rows = run(
            "SELECT r.id, r.kind, m.name, r.version, r.inputs, r.results, r.verdict, r.actor, "
            "r.created_at FROM runs r LEFT JOIN models m ON r.model_id = m.id WHERE r.id = :id",
            {"id": int(text)},
        )
    if not rows:
        raise NotFound(f"no run #{int(text)}; see /ui/monitoring or `modelward runs list`")
    run_id, kind, model, version, inputs, results, verdict, actor, created_at = rows[0]
    inputs = json_value(inputs) or {}
    results = json_value(results) or {}
    check = kind.removeprefix(MONITOR) if kind.startswith(MONITOR) else None
    detail = DETAILS[check](results, inputs) if check in DETAILS else {"kind": None}
    shown = tuple(detail.get("shown") or ("breaches", "warnings"))
    return Page(
        "run.html.j2",
        f"Run #{run_id} {kind}",
        {
            "run": {
                "id": run_id,
                "kind": kind,
                "check": check,
                "model": model,
                "version": version,
                "verdict": verdict,
                "actor": actor,
                "at": moment(created_at),
                "environment": inputs.get("environment"),
                "window": _window(inputs.get("window")),
                "breaches": _strings(results.get("breaches")),
                "warnings": _strings(results.get("warnings")),
            },
            "detail": detail,
            "inputs": tree(inputs),
            "results": tree({k: v for k, v in results.items() if k not in shown}),
        },
    )


def _dict(value: Any) -> dict[str, Any]:
    """A stored value that should be an object (an empty one when it is not)."""
    return value if isinstance(value, dict) else {}


def _window(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {k: _text(value.get(k) or "") for k in ("start", "end", "length")}


def _strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [_text(v) for v in value[:MAX_ROWS]]


def _text(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = redact(text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


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
    series = {"reference": [_number(v) for v in ref], "current": [_number(v) for v in cur]}
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
            "absent features": _strings(results.get("absent")) or None,
            "extra columns": _strings(results.get("extra_columns")) or None,
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
                "inputs": _text(
                    ", ".join(f"{k}={_scalar(v)}" for k, v in _dict(item.get("inputs")).items())
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


def tree(value: Any, depth: int = 0) -> dict[str, Any]:
    """Stored JSON as a bounded tree the ``run`` template draws: ``{"type": "dict",
    "items": [(key, tree)], "more": n}``, ``list`` (a ``table`` when its items are objects
    with few keys), ``value`` (a scalar) or ``text`` (JSON too deep to unfold)."""
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return {"type": "text", "value": _text(value)}
    if isinstance(value, dict):
        items = list(value.items())
        return {
            "type": "dict",
            "items": [(_text(str(k)), tree(v, depth + 1)) for k, v in items[:MAX_KEYS]],
            "more": max(len(items) - MAX_KEYS, 0),
        }
    if isinstance(value, list):
        shown = value[:MAX_ITEMS]
        more = max(len(value) - MAX_ITEMS, 0)
        if shown and all(isinstance(v, dict) for v in shown):
            columns: list[str] = []
            for v in shown:
                columns.extend(str(k) for k in v if str(k) not in columns)
            if len(columns) <= 12:
                return {
                    "type": "table",
                    "columns": columns,
                    "rows": [[tree(v.get(c), depth + 2) for c in columns] for v in shown],
                    "more": more,
                }
        if all(not isinstance(v, dict | list) for v in shown):
            return {"type": "value", "value": ", ".join(_scalar(v) for v in shown), "more": more}
        return {"type": "list", "items": [tree(v, depth + 1) for v in shown], "more": more}
    return {"type": "value", "value": _scalar(value), "more": 0}


def _scalar(value: Any) -> str:
    from modelward.present import fmt

    if value is None:
        return "null"
    return _text(fmt(value))


ROUTES = [
    PageRoute("/monitoring", overview),
    PageRoute("/monitoring/{name}", model_page),
    PageRoute("/runs/{id}", run_page),
]
