"""Alerts: open and resolved, a page at a time, and resolving one by hand.

``/ui/alerts`` lists alerts latest first (``?state=open|resolved|all``, ``?level=``,
``?model=``) with their level, check, model, message, first and last time seen and how
many times they fired. ``POST /ui/alerts/{id}/resolve`` calls what
``modelward monitor alerts --resolve ID`` calls (``Workspace.monitor.alerts.resolve``), so
the resolution is stored and sent to the alert sinks alike.
"""

from __future__ import annotations

import re
from typing import Any

from modelward.alerting.alerts import ALERT_LEVELS
from modelward.errors import ConflictError, NotFound
from modelward.store.plain import json_value, moment
from modelward.ui.filters import choice, model_id
from modelward.ui.view import Page, PageRoute, Redirect, View

__all__ = ["ROUTES"]

STATES = ("open", "resolved", "all")
ACTIONS = ("resolve",)
_ID = re.compile(r"[0-9]{1,18}")
_COLUMNS = (
    'SELECT a.id, a.level, a."check", m.name, a.message, a.details, a.first_at, a.last_at, '
    "a.count, a.resolved_at FROM alerts a LEFT JOIN models m ON a.model_id = m.id"
)


def alert_id(text: str | None) -> int:
    """An alert id from the path; NotFound for anything but a positive whole number."""
    if text is None or not _ID.fullmatch(text) or int(text) == 0:
        shown = (text or "")[:40]
        raise NotFound(f"no alert {shown!r}: an alert id is a number; see /ui/alerts")
    return int(text)


def alerts(view: View) -> Page:
    limit, offset = view.paging()
    state = choice(view, "state", STATES, "open")
    level = choice(view, "level", ALERT_LEVELS, None)
    model = view.arg("model")
    where: list[str] = []
    params: dict[str, Any] = {"limit": limit, "offset": offset}
    if state == "open":
        where.append("a.resolved_at IS NULL")
    elif state == "resolved":
        where.append("a.resolved_at IS NOT NULL")
    if level is not None:
        where.append("a.level = :level")
        params["level"] = level
    with view.ws.sql.snapshot() as run:
        if model is not None:
            where.append("a.model_id = :model")
            params["model"] = model_id(run, model)
        clause = (" WHERE " + " AND ".join(where)) if where else ""
        total = run(f"SELECT COUNT(*) FROM alerts a{clause}", params)[0][0]
        rows = run(
            f"{_COLUMNS}{clause} ORDER BY a.last_at DESC, a.id DESC LIMIT :limit OFFSET :offset",
            params,
        )
        counts = run("SELECT level, COUNT(*) FROM alerts WHERE resolved_at IS NULL GROUP BY level")
    return Page(
        "alerts.html.j2",
        "Alerts",
        {
            "alerts": [_alert(row) for row in rows],
            "total": total,
            "limit": limit,
            "offset": offset,
            "state": state,
            "level": level,
            "model": model,
            "states": STATES,
            "levels": ALERT_LEVELS,
            "open": dict(counts),
        },
    )


def _alert(row: tuple[Any, ...]) -> dict[str, Any]:
    ident, level, check, model, message, details, first, last, count, resolved = row
    details = json_value(details) or {}
    run = details.get("run_id")
    return {
        "id": ident,
        "level": level,
        "check": check,
        "model": model,
        "message": message,
        "source": details.get("source"),
        "environment": details.get("environment"),
        "run": run if isinstance(run, int) else None,
        "rollout": details.get("rollout") if isinstance(details.get("rollout"), int) else None,
        "first_at": moment(first),
        "last_at": moment(last),
        "count": count,
        "resolved_at": moment(resolved) if resolved else None,
    }


def act(view: View) -> Redirect:
    """resolve: what ``modelward monitor alerts --resolve ID`` calls."""
    action = view.params.get("action", "")
    if action not in ACTIONS:
        raise NotFound(
            f"no alert action {action[:30]!r}; use one of {', '.join(ACTIONS)}", field="action"
        )
    ident = alert_id(view.params.get("id"))
    found = view.ws.sql.rows("SELECT resolved_at FROM alerts WHERE id = :id", {"id": ident})
    if not found:
        raise NotFound(f"no alert #{ident}; see /ui/alerts")
    if found[0][0] is not None:
        raise ConflictError(
            f"alert #{ident} was resolved already, at "
            f"{moment(found[0][0]):%Y-%m-%d %H:%M:%S} UTC; nothing to do"
        )
    view.ws.monitor.alerts.resolve(ident)
    return Redirect("/ui/alerts")


ROUTES = [
    PageRoute("/alerts", alerts),
    PageRoute("/alerts/{id}/{action}", act, action=True),
]
