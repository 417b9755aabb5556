"""The routing table: query type -> ranked endpoint models (+ an optional canary).

Each gateway environment (``production``, ``staging``) has its own table, stored in
``routing_tables``, one append-only revision per change; reverting writes a new revision
equal to an older one. A route looks like::

    {"factual": {"models": ["gpt-fast:2", "claude:1"], "canary": {"model": "gpt-new:1",
     "weight": 5}}, ...}

The first model serves the query type; the others are the fallbacks, in order.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from modelward.deploy.environments import check_environment
from modelward.errors import ConfigError, ConflictError, NotFound
from modelward.registry.actor import default_actor
from modelward.registry.records import aware
from modelward.store.tables import RoutingRow
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = [
    "RoutingTable",
    "check_routes",
    "current_routes",
    "revert_routes",
    "routing_history",
    "save_routes",
    "set_route",
]


@dataclass(frozen=True)
class RoutingTable:
    revision: int
    routes: dict[str, Any]
    reason: str
    source_run_id: int | None
    created_at: datetime
    created_by: str
    environment: str = "production"

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["created_at"] = self.created_at.isoformat()
        return out

    def models_for(self, query_type: str) -> list[str]:
        route = self.routes.get(query_type) or {}
        return list(route.get("models", []))


def _info(row: RoutingRow) -> RoutingTable:
    return RoutingTable(
        row.revision,
        dict(row.routes or {}),
        row.reason,
        row.source_run_id,
        aware(row.created_at),
        row.created_by,
        row.environment,
    )


def check_routes(ws: Workspace, routes: dict[str, Any]) -> dict[str, Any]:
    """Every route names registered endpoint versions; canary weights are in (0, 100)."""
    out: dict[str, Any] = {}
    for query_type, route in routes.items():
        if not isinstance(route, dict) or not route.get("models"):
            raise ConfigError(f"route {query_type!r} needs at least one model", field="routes")
        models = [_pin(ws, ref) for ref in route["models"]]
        clean: dict[str, Any] = {"models": models}
        canary = route.get("canary")
        if canary:
            weight = float(canary.get("weight", 0))
            if not 0 < weight < 100:
                raise ConfigError(
                    f"canary weight for {query_type!r} must be between 0 and 100 (exclusive), "
                    f"got {weight:g}",
                    field="weight",
                )
            clean["canary"] = {"model": _pin(ws, str(canary["model"])), "weight": weight}
        out[query_type] = clean
    return out


def _pin(ws: Workspace, ref: str) -> str:
    """``name`` or ``name:alias`` -> ``name:N`` (routes always pin a version)."""
    endpoint = ws.llm.resolve(ref)
    return f"{endpoint.name}:{endpoint.version}"


def _in(environment: str) -> Any:
    return RoutingRow.environment == check_environment(environment)


def current_routes(ws: Workspace, environment: str = "production") -> RoutingTable | None:
    """The environment's current routing table, ``None`` before its first revision."""
    with ws.db.session(readonly=True) as session:
        row = session.scalar(
            select(RoutingRow).where(_in(environment)).order_by(RoutingRow.revision.desc())
            .limit(1)
        )  # fmt: skip
        return _info(row) if row is not None else None


def get_revision(ws: Workspace, revision: int, environment: str = "production") -> RoutingTable:
    with ws.db.session(readonly=True) as session:
        row = session.scalar(
            select(RoutingRow).where(_in(environment), RoutingRow.revision == revision)
        )
        if row is None:
            latest = session.scalar(select(func.max(RoutingRow.revision)).where(_in(environment)))
            have = f"revisions 1-{latest}" if latest else "no routing table yet"
            raise NotFound(
                f"no {environment} routing revision {revision} ({have}); see "
                f"`modelward llm history --env {environment}`",
                field="revision",
            )
        return _info(row)


def save_routes(
    ws: Workspace,
    routes: dict[str, Any],
    *,
    reason: str,
    source_run_id: int | None = None,
    actor: str | None = None,
    environment: str = "production",
    expected_revision: int | None = None,
) -> RoutingTable:
    """Write a new revision of ``environment``'s table (checked first); also recorded as an
    ``llm-routing`` run. With ``expected_revision``, refuses (ConflictError) when another
    writer changed the table since that revision was read."""
    checked = check_routes(ws, routes)
    actor = actor or default_actor()
    with ws.db.session() as session:
        latest = session.scalar(select(func.max(RoutingRow.revision)).where(_in(environment))) or 0
        if expected_revision is not None and latest != expected_revision:
            raise ConflictError(
                f"the {environment} routing table moved to revision {latest} while this change "
                f"was made against revision {expected_revision}; look again "
                f"(`modelward llm routes show --env {environment}`) and retry"
            )
        row = RoutingRow(
            environment=environment,
            revision=latest + 1,
            routes=checked,
            reason=reason,
            source_run_id=source_run_id,
            created_at=utcnow(),
            created_by=actor,
        )
        session.add(row)
        session.flush()
        table = _info(row)
    ws.registry.record_run(
        "llm-routing",
        model=None,
        version=None,
        inputs={"reason": reason, "source_run_id": source_run_id, "environment": environment},
        results={"revision": table.revision, "routes": checked},
        verdict="info",
        actor=actor,
    )
    return table


def set_route(
    ws: Workspace,
    query_type: str,
    models: list[str],
    *,
    reason: str,
    canary: str | None = None,
    weight: float = 5.0,
    environment: str = "production",
) -> RoutingTable:
    """Set one query type's route by hand (ranked ``models``, optionally a ``canary`` taking
    ``weight`` percent): a new revision with the other routes unchanged."""
    if not reason.strip():
        raise ConfigError('pass --reason "why this route"', field="reason")
    current = current_routes(ws, environment)
    routes = dict(current.routes) if current else {}
    route: dict[str, Any] = {"models": models}
    if canary:
        route["canary"] = {"model": canary, "weight": weight}
    routes[query_type] = route
    return save_routes(
        ws, routes, reason=reason, environment=environment,
        expected_revision=current.revision if current else 0,
    )  # fmt: skip


def routing_history(ws: Workspace, environment: str = "production") -> list[RoutingTable]:
    with ws.db.session(readonly=True) as session:
        rows = session.scalars(
            select(RoutingRow).where(_in(environment)).order_by(RoutingRow.revision)
        ).all()
        return [_info(r) for r in rows]


def revert_routes(
    ws: Workspace, revision: int, *, reason: str, environment: str = "production"
) -> RoutingTable:
    if not reason.strip():
        raise ConfigError('a revert needs a reason; pass --reason "why"', field="reason")
    old = get_revision(ws, revision, environment)
    return save_routes(
        ws, old.routes, reason=f"revert to revision {revision}: {reason}", environment=environment
    )
