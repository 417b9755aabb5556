"""``/ui/monitoring/{name}?env=``: each check's history in one environment as time series
with their intervals and thresholds (the newest ``?runs=`` runs of each check).

The figures a chart needs are picked out of the stored JSON by the database
(:class:`~modelward.ui.sql.Json`), so a history of drift runs never loads their histograms."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from modelward.errors import NotFound, RequestError
from modelward.store.plain import moment
from modelward.ui.pages.monitoring.charts import DRAWERS
from modelward.ui.pages.monitoring.checks import ALL, MONITOR, check_order
from modelward.ui.sql import Json
from modelward.ui.view import Page, View

__all__ = ["model_page"]


#: ``?env=``: an environment, or ``all`` for checks run over every environment.
ENVIRONMENTS: dict[str, str | None] = {"production": "production", "staging": "staging"}

#: Stored monitoring runs a model page lists without a chart (reports, runbooks).
OTHERS = ("report", "runbook")
#: A model page: runs per check drawn (``?runs=``), by default and at most.
HISTORY = 100
MAX_HISTORY = 1000


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
        # each check's runs through the runs' (model_id, kind, id) index: never a scan of
        # the model's other runs
        history = {
            check: _history(run, js, model_id, check, condition, params, count)
            for check in sorted(FIELDS, key=check_order)
        }
        others = [
            kind
            for kind in OTHERS
            if run(
                "SELECT 1 FROM runs WHERE model_id = :m AND kind = :kind LIMIT 1",
                {"m": model_id, "kind": MONITOR + kind},
            )
        ]
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
            "others": others,
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
