"""Deployments: which versions serve each environment of every model, and how much.

One row per model (a page of them) and environment: the traffic split (targets), the
revision, the rollback target (``previous``), when and by whom it last changed, and the
live rollout moving it. An LLM endpoint model is served through the gateway's routing
table rather than a deployment; its row links to the LLM page, which shows the tables'
canary weights. Three indexed queries per page.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from modelward.deploy.environments import ENVIRONMENTS
from modelward.rollout.traffic import ENDPOINT_TASK
from modelward.store.plain import json_value, moment
from modelward.ui.filters import choice
from modelward.ui.view import Page, PageRoute, View

__all__ = ["ROUTES"]


def deployments(view: View) -> Page:
    limit, offset = view.paging()
    env = choice(view, "env", ENVIRONMENTS)
    with view.ws.sql.snapshot() as run:
        total = run("SELECT COUNT(*) FROM models")[0][0]
        models = run(
            "SELECT id, name, task FROM models ORDER BY name LIMIT :limit OFFSET :offset",
            {"limit": limit, "offset": offset},
        )
        listed = ", ".join(str(int(row[0])) for row in models) or "NULL"
        only = " AND environment = :env" if env else ""
        rows = run(
            "SELECT model_id, environment, targets, previous, revision, updated_at, updated_by "
            f"FROM deployments WHERE model_id IN ({listed}){only} ORDER BY environment",
            {"env": env} if env else None,
        )
        live = run(
            "SELECT id, model_id, environment, canary_version, state FROM rollouts "
            f"WHERE state IN ('running', 'paused') AND model_id IN ({listed})"
        )
    rollouts = {(m, e): {"id": i, "canary": c, "state": s} for i, m, e, c, s in live}
    by_model: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for (model_id, environment), rollout in sorted(rollouts.items()):
        by_model[model_id].append({**rollout, "environment": environment})
    found: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for model_id, environment, targets, previous, revision, updated, by in rows:
        found[model_id].append(
            {
                "environment": environment,
                "targets": json_value(targets) or [],
                "previous": json_value(previous),
                "revision": revision,
                "updated_at": moment(updated),
                "updated_by": by,
                "rollout": rollouts.get((model_id, environment)),
            }
        )
    return Page(
        "deployments.html.j2",
        "Deployments",
        {
            "models": [
                {
                    "name": name,
                    "endpoint": task == ENDPOINT_TASK,
                    "deployments": found[mid],
                    "rollouts": by_model[mid],
                }
                for mid, name, task in models
            ],
            "total": total,
            "limit": limit,
            "offset": offset,
            "env": env,
            "environments": ENVIRONMENTS,
        },
    )


ROUTES = [PageRoute("/deployments", deployments)]
