"""``/ui/monitoring``: every model (a page of them) by environment with the latest result of
each check, and the machine's last resources check."""

from __future__ import annotations

from typing import Any

from modelward.store.plain import moment
from modelward.ui.pages.monitoring.checks import ALL, CHECKS, MONITOR, check_order, text_value
from modelward.ui.sql import Json
from modelward.ui.view import Page, View

__all__ = ["overview"]


#: The overview: models per page, and the newest runs of each check of a model read for
#: its latest result in each environment.
MODELS_PER_PAGE = 25
RECENT_RUNS = 10


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
        latest = {model_id: _latest_runs(run, env, model_id) for model_id, _, _ in models}
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
        checks = sorted({check for _, check in found}, key=check_order)
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


def _latest_runs(run: Any, env: str, model_id: int) -> dict[tuple[str | None, str], tuple]:
    """The latest run of each check of the model in each environment: each check's newest
    runs read through the runs' (model_id, kind, id) index, never the model's other runs."""
    found: dict[tuple[str | None, str], tuple[Any, ...]] = {}
    for check in CHECKS:
        for row in run(
            f"SELECT id, kind, {env}, verdict, created_at FROM runs WHERE model_id = :m "
            "AND kind = :kind ORDER BY id DESC LIMIT :n",
            {"m": model_id, "kind": MONITOR + check, "n": RECENT_RUNS},
        ):
            found.setdefault((row[2], check), row)
    return found


def _breaches(run: Any, js: Json, ids: list[int]) -> dict[int, list[str]]:
    """The breaches of the runs ``ids`` that have some (one query)."""
    if not ids:
        return {}
    listed = ", ".join(str(int(i)) for i in ids)
    return {
        int(run_id): [_short(text_value(b), 200) for b in (js.value(found) or [])][:2]
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
