"""The rollout's TrafficPort over ``workspace.deployments``, the one writer of the
deployments table (revisions, the rollback target, history events, prepared models), and
the port a workspace uses by default: deployments for tabular models, the LLM gateway's
routing table for endpoint models."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modelward.errors import NotFound
from modelward.rollout.ports import TrafficState
from modelward.rollout.routing_traffic import RoutingTraffic

if TYPE_CHECKING:
    from modelward.deploy.deployments import Deployments
    from modelward.rollout.ports import TrafficPort
    from modelward.workspace import Workspace

__all__ = ["ModelTraffic", "ServingTraffic", "default_traffic"]

#: The task of endpoint models: their traffic is the gateway's routing table.
ENDPOINT_TASK = "text-generation"


def _state(info: Any) -> TrafficState:
    """A DeploymentInfo as the rollout's TrafficState."""
    return TrafficState(tuple((t.version, t.weight) for t in info.targets), info.revision)


class ServingTraffic:
    """TrafficPort over ``workspace.deployments`` (``get`` / ``set_targets`` with revisions)."""

    def __init__(self, deployments: Deployments) -> None:
        self.deployments = deployments

    def current(self, name: str, env: str, *, scope: Sequence[str] | None = None) -> TrafficState:
        try:
            info = self.deployments.get(name, env)
        except NotFound:
            return TrafficState((), 0)
        return _state(info)

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
        info = self.deployments.set_targets(
            name, env, list(targets), reason=reason, actor=actor,
            expected_revision=expected_revision,
        )  # fmt: skip
        return _state(info)

    def remove(self, name: str, env: str, *, actor: str, expected_revision: int) -> None:
        """Delete the environment's deployment (undoing a first deploy)."""
        self.deployments.remove(name, env, actor=actor, expected_revision=expected_revision)


class ModelTraffic:
    """Each model's own traffic: the deployments table for tabular models, the routing
    table for endpoint models (``scope``: the query types a rollout moves)."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace
        self.serving = ServingTraffic(workspace.deployments)
        self.routing = RoutingTraffic(workspace)

    def port(self, name: str) -> ServingTraffic | RoutingTraffic:
        try:
            task = self.ws.registry.get_model(name).task
        except NotFound:
            return self.serving
        return self.routing if task == ENDPOINT_TASK else self.serving

    def current(self, name: str, env: str, *, scope: Sequence[str] | None = None) -> TrafficState:
        return self.port(name).current(name, env, scope=scope)

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
        return self.port(name).set_targets(
            name, env, targets, reason=reason, actor=actor, expected_revision=expected_revision,
            scope=scope,
        )  # fmt: skip

    def remove(self, name: str, env: str, *, actor: str, expected_revision: int) -> None:
        self.serving.remove(name, env, actor=actor, expected_revision=expected_revision)


def default_traffic(workspace: Workspace) -> TrafficPort:
    return ModelTraffic(workspace)
