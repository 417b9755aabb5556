"""The rollout's TrafficPort over an LLM gateway's routing table.

An endpoint model's traffic is the routes that serve it: a route's first model is the
version that takes its traffic, its ``canary`` the version that takes ``weight`` percent of
it. A rollout moves the canary weight of every route serving the model (or the routes it
was started on) in one routing revision, recorded with the rollout's reason; the gateway
follows new revisions without a restart. The table's revision is the port's revision, so
a route changed by hand meanwhile is noticed, never overwritten.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.llm.endpoints import parse_ref
from modelward.llm.routing import current_routes, save_routes
from modelward.rollout.ports import TrafficState

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["RoutingTraffic", "routes_serving"]


def _version(ref: str, name: str) -> int | None:
    """The version of ``name`` that ``ref`` (``name:N``) pins, else None."""
    model, version = parse_ref(ref)
    return int(version) if model == name and version.isdigit() else None


def _split(route: dict[str, Any], name: str) -> dict[int, float]:
    """Version of ``name`` -> percent of the route's traffic it takes."""
    split: dict[int, float] = {}
    canary = route.get("canary") or {}
    canary_version = _version(str(canary.get("model", "")), name)
    weight = float(canary.get("weight", 0)) if canary_version is not None else 0.0
    primary = _version(route["models"][0], name)
    if primary is not None:
        split[primary] = 100.0 - weight
    if canary_version is not None:
        split[canary_version] = split.get(canary_version, 0.0) + weight
    return split


def routes_serving(
    routes: dict[str, Any], name: str, scope: Sequence[str] | None = None
) -> list[str]:
    """The query types whose route serves a version of ``name`` (first model or canary),
    limited to ``scope`` when given (an unknown or foreign query type there is refused)."""
    serving = [q for q, route in sorted(routes.items()) if _split(route, name)]
    if scope is None:
        return serving
    missing = [q for q in scope if q not in serving]
    if missing:
        raise ConfigError(
            f"route(s) {', '.join(map(repr, missing))} do not serve {name!r} (routes serving "
            f"it: {', '.join(serving) or 'none'}); see `modelward llm routes show`",
            field="route",
        )
    return list(scope)


class RoutingTraffic:
    """TrafficPort over the routing table of each gateway environment."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def current(self, name: str, env: str, *, scope: Sequence[str] | None = None) -> TrafficState:
        table = current_routes(self.ws, env)
        if table is None:
            return TrafficState((), 0)
        splits = [_split(table.routes[q], name) for q in routes_serving(table.routes, name, scope)]
        if not splits:
            return TrafficState((), table.revision)
        if all(split == splits[0] for split in splits):
            targets = splits[0]
        else:  # routes disagree: every version shows, with its mean share
            versions = {v for split in splits for v in split}
            targets = {v: sum(s.get(v, 0.0) for s in splits) / len(splits) for v in versions}
        ordered = sorted(targets.items(), key=lambda vw: -vw[1])
        return TrafficState(tuple((v, w) for v, w in ordered if w > 0), table.revision)

    def set_targets(
        self,
        name: str,
        env: str,
        targets: Sequence[tuple[int, float]],
        *,
        reason: str,
        actor: str,
        expected_revision: int,
        scope: Sequence[str] | None = None,
    ) -> TrafficState:
        """``targets`` is ``((version, 100),)`` or ``((stable, 100 - w), (canary, w))``:
        the first serves the route, the second is its canary at ``w`` percent."""
        table = current_routes(self.ws, env)
        if table is None:
            raise ConfigError(f"the {env} routing table is empty; nothing serves {name!r}")
        live = [(int(v), float(w)) for v, w in targets if float(w) > 0]
        routes = dict(table.routes)
        for query_type in routes_serving(routes, name, scope):
            routes[query_type] = _route_to(routes[query_type], name, live)
        save_routes(
            self.ws, routes, reason=reason, actor=actor, environment=env,
            expected_revision=expected_revision,
        )  # fmt: skip
        return self.current(name, env, scope=scope)


def _route_to(route: dict[str, Any], name: str, targets: list[tuple[int, float]]) -> dict[str, Any]:
    """The route with ``name``'s versions replaced by ``targets``; other models (the
    fallbacks) keep their order after it."""
    first = f"{name}:{targets[0][0]}"
    others = [ref for ref in route["models"] if _version(ref, name) is None]
    out: dict[str, Any] = {"models": [first, *others]}
    canary = route.get("canary")
    if canary and _version(str(canary.get("model", "")), name) is None:
        out["canary"] = canary  # someone else's canary on this route stays
    if len(targets) > 1:
        if "canary" in out:
            raise ConfigError(
                f"a route serving {name!r} already has a canary of {out['canary']['model']}; "
                "finish that one before a rollout of another model on it"
            )
        version, weight = targets[1]
        out["canary"] = {"model": f"{name}:{version}", "weight": weight}
    return out
