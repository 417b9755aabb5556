"""``/models/{name}/versions/{v}``: everything stored about one version (schema, reference
profile per feature, params, metrics with intervals, artifact checksum or an endpoint's
spec, source, tags, card) and every run of it (a page of them), each linking its run page."""

from __future__ import annotations

import re
from typing import Any

from modelward.registry.stages import ALLOWED, Stage
from modelward.store.plain import json_value, moment
from modelward.timeutil import utcnow
from modelward.ui.pages.models.lookup import (
    find_model,
    flatten,
    model_name,
    no_version,
    version_number,
)
from modelward.ui.pages.models.profile import reference_profile, schema_rows
from modelward.ui.pages.models.runs import run_row
from modelward.ui.pages.reports import card_files
from modelward.ui.view import MAX_PAGE_SIZE, Page, View

__all__ = ["metric_rows", "version_page"]


#: Keys of an endpoint's spec never shown (a provider's credentials live elsewhere, but a
#: spec written by hand might carry one).
SECRET = re.compile(r"key|secret|token|password|passwd|authorization|credential", re.I)

#: Runs a version page shows per page unless ``?limit=`` asks for another number (each
#: may carry dozens of checks).
RUNS_PAGE = 10


def _bounds(bounds: Any) -> tuple[Any, Any]:
    """``(low, high)`` of a stored interval (``[low, high]``), else ``(None, None)``."""
    if isinstance(bounds, list | tuple) and len(bounds) == 2:
        return bounds[0], bounds[1]
    return None, None


VERSION_COLUMNS = (
    # the reference profile is summarized in SQL (:func:`reference_profile`): it holds up to
    # 5,000 sampled values per column, megabytes for a wide table
    "id, version, kind, flavor, stage, sha256, size, spec, input_schema, NULL, "
    "data_fingerprint, params, metrics, tags, source, description, created_at, created_by"
)


def version_page(view: View) -> Page:
    name = model_name(view)
    number = version_number(view.params["version"], "version")
    limit = view.number("limit", RUNS_PAGE, high=MAX_PAGE_SIZE)
    offset = (view.number("page", 1, high=100_000) - 1) * limit
    with view.ws.sql.snapshot() as run:
        model_id, _, task, *_rest = find_model(run, name)
        rows = run(
            f"SELECT {VERSION_COLUMNS} FROM model_versions WHERE model_id = :m AND version = :v",
            {"m": model_id, "v": number},
        )
        if not rows:
            raise no_version(run, name, model_id, number)
        row = rows[0]
        aliases = [
            a for (a,) in run("SELECT alias FROM aliases WHERE version_id = :id", {"id": row[0]})
        ]
        profile_rows = reference_profile(run, view.ws.sql.dialect, row[0])
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
                "params": sorted(flatten(json_value(params) or {}).items()),
                "metrics": metric_rows(metrics),
                "tags": sorted((json_value(tags) or {}).items()),
                "source": sorted((json_value(source) or {}).items()),
                "description": description or "",
                "created_at": moment(created_at),
                "created_by": created_by,
                "aliases": sorted(aliases),
            },
            "schema": schema_rows(json_value(schema) or {}),
            "profile": profile_rows,
            "runs": [run_row(r) for r in runs[:limit]],
            "more_runs": len(runs) > limit,
            "limit": limit,
            "offset": offset,
            "card_files": card_files(view.ws, name, version),
            "production": production[0][0] if production else None,
            "stages": [s.value for s in Stage],
            "next_stages": [s.value for s in Stage if s in ALLOWED[current]],
            "seen": utcnow().isoformat(),
        },
    )


def metric_rows(metrics: dict[str, Any]) -> list[dict[str, Any]]:
    """Every stored metric as ``name, value, low, high`` (bounds from ``test_ci`` for the
    held-out ones), the ``test_ci`` block itself folded into its metrics."""
    given = metrics.get("test_ci")
    intervals: dict[str, Any] = given if isinstance(given, dict) else {}
    rows = []
    for key, value in flatten({k: v for k, v in metrics.items() if k != "test_ci"}).items():
        bounds = intervals.get(key.removeprefix("test.")) if key.startswith("test.") else None
        low, high = _bounds(bounds)
        rows.append({"name": key, "value": value, "low": low, "high": high})
    return rows


def _public(spec: dict[str, Any]) -> list[tuple[str, Any]]:
    """An endpoint's spec without anything named like a credential."""
    return sorted((k, v) for k, v in flatten(spec).items() if not SECRET.search(k))
