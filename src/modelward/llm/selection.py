"""``modelward llm select``: the best eligible model per query type -> a routing table;
``modelward llm compare``: models side by side, paired on the same items, ranked per type."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.llm.evaluate import Evaluation, evaluate
from modelward.llm.ranking import compare, rank
from modelward.llm.routing import RoutingTable, current_routes, save_routes
from modelward.llm.types import Item
from modelward.progress import NO_PROGRESS, Progress

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["Comparison", "Selection", "compare_models", "select_models"]

#: Stages from which a model may be routed.
ROUTABLE = ("development", "testing", "staging", "production", "maintenance")


@dataclass
class Selection:
    rankings: dict[str, list[dict[str, Any]]]
    routes: dict[str, Any]
    unserved: list[str]
    run_id: int
    applied: RoutingTable | None
    evaluations: list[Evaluation]

    def to_dict(self) -> dict[str, Any]:
        return {
            "rankings": self.rankings,
            "routes": self.routes,
            "unserved": self.unserved,
            "run_id": self.run_id,
            "applied_revision": self.applied.revision if self.applied else None,
        }


@dataclass
class Comparison:
    evaluations: list[Evaluation]
    paired: dict[str, Any]  # each model against the first, on the same items
    rankings: dict[str, list[dict[str, Any]]]  # per query type, by the policy's weights
    run_id: int

    def to_dict(self) -> dict[str, Any]:
        return {
            "evaluations": [e.to_dict() for e in self.evaluations],
            "paired": self.paired,
            "rankings": self.rankings,
            "run_id": self.run_id,
        }


def candidates(ws: Workspace) -> list[str]:
    """The latest version of every endpoint model that is still in a routable stage."""
    latest: dict[str, Any] = {}
    for info in ws.llm.endpoints():
        if info.stage in ROUTABLE:
            latest[info.model] = info
    return [info.ref for info in latest.values()]


def select_models(
    ws: Workspace,
    items: list[Item],
    *,
    refs: list[str] | None = None,
    apply: bool = False,
    concurrency: int = 4,
    dataset: str = "",
    progress: Progress = NO_PROGRESS,
) -> Selection:
    refs = refs or candidates(ws)
    if not refs:
        raise ConfigError(
            "no endpoint models to choose from; register some with `modelward llm register`",
            field="models",
        )
    evaluations = evaluate(
        ws, refs, items, concurrency=concurrency, dataset=dataset, progress=progress
    )
    rankings = _rankings(ws, evaluations, items)
    routes = {}
    unserved = []
    for query_type, ranked in rankings.items():
        eligible = [r["model"] for r in ranked if r["eligible"]]
        if eligible:
            routes[query_type] = {"models": eligible}
        else:
            unserved.append(query_type)
    verdict = "pass" if not unserved else "fail"
    run = ws.registry.record_run(
        "llm-selection",
        model=None,
        version=None,
        inputs={"dataset": dataset, "models": refs, "apply": apply},
        results={"rankings": rankings, "routes": routes, "unserved": unserved},
        verdict=verdict,
    )
    applied = None
    if apply and routes:
        current = _current(ws)
        merged = {**current, **routes}
        applied = save_routes(
            ws, merged, reason=f"llm select on {dataset or 'dataset'}", source_run_id=run.id
        )
    return Selection(rankings, routes, unserved, run.id, applied, evaluations)


def compare_models(
    ws: Workspace,
    refs: list[str],
    items: list[Item],
    *,
    concurrency: int = 4,
    dataset: str = "",
    progress: Progress = NO_PROGRESS,
) -> Comparison:
    """Evaluate ``refs`` on the same items, pair each with the first (McNemar on accuracy,
    a bootstrap on latency and cost) and rank them per query type; stored as an
    ``llm-comparison`` run."""
    if len(refs) < 2:
        raise ConfigError("compare needs at least two models: --models a,b", field="models")
    evaluations = evaluate(
        ws, refs, items, concurrency=concurrency, dataset=dataset, progress=progress
    )
    paired = compare(evaluations)
    rankings = _rankings(ws, evaluations, items)
    run = ws.registry.record_run(
        "llm-comparison",
        model=None,
        version=None,
        inputs={"models": refs, "dataset": dataset},
        results={"paired": paired, "rankings": rankings},
        verdict="info",
    )
    return Comparison(evaluations, paired, rankings, run.id)


def _rankings(
    ws: Workspace, evaluations: list[Evaluation], items: list[Item]
) -> dict[str, list[dict[str, Any]]]:
    return {q: rank(ws, evaluations, q) for q in sorted({i.category for i in items})}


def _current(ws: Workspace) -> dict[str, Any]:
    table = current_routes(ws)
    return dict(table.routes) if table else {}
