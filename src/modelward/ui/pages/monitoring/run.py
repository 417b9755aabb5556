"""``/ui/runs/{id}``: one stored run, what it was asked, its verdict and its results (any
run's results as nested tables)."""

from __future__ import annotations

from typing import Any

from modelward.errors import NotFound, RequestError
from modelward.store.plain import json_value, moment
from modelward.ui.pages.monitoring.checks import MONITOR, scalar, strings, text_value
from modelward.ui.pages.monitoring.details import DETAILS
from modelward.ui.view import Page, View

__all__ = ["run_page", "tree"]


#: A run page's stored JSON: items of a list, keys of an object and levels unfolded at most.
MAX_ITEMS = 50
MAX_KEYS = 60
MAX_DEPTH = 5
MAX_RUN_ID = 2**63 - 1


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
                "breaches": strings(results.get("breaches")),
                "warnings": strings(results.get("warnings")),
            },
            "detail": detail,
            "inputs": tree(inputs),
            "results": tree({k: v for k, v in results.items() if k not in shown}),
        },
    )


def _window(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict):
        return None
    return {k: text_value(value.get(k) or "") for k in ("start", "end", "length")}


def tree(value: Any, depth: int = 0) -> dict[str, Any]:
    """Stored JSON as a bounded tree the ``run`` template draws: ``{"type": "dict",
    "items": [(key, tree)], "more": n}``, ``list`` (a ``table`` when its items are objects
    with few keys), ``value`` (a scalar) or ``text`` (JSON too deep to unfold)."""
    if depth >= MAX_DEPTH and isinstance(value, dict | list):
        return {"type": "text", "value": text_value(value)}
    if isinstance(value, dict):
        items = list(value.items())
        return {
            "type": "dict",
            "items": [(text_value(str(k)), tree(v, depth + 1)) for k, v in items[:MAX_KEYS]],
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
            return {"type": "value", "value": ", ".join(scalar(v) for v in shown), "more": more}
        return {"type": "list", "items": [tree(v, depth + 1) for v in shown], "more": more}
    return {"type": "value", "value": scalar(value), "more": 0}
