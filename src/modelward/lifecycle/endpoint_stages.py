"""The update pipeline's stages for an LLM endpoint version (``kind="endpoint"``).

- **evaluation** — its latest ``llm-evaluation`` run (``modelward llm evaluate``): every
  policy check of that run (accuracy per category, p95 response time per category, error
  rate, cost per query) met, and no worse than the production version (the ``champion``
  alias, else the version in production) by a paired test on the same dataset items
  (:mod:`modelward.llm.paired`; both must have been evaluated on the same dataset).
- **testing** — a passing prompt-test run (``modelward test-predictions NAME V --cases
  cases.yml``) and its provider's health (reachable, and listing the model when it lists).
- **staging** — the gateway's ``staging`` routing table points the routes that serve the
  model at the version and live calls through a gateway verify it
  (:mod:`modelward.lifecycle.endpoint_staging`); undo: the previous staging revision.
- **production** — a canary over the production routing table (the rollout controller
  finishes it), or, when no production route serves the model yet, the version moves to
  production and the message says how to route it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.errors import ModelwardError
from modelward.lifecycle.endpoint_staging import point_staging, restore_staging, verify_staging
from modelward.llm.endpoints import endpoint_of
from modelward.llm.paired import paired_items
from modelward.llm.routing import current_routes
from modelward.rollout.routing_traffic import RoutingTraffic, routes_serving

if TYPE_CHECKING:
    from modelward.lifecycle.results import StageResult
    from modelward.registry.records import RunInfo, VersionInfo
    from modelward.workspace import Workspace

__all__ = [
    "endpoint_evaluation",
    "endpoint_health",
    "endpoint_staging",
    "production_routes",
    "staging_plan",
]


def _evaluate_hint(info: VersionInfo, *others: VersionInfo, dataset: str = "FILE") -> str:
    refs = ",".join(v.ref for v in (info, *others))
    return f"`modelward llm evaluate --models {refs} --dataset {dataset}`"


def _paired_run(ws: Workspace, champion: VersionInfo, digest: str) -> RunInfo | None:
    """The champion's latest evaluation on the same dataset items."""
    runs = ws.registry.list_runs(
        model=champion.model, version=champion.version, kinds=["llm-evaluation"], limit=50
    )
    return next((r for r in runs if r.inputs.get("dataset_sha256") == digest), None)


def _number(value: Any) -> str:
    return "n/a" if value is None else f"{value:.4g}"


def endpoint_evaluation(
    ws: Workspace, info: VersionInfo, champion: VersionInfo | None, stage: StageResult
) -> None:
    runs = ws.registry.list_runs(
        model=info.model, version=info.version, kinds=["llm-evaluation"], limit=1
    )
    if not runs:
        stage.check(
            "evaluated", False, f"{info.ref} has no LLM evaluation; run {_evaluate_hint(info)}"
        )
        return
    run = runs[0]
    for check in run.results.get("checks", []):
        stage.check(
            str(check["check"]),
            bool(check["passed"]),
            f"{_number(check['value'])} (llm-evaluation run #{run.id}), limit "
            f"{_number(check['limit'])}",
        )
    if champion is None:
        stage.check("vs-production", True, "no production version to compare with")
        return
    dataset = str(run.inputs.get("dataset") or "FILE")
    digest = run.inputs.get("dataset_sha256")
    theirs = _paired_run(ws, champion, digest) if digest else None
    if theirs is None:
        stage.check(
            "vs-production",
            False,
            f"{champion.ref} has no evaluation on the same dataset items as run #{run.id}; "
            f"run {_evaluate_hint(info, champion, dataset=dataset)}",
        )
        return
    paired = paired_items(theirs.results.get("items", []), run.results.get("items", []))
    accuracy = paired["accuracy"]
    mcnemar = paired["tests"].get("mcnemar_accuracy", {})
    stage.check(
        "vs-production",
        paired["verdict"] != "worse",
        f"paired on {paired['items']} item(s) of {dataset}: accuracy "
        f"{_number(accuracy['candidate'])} vs {champion.ref} {_number(accuracy['baseline'])} "
        f"(McNemar p={_number(mcnemar.get('p_value'))}): {paired['verdict']}",
    )


def endpoint_health(ws: Workspace, info: VersionInfo, stage: StageResult) -> bool:
    """Its provider answers the model list (and lists the model, when it lists any)."""
    endpoint = endpoint_of(info)
    entry = ws.llm.health([endpoint.provider])[0]
    if entry["error"] is not None:
        return stage.check(
            "provider-health",
            False,
            f"provider {endpoint.provider} is down ({entry['error']}); check its base_url in "
            "llm.yml and the provider's status",
        )
    listed = entry["models"]
    if listed and endpoint.model not in listed:
        return stage.check(
            "provider-health",
            False,
            f"provider {endpoint.provider} does not list model {endpoint.model!r}; check the "
            "model id registered with the endpoint",
        )
    return stage.check(
        "provider-health",
        True,
        f"provider {endpoint.provider} up ({entry['latency_ms']:.0f} ms), lists "
        f"{endpoint.model if listed else 'no models (not checked)'}",
    )


def endpoint_staging(
    ws: Workspace,
    info: VersionInfo,
    stage: StageResult,
    *,
    url: str | None,
    token: str | None,
    actor: str,
) -> bool:
    """Point the staging routes at the version and verify them live; undo on failure."""
    change = point_staging(ws, info.model, info.version, actor=actor)
    if change.after is not None:
        stage.changes.append(
            f"staging routing revision {change.after.revision}: "
            f"{', '.join(change.query_types)} → {change.ref}"
        )
    try:
        passed, detail = verify_staging(ws, change, url=url, token=token)
    except ModelwardError as exc:
        passed, detail = False, exc.message
    if stage.check("verify", passed, detail):
        return True
    if change.after is not None:
        stage.undone.append(restore_staging(ws, change, actor=actor))
    return False


def production_routes(ws: Workspace, name: str) -> tuple[list[str], list[int]]:
    """(query types of the production routing table serving ``name``, its versions there)."""
    table = current_routes(ws, environment="production")
    types = routes_serving(dict(table.routes) if table else {}, name)
    return types, sorted(RoutingTraffic(ws).current(name, "production").versions)


def staging_plan(ws: Workspace, name: str, version: int) -> tuple[bool | None, str]:
    """What the staging stage would point and check, without writing anything."""
    ref = f"{name}:{version}"
    for environment in ("staging", "production"):
        table = current_routes(ws, environment=environment)
        types = routes_serving(dict(table.routes) if table else {}, name)
        if types:
            return None, (
                f"point the staging route(s) {', '.join(types)} (from the {environment} table) "
                f"at {ref}, then verify them by live calls through the gateway"
            )
    return False, (
        f"no route of the staging or production routing table serves {name!r}; add one "
        f"with `modelward llm routes set TYPE --models {ref} --env staging --reason …`"
    )
