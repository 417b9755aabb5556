"""An endpoint version in the gateway's ``staging`` routing table, checked by live calls.

:func:`point_staging` writes a staging revision whose routes that serve the model (first
model or canary; the staging table's, else the production table's) try the new version
first, with no canary;
:func:`restore_staging` puts the previous staging revision back. :func:`verify_staging`
asks the gateway every route's prompts (the version's stored prompt tests, else one probe):
a running one at ``url``, which follows the new revision within its poll interval (an
answer from another version, or "no route", is asked again for up to 10 s), else one
started in this process on 127.0.0.1 for the staging table. Each answer must come from the
new version (not a fallback), pass the case's checks and arrive within the policy's
response time for the query type. The check is stored as a ``verification`` run.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.llm.cases import LLMCase, cases_from_suite, check_answer
from modelward.llm.routing import current_routes, save_routes
from modelward.rollout.routing_traffic import routes_serving

if TYPE_CHECKING:
    from modelward.llm.routing import RoutingTable
    from modelward.workspace import Workspace

__all__ = [
    "StagingChange",
    "point_staging",
    "restore_staging",
    "verify_staging",
]

PROBE = LLMCase("probe", [{"role": "user", "content": "Reply with OK."}], {})
#: how many stored prompt tests each route replays
MAX_PROBES = 10
#: how long a running gateway may take to follow the new staging revision
FOLLOW_S = 10.0


@dataclass(frozen=True)
class StagingChange:
    """A staging revision written for ``ref``: the one before (None: there was none)."""

    before: RoutingTable | None
    after: RoutingTable | None
    query_types: list[str]
    ref: str


def _model_of(ref: str) -> str:
    return ref.partition(":")[0]


def _pointed(routes: dict[str, Any], types: list[str], name: str, ref: str) -> dict[str, Any]:
    out = {t: dict(r) for t, r in routes.items()}
    for query_type in types:
        others = [m for m in routes[query_type]["models"] if _model_of(m) != name]
        out[query_type] = {"models": [ref, *others]}  # no canary: staging checks ref alone
    return out


def point_staging(ws: Workspace, name: str, version: int, *, actor: str) -> StagingChange:
    """Route staging's query types that serve ``name`` to ``name:version`` first."""
    ref = f"{name}:{version}"
    before = current_routes(ws, environment="staging")
    staged = dict(before.routes) if before else {}
    types = routes_serving(staged, name)
    if not types:  # nothing in staging serves it yet: stage production's routes for it
        production = current_routes(ws, environment="production")
        source = dict(production.routes) if production else {}
        types = routes_serving(source, name)
        staged.update({t: source[t] for t in types})
    if not types:
        raise ConfigError(
            f"no route of the staging or production routing table serves {name!r}; add one "
            f"with `modelward llm routes set TYPE --models {ref} --env staging --reason …`",
            field="routes",
        )
    routes = _pointed(staged, types, name, ref)
    if before is not None and routes == before.routes:
        return StagingChange(before, None, types, ref)
    after = save_routes(
        ws, routes, reason=f"promote pipeline: stage {ref}", actor=actor, environment="staging",
        expected_revision=before.revision if before else 0,
    )  # fmt: skip
    return StagingChange(before, after, types, ref)


def restore_staging(ws: Workspace, change: StagingChange, *, actor: str) -> str:
    """Write the staging revision from before ``change`` again; says what it did."""
    routes = dict(change.before.routes) if change.before else {}
    table = save_routes(
        ws,
        routes,
        reason=f"promote pipeline: staging check of {change.ref} failed, restored",
        actor=actor,
        environment="staging",
        expected_revision=change.after.revision if change.after else None,
    )
    was = f"revision {change.before.revision}" if change.before else "no routes"
    return f"staging routing table restored ({was}, now revision {table.revision})"


def _probes(ws: Workspace, name: str, version: int) -> list[LLMCase]:
    runs = ws.registry.list_runs(model=name, version=version, kinds=["prediction-tests"], limit=1)
    suite = runs[0].results.get("suite") if runs and runs[0].verdict == "pass" else None
    return cases_from_suite(suite)[:MAX_PROBES] if suite else [PROBE]


def _ask(http: Any, url: str, query_type: str, case: LLMCase) -> tuple[int, dict, float]:
    started = time.perf_counter()
    reply = http.post(
        f"{url.rstrip('/')}/v1/chat/completions",
        json={"model": f"route:{query_type}", "messages": case.messages},
    )
    elapsed = time.perf_counter() - started
    try:
        body = reply.json()
    except ValueError:
        body = {"error": {"message": reply.text[:200]}}
    return reply.status_code, body, elapsed


def _problem(
    ws: Workspace, ref: str, query_type: str, case: LLMCase, answer: tuple[int, dict, float]
) -> str | None:
    status, body, elapsed = answer
    where = f"route {query_type}, case {case.name!r}"
    if status != 200:
        message = (body.get("error") or {}).get("message", "")
        return f"{where}: HTTP {status} {message}".strip()
    if body.get("model") != ref:
        return (
            f"{where}: answered by {body.get('model')}, not {ref} (a fallback after its "
            "provider failed, or a gateway that does not follow the staging table)"
        )
    choice = (body.get("choices") or [{}])[0]
    text = (choice.get("message") or {}).get("content") or ""
    failed = [c for c in check_answer(case, text, choice.get("finish_reason")) if not c["passed"]]
    if failed:
        return f"{where}: {failed[0]['check']} expected {failed[0]['expected']}, got {text[:80]!r}"
    limit = ws.policy.llm.max_response_time_s.get(query_type)
    if limit is not None and elapsed > limit:
        return f"{where}: answered in {elapsed:.1f} s, over the policy's {limit:g} s"
    return None


def _replay(
    ws: Workspace, url: str, token: str | None, change: StagingChange, cases: list[LLMCase],
    follow: bool,
) -> tuple[int, list[str]]:  # fmt: skip
    import httpx

    headers = {"Authorization": f"Bearer {token}"} if token else {}
    deadline = time.monotonic() + (FOLLOW_S if follow else 0)
    calls = 0
    problems: list[str] = []
    with httpx.Client(timeout=60, headers=headers) as http:
        for query_type in change.query_types:
            for case in cases:
                while True:
                    answer = _ask(http, url, query_type, case)
                    calls += 1
                    problem = _problem(ws, change.ref, query_type, case, answer)
                    stale = problem is not None and (answer[0] == 404 or "answered by" in problem)
                    if stale and time.monotonic() < deadline:  # not following it yet
                        time.sleep(0.5)
                        continue
                    break
                if problem:
                    problems.append(problem)
    return calls, problems


def verify_staging(
    ws: Workspace,
    change: StagingChange,
    *,
    url: str | None = None,
    token: str | None = None,
) -> tuple[bool, str]:
    """Live calls through the staging gateway for every route ``change`` pointed."""
    import httpx

    from modelward.llm.gateway.local import local_gateway

    name, _, version = change.ref.partition(":")
    cases = _probes(ws, name, int(version))
    try:
        if url:
            calls, problems = _replay(ws, url, token, change, cases, follow=True)
            where = url
        else:
            with local_gateway(ws, "staging") as local:
                calls, problems = _replay(ws, local, None, change, cases, follow=False)
            where = "an in-process gateway on 127.0.0.1"
    except httpx.HTTPError as exc:
        calls, where = 0, str(url)
        problems = [
            f"cannot reach the gateway at {url} ({type(exc).__name__}); start it or drop --url"
        ]
    table = change.after or change.before
    ws.registry.record_run(
        "verification",
        model=name,
        version=int(version),
        inputs={"environment": "staging", "url": url or "in-process",
                "revision": table.revision if table else None, "routes": change.query_types},
        results={"calls": calls, "cases": len(cases), "problems": problems[:20]},
        verdict="fail" if problems else "pass",
    )  # fmt: skip
    if problems:
        return False, f"{len(problems)} problem(s) on {where}; first: {problems[0]}"
    routes = ", ".join(change.query_types)
    return True, (
        f"{calls} call(s) through {where} (routes {routes}): every answer from "
        f"{change.ref}, passing its prompt checks"
    )
