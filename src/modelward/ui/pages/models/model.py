"""``/models/{name}``: the versions (a page of them: stage, task, flavor, headline metrics
with their intervals, aliases), where it is deployed, its reports and cards, and its
history timeline (a page of events, filterable by kind with ``?kind=``)."""

from __future__ import annotations

from typing import Any

from modelward.errors import RequestError
from modelward.store.plain import json_value, moment
from modelward.ui.pages.models.lookup import find_model, model_name
from modelward.ui.pages.reports import listed, report_files
from modelward.ui.view import Page, View

__all__ = ["headline", "model_page"]


#: How many metrics a version's row shows (held-out ones first, as `models show` does).
HEADLINE = 3

#: How many of the workspace's latest monitoring-report runs the model page looks through.
RECENT_REPORTS = 200
#: How many of a model's latest events the history's kind links are gathered from.
RECENT_EVENTS = 2000


def model_page(view: View) -> Page:
    name = model_name(view)
    limit, offset = view.paging()
    vlimit = view.number("vlimit", 20, high=200)
    voffset = (view.number("vpage", 1, high=100_000) - 1) * vlimit
    kind = view.arg("kind")
    with view.ws.sql.snapshot() as run:
        model_id, _, task, description, tags, created_at, created_by = find_model(run, name)
        ids = {"m": model_id}
        kinds = _kinds(run, model_id, kind)
        total_versions = run("SELECT COUNT(*) FROM model_versions WHERE model_id = :m", ids)[0][0]
        versions = run(
            "SELECT id, version, kind, flavor, stage, metrics, created_at, created_by "
            "FROM model_versions WHERE model_id = :m ORDER BY version DESC "
            "LIMIT :limit OFFSET :offset",
            {**ids, "limit": vlimit, "offset": voffset},
        )
        aliases = run(
            "SELECT a.alias, v.version FROM aliases a JOIN model_versions v "
            "ON a.version_id = v.id WHERE a.model_id = :m ORDER BY a.alias LIMIT 200",
            ids,
        )
        deployments = run(
            "SELECT environment, targets, revision FROM deployments WHERE model_id = :m "
            "ORDER BY environment LIMIT 50",
            ids,
        )
        where = "model_id = :m" + (" AND kind = :kind" if kind else "")
        params = {**ids, **({"kind": kind} if kind else {})}
        # newest first in the order recorded (the id), which walks the model's index
        # backwards and stops at the page's end instead of sorting every event by time;
        # one more row than the page says whether there is a next one (no COUNT: with a
        # kind it would read all of the model's events)
        events = run(
            "SELECT id, version, kind, from_stage, to_stage, actor, reason, details, created_at "
            f"FROM events WHERE {where} ORDER BY id DESC LIMIT :limit OFFSET :offset",
            {**params, "limit": limit + 1, "offset": offset},
        )
        monitor = _monitor_reports(run, model_id)
    folder = listed(view.ws.layout.reports)
    by_version: dict[int, list[str]] = {}
    for alias, version in aliases:
        by_version.setdefault(version, []).append(alias)
    return Page(
        "model.html.j2",
        name,
        {
            "model": {
                "name": name,
                "task": task,
                "description": description or "",
                "tags": json_value(tags) or {},
                "created_at": moment(created_at),
                "created_by": created_by,
            },
            "versions": [_version_row(row, task, by_version) for row in versions],
            "total_versions": total_versions,
            "vlimit": vlimit,
            "voffset": voffset,
            "aliases": [{"alias": a, "version": v} for a, v in aliases],
            "deployments": [
                {"environment": env, "targets": json_value(t) or [], "revision": rev}
                for env, t, rev in deployments
            ],
            "kinds": kinds,
            "kind": kind,
            "events": [_event(row) for row in events[:limit]],
            "more_events": len(events) > limit,
            "limit": limit,
            "offset": offset,
            "files": report_files(view.ws, name, folder),
            "monitor_reports": [_monitor_report(row, folder) for row in monitor],
            "latest": versions[0][1] if versions and voffset == 0 else None,
        },
    )


def _kinds(run: Any, model_id: int, kind: str | None) -> list[str]:
    """The event kinds to filter by: those among the model's latest
    :data:`RECENT_EVENTS` events, and ``kind`` when the model has any event of it (a
    RequestError naming the kinds otherwise)."""
    kinds = [
        row[0]
        for row in run(
            "SELECT DISTINCT kind FROM (SELECT kind FROM events WHERE model_id = :m "
            f"ORDER BY id DESC LIMIT {RECENT_EVENTS}) recent ORDER BY kind",
            {"m": model_id},
        )
    ]
    if kind is None or kind in kinds:
        return kinds
    if len(kind) <= 32 and run(
        "SELECT id FROM events WHERE model_id = :m AND kind = :kind LIMIT 1",
        {"m": model_id, "kind": kind},
    ):
        return sorted([*kinds, kind])
    raise RequestError(
        f"?kind= must be one of this model's event kinds ({', '.join(kinds)}), not {kind[:40]!r}",
        field="kind",
    )


def _version_row(row: tuple[Any, ...], task: str, aliases: dict[int, list[str]]) -> dict[str, Any]:
    _, version, kind, flavor, stage, metrics, created_at, created_by = row
    return {
        "version": version,
        "kind": kind,
        "flavor": flavor,
        "stage": stage,
        "task": task,
        "metrics": headline(json_value(metrics) or {}),
        "aliases": aliases.get(version, []),
        "created_at": moment(created_at),
        "created_by": created_by,
    }


def headline(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """The metrics ``modelward models show`` puts in a version's row (held-out ones first,
    at most :data:`HEADLINE`), each with its interval from ``test_ci`` when stored."""
    flat = metrics.get("test", metrics)
    intervals = metrics.get("test_ci") or {} if "test" in metrics else {}
    shown = []
    for key, value in flat.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or key == "n":
            continue
        bounds = intervals.get(key) if isinstance(intervals, dict) else None
        low, high = (
            bounds if isinstance(bounds, list | tuple) and len(bounds) == 2 else (None, None)
        )
        shown.append({"name": key, "value": value, "low": low, "high": high})
        if len(shown) == HEADLINE:
            break
    return shown


def _event(row: tuple[Any, ...]) -> dict[str, Any]:
    event_id, version, kind, from_stage, to_stage, actor, reason, details, created_at = row
    details = json_value(details) or {}
    return {
        "id": event_id,
        "version": version,
        "kind": kind,
        "from": from_stage,
        "to": to_stage,
        "actor": actor,
        "reason": reason or "",
        "forced": bool(details.get("forced")),
        "failed_gates": [
            g.get("name") for g in details.get("gates") or [] if not g.get("passed", True)
        ],
        "note": _event_note(kind, details),
        "at": moment(created_at),
    }


def _event_note(kind: str, details: dict[str, Any]) -> str:
    """A few words of an event's details: where it deployed, which alias, which run."""
    if details.get("alias"):
        return f"alias {details['alias']}"
    if "targets" in details and details.get("environment"):
        split = " · ".join(
            f"v{t.get('version')} {t.get('weight'):g} %"
            for t in details["targets"]
            if isinstance(t, dict) and isinstance(t.get("weight"), int | float)
        )
        return f"{details['environment']}: {split}"
    if details.get("rollout"):
        return f"rollout #{details['rollout']} in {details.get('environment', '')}".strip()
    if details.get("run"):
        return f"run #{details['run']}: {details.get('verdict', '')}".strip(": ")
    return ""


def _monitor_reports(run: Any, model_id: int) -> list[tuple[Any, ...]]:
    """The model's monitoring reports among the workspace's latest :data:`RECENT_REPORTS`
    (read through the index on ``kind``: the model's own runs may be many thousands)."""
    recent = run(
        "SELECT id, model_id FROM runs WHERE kind = 'monitor-report' ORDER BY id DESC "
        f"LIMIT {RECENT_REPORTS}"
    )
    mine = [int(run_id) for run_id, owner in recent if owner == model_id][:5]
    if not mine:
        return []
    return list(
        run(
            "SELECT id, results, created_at FROM runs WHERE id IN "
            f"({', '.join(map(str, mine))}) ORDER BY id DESC"
        )
    )


def _monitor_report(row: tuple[Any, ...], files: dict[str, Any]) -> dict[str, Any]:
    """A monitoring report's run and its files still in the reports folder."""
    run_id, results, created_at = row
    results = json_value(results) or {}
    given = results.get("files")
    written: dict[str, Any] = given if isinstance(given, dict) else {}
    names = [str(path).replace("\\", "/").rsplit("/", 1)[-1] for path in written.values()]
    return {
        "id": run_id,
        "checks": results.get("checks") or {},
        "files": [name for name in names if name in files],
        "at": moment(created_at),
    }
