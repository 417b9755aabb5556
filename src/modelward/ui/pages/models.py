"""A model, one of its versions, two versions side by side, and moving a version's stage.

- ``/models/{name}``: the versions (a page of them: stage, task, flavor, headline metrics
  with their intervals, aliases), where it is deployed, its reports and cards, and its
  history timeline (a page of events, filterable by kind with ``?kind=``).
- ``/models/{name}/versions/{v}``: everything stored about one version (schema, reference
  profile per feature, params, metrics with intervals, artifact checksum or an endpoint's
  spec, source, tags, card) and every run of it (a page of them), each linking its run page.
- ``/models/{name}/compare?a=&b=``: two versions' params and metrics, differing values
  marked (the "compare runs" habit).
- ``POST /models/{name}/versions/{v}/transition``: the same ``Workspace.transition`` the
  ``modelward transition`` command calls, so the gates judge it and history records it
  as the CLI's; a refused gate answers its one-line message and changes nothing.

Every query names its columns and is LIMITed (or reads one row by key): a model with
thousands of versions and events renders from a few indexed reads.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any

from modelward.errors import NotFound, RequestError
from modelward.registry.stages import ALLOWED, Stage
from modelward.store.plain import json_value, moment
from modelward.timeutil import parse_time, utcnow
from modelward.ui.pages.reports import card_files, listed, report_files
from modelward.ui.view import MAX_PAGE_SIZE, Page, PageRoute, Redirect, View

__all__ = ["ROUTES"]

NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
#: How many metrics a version's row shows (held-out ones first, as `models show` does).
HEADLINE = 3
#: Keys of an endpoint's spec never shown (a provider's credentials live elsewhere, but a
#: spec written by hand might carry one).
SECRET = re.compile(r"key|secret|token|password|passwd|authorization|credential", re.I)
MAX_ROWS = 500  # a version's schema / profile rows shown at most
#: How many of the workspace's latest monitoring-report runs the model page looks through.
RECENT_REPORTS = 200
#: How many of a model's latest events the history's kind links are gathered from.
RECENT_EVENTS = 2000
#: Runs a version page shows per page unless ``?limit=`` asks for another number (each
#: may carry dozens of checks).
RUNS_PAGE = 10
TRANSITION_FIELDS = frozenset({"to", "reason", "force", "replace", "seen"})


# -- path parameters ------------------------------------------------------------------------


def _name(view: View) -> str:
    name = view.params["name"]
    if not NAME.match(name):
        raise RequestError(
            f"{name[:40]!r} is not a model name (lowercase letters, digits, -_. and at most "
            "128 characters); see /ui/",
            field="name",
        )
    return name


def _version_number(text: str | None, what: str) -> int:
    if text is None or not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise RequestError(
            f"{what} must be a version number (1, 2, ...), not {(text or '')[:20]!r}", field=what
        )
    return int(text)


def _model(run: Any, name: str) -> tuple[Any, ...]:
    rows = run(
        "SELECT id, name, task, description, tags, created_at, created_by FROM models "
        "WHERE name = :name",
        {"name": name},
    )
    if not rows:
        known = [row[0] for row in run("SELECT name FROM models ORDER BY name LIMIT 20")]
        have = ", ".join(known) if known else "none is registered yet"
        raise NotFound(f"no model named {name!r} (models: {have}); see /ui/", field="name")
    return tuple(rows[0])


def _no_version(run: Any, name: str, model_id: int, version: int) -> NotFound:
    low, high, count = run(
        "SELECT MIN(version), MAX(version), COUNT(*) FROM model_versions WHERE model_id = :m",
        {"m": model_id},
    )[0]
    have = f"versions {low}-{high} ({count})" if count else "no version yet"
    return NotFound(
        f"model {name!r} has no version {version} ({have}); see /ui/models/{name}",
        field="version",
    )


# -- the model page -------------------------------------------------------------------------


def model_page(view: View) -> Page:
    name = _name(view)
    limit, offset = view.paging()
    vlimit = view.number("vlimit", 20, high=200)
    voffset = (view.number("vpage", 1, high=100_000) - 1) * vlimit
    kind = view.arg("kind")
    with view.ws.sql.snapshot() as run:
        model_id, _, task, description, tags, created_at, created_by = _model(run, name)
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


def _bounds(bounds: Any) -> tuple[Any, Any]:
    """``(low, high)`` of a stored interval (``[low, high]``), else ``(None, None)``."""
    if isinstance(bounds, list | tuple) and len(bounds) == 2:
        return bounds[0], bounds[1]
    return None, None


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


# -- the version page -----------------------------------------------------------------------

VERSION_COLUMNS = (
    # the reference profile is summarized in SQL (:func:`_profile`): it holds up to
    # 5,000 sampled values per column, megabytes for a wide table
    "id, version, kind, flavor, stage, sha256, size, spec, input_schema, NULL, "
    "data_fingerprint, params, metrics, tags, source, description, created_at, created_by"
)


def version_page(view: View) -> Page:
    name = _name(view)
    number = _version_number(view.params["version"], "version")
    limit = view.number("limit", RUNS_PAGE, high=MAX_PAGE_SIZE)
    offset = (view.number("page", 1, high=100_000) - 1) * limit
    with view.ws.sql.snapshot() as run:
        model_id, _, task, *_rest = _model(run, name)
        rows = run(
            f"SELECT {VERSION_COLUMNS} FROM model_versions WHERE model_id = :m AND version = :v",
            {"m": model_id, "v": number},
        )
        if not rows:
            raise _no_version(run, name, model_id, number)
        row = rows[0]
        aliases = [
            a for (a,) in run("SELECT alias FROM aliases WHERE version_id = :id", {"id": row[0]})
        ]
        profile_rows = _profile(run, view.ws.sql.dialect, row[0])
        ids = {"m": model_id, "v": number}
        # one more than the page says whether there is a next (a COUNT would read every
        # run of the model: runs are indexed by model, not by version)
        runs = run(
            "SELECT id, kind, verdict, inputs, results, actor, created_at FROM runs "
            "WHERE model_id = :m AND version = :v ORDER BY id DESC LIMIT :limit OFFSET :offset",
            {**ids, "limit": limit + 1, "offset": offset},
        )
        production = run(
            "SELECT version FROM model_versions WHERE model_id = :m AND stage = 'production'",
            {"m": model_id},
        )
    (_, version, kind, flavor, stage, sha256, size, spec, schema, profile, fingerprint,
     params, metrics, tags, source, description, created_at, created_by) = row  # fmt: skip
    metrics = json_value(metrics) or {}
    current = Stage(stage)
    return Page(
        "version.html.j2",
        f"{name}:{version}",
        {
            "name": name,
            "task": task,
            "v": {
                "version": version,
                "kind": kind,
                "flavor": flavor,
                "stage": stage,
                "sha256": sha256,
                "size": size,
                "spec": _public(json_value(spec) or {}),
                "data_fingerprint": fingerprint,
                "params": sorted(_flatten(json_value(params) or {}).items()),
                "metrics": metric_rows(metrics),
                "tags": sorted((json_value(tags) or {}).items()),
                "source": sorted((json_value(source) or {}).items()),
                "description": description or "",
                "created_at": moment(created_at),
                "created_by": created_by,
                "aliases": sorted(aliases),
            },
            "schema": _schema(json_value(schema) or {}),
            "profile": profile_rows,
            "runs": [_run(r) for r in runs[:limit]],
            "more_runs": len(runs) > limit,
            "limit": limit,
            "offset": offset,
            "cards": card_files(view.ws, name, version),
            "production": production[0][0] if production else None,
            "stages": [s.value for s in Stage],
            "next_stages": [s.value for s in Stage if s in ALLOWED[current]],
            "seen": utcnow().isoformat(),
        },
    )


def _flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``a.b`` keys (what `versions show` prints)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            out.update(_flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def metric_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Every stored metric as ``name, value, low, high`` (bounds from ``test_ci`` for the
    held-out ones), the ``test_ci`` block itself folded into its metrics."""
    given = metrics.get("test_ci")
    intervals: dict[str, Any] = given if isinstance(given, dict) else {}
    rows = []
    for key, value in _flatten({k: v for k, v in metrics.items() if k != "test_ci"}).items():
        bounds = intervals.get(key.removeprefix("test.")) if key.startswith("test.") else None
        low, high = _bounds(bounds)
        rows.append({"name": key, "value": value, "low": low, "high": high})
    return rows


def _public(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """An endpoint's spec without anything named like a credential."""
    return sorted((k, v) for k, v in _flatten(spec).items() if not SECRET.search(k))


def _schema(schema: dict[str, Any]) -> list[dict[str, Any]]:
    columns = schema.get("columns") or []
    return [
        {
            "name": c.get("name"),
            "kind": c.get("kind"),
            "dtype": c.get("dtype"),
            "nullable": bool(c.get("nullable")),
            "observed": _observed(c),
        }
        for c in columns[:MAX_ROWS]
        if isinstance(c, dict)
    ]


def _observed(column: dict[str, Any]) -> str:
    if "min" in column:
        return f"{column['min']} … {column['max']}"
    if "categories" in column:
        return ", ".join(map(str, column["categories"][:8]))
    return ""


#: A profile's per-column fields the page shows, read by the database from the JSON.
PROFILE_FIELDS = ("kind", "count", "missing_rate", "mean", "std", "min", "max", "distinct")


def _profile(run: Any, dialect: str, version_id: int) -> list[dict[str, Any]]:
    """A version's reference profile summarized per feature (kind, rows, missing share,
    centre and spread, the most frequent categories), its fields picked out by the
    database so the sampled values never reach Python."""
    if dialect == "sqlite":
        fields = ", ".join(f"json_extract(c.value, '$.{f}')" for f in PROFILE_FIELDS)
        sql = (
            f"SELECT c.key, {fields}, json_extract(c.value, '$.categories') FROM "
            "model_versions v, json_each(v.reference_profile, '$.columns') c "
            f"WHERE v.id = :id AND json_valid(v.reference_profile) LIMIT {MAX_ROWS}"
        )
    else:
        fields = ", ".join(f"c.value ->> '{f}'" for f in PROFILE_FIELDS)
        sql = (
            f"SELECT c.key, {fields}, c.value -> 'categories' FROM model_versions v, "
            "json_each(v.reference_profile -> 'columns') c WHERE v.id = :id "
            f"LIMIT {MAX_ROWS}"
        )
    out = []
    for name, *values, categories in run(sql, {"id": version_id}):
        stats = dict(zip(PROFILE_FIELDS, values, strict=True))
        stats = {k: _number(v) if k != "kind" else v for k, v in stats.items()}
        stats["categories"] = json_value(categories) if categories is not None else None
        out.append(
            {
                "name": name,
                "kind": stats.get("kind") or "",
                "count": stats.get("count"),
                "missing": stats.get("missing_rate"),
                "summary": _summary(stats),
            }
        )
    return out


def _number(value: Any) -> Any:
    """A JSON number as Python's (PostgreSQL's ``->>`` gives text)."""
    if isinstance(value, str):
        try:
            return int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            return value
    return value


def _summary(stats: dict[str, Any]) -> str:
    parts = []
    for key in ("mean", "std", "min", "median", "max", "distinct"):
        if isinstance(stats.get(key), int | float):
            value = stats[key]
            parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    frequencies = stats.get("frequencies") or stats.get("categories")
    if isinstance(frequencies, dict) and frequencies:
        top = sorted(frequencies.items(), key=lambda kv: -_as_float(kv[1]))[:5]
        parts.append("top " + ", ".join(f"{k} ({_as_float(v):.3g})" for k, v in top))
    return " · ".join(parts)


def _as_float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0


def _run(row: tuple[Any, ...]) -> dict[str, Any]:
    run_id, kind, verdict, inputs, results, actor, created_at = row
    results = json_value(results) or {}
    inputs = json_value(inputs) or {}
    return {
        "id": run_id,
        "kind": kind,
        "verdict": verdict,
        "actor": actor,
        "at": moment(created_at),
        "data": inputs.get("data") or inputs.get("dataset") or inputs.get("cases") or "",
        "checks": _checks(results),
        "metrics": _run_metrics(results),
        "summary": _run_summary(kind, results),
    }


def _checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    """A validation's checks: each one's value, threshold and verdict."""
    checks = results.get("checks")
    if not isinstance(checks, list):
        return []
    out = []
    for check in checks[:100]:
        if not isinstance(check, dict) or "name" not in check:
            continue
        ran = check.get("ran", True)
        out.append(
            {
                "group": check.get("group", ""),
                "name": check.get("name"),
                "value": check.get("value", check.get("canary")),
                "op": check.get("op") or "",
                "threshold": check.get("threshold", check.get("limit")),
                "verdict": (
                    "skipped"
                    if not ran
                    else "pass"
                    if check.get("passed")
                    else "fail"
                    if "passed" in check
                    else check.get("status", "")
                ),
                "detail": check.get("detail") or "",
            }
        )
    return out


def _run_metrics(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """An evaluation's overall metrics with their intervals (``{value, low, high}``)."""
    metrics = results.get("metrics")
    if not isinstance(metrics, dict):
        return []
    return [
        (key, value)
        for key, value in list(metrics.items())[:20]
        if isinstance(value, dict) and "value" in value
    ]


def _run_summary(kind: str, results: dict[str, Any]) -> str:
    if kind == "prediction-tests" and isinstance(results.get("cases"), list):
        cases = results["cases"]
        passed = sum(1 for c in cases if isinstance(c, dict) and c.get("passed"))
        return f"{passed} of {len(cases)} cases pass"
    if isinstance(results.get("reason"), str):
        return results["reason"]
    if isinstance(results.get("summary"), str):
        return results["summary"]
    return ""


# -- compare --------------------------------------------------------------------------------


def compare_page(view: View) -> Page:
    name = _name(view)
    a = _version_number(view.arg("a"), "a")
    b = _version_number(view.arg("b"), "b")
    with view.ws.sql.snapshot() as run:
        model_id = _model(run, name)[0]
        rows = {
            row[0]: row
            for row in run(
                "SELECT version, stage, flavor, params, metrics, tags, created_at "
                "FROM model_versions WHERE model_id = :m AND version IN (:a, :b)",
                {"m": model_id, "a": a, "b": b},
            )
        }
        for number in (a, b):
            if number not in rows:
                raise _no_version(run, name, model_id, number)
    left, right = rows[a], rows[b]
    sections: list[dict[str, Any]] = []
    for title, index in (("Params", 3), ("Metrics", 4), ("Tags", 5)):
        one = _flatten(json_value(left[index]) or {})
        two = _flatten(json_value(right[index]) or {})
        keys = list(dict.fromkeys([*one, *two]))
        sections.append(
            {
                "title": title,
                "rows": [
                    {
                        "key": k,
                        "a": one.get(k),
                        "b": two.get(k),
                        "differs": k not in one or k not in two or one[k] != two[k],
                    }
                    for k in keys
                ],
            }
        )
    return Page(
        "compare.html.j2",
        f"{name}: v{a} vs v{b}",
        {
            "name": name,
            "a": {"version": a, "stage": left[1], "flavor": left[2], "at": moment(left[6])},
            "b": {"version": b, "stage": right[1], "flavor": right[2], "at": moment(right[6])},
            "sections": sections,
            "differing": sum(r["differs"] for s in sections for r in s["rows"]),
        },
    )


# -- the transition action ------------------------------------------------------------------


def transition(view: View) -> Redirect:
    """Move a version's stage exactly as ``modelward transition`` does."""
    name = _name(view)
    number = _version_number(view.params["version"], "version")
    form = view.form
    extra = sorted(set(form) - TRANSITION_FIELDS)
    if extra:
        raise RequestError(f"unexpected form field {extra[0][:40]!r}", field=extra[0][:40])
    to = form.get("to", "").strip()
    if to not in {s.value for s in Stage}:
        raise RequestError(
            f"to must be a stage ({', '.join(s.value for s in Stage)}), not {to[:40]!r}",
            field="to",
        )
    reason = form.get("reason", "").strip()
    if not reason:
        raise RequestError(
            "a transition needs a reason; say why in the reason field", field="reason"
        )
    if len(reason) > 2000:
        raise RequestError("the reason has at most 2000 characters", field="reason")
    options: dict[str, Any] = {
        "force": _checkbox(form, "force"),
        "replace": _checkbox(form, "replace"),
    }
    seen = form.get("seen", "")
    if seen:
        options["started"] = _seen(seen)
    if view.viewer != "loopback":
        options["actor"] = view.viewer
    view.ws.transition(name, number, to, reason=reason, **options)
    return Redirect(f"/ui/models/{name}/versions/{number}")


def _checkbox(form: Any, key: str) -> bool:
    value = form.get(key)
    if value not in (None, "", "on"):
        raise RequestError(f"{key} is a checkbox: 'on' or absent, not {value[:20]!r}", field=key)
    return value == "on"


def _seen(text: str) -> datetime:
    """When the page that sent the form was rendered: a move of the version (or of
    production) recorded after it refuses the transition, as the CLI's start time does."""
    try:
        return parse_time(text, what="seen")
    except Exception as exc:  # noqa: BLE001 - any unreadable time is the form's fault
        raise RequestError(f"seen must be an ISO time, not {text[:40]!r}", field="seen") from exc


ROUTES = [
    PageRoute("/models/{name}", model_page),
    PageRoute("/models/{name}/compare", compare_page),
    PageRoute("/models/{name}/versions/{version}", version_page),
    PageRoute("/models/{name}/versions/{version}/transition", transition, action=True),
]
