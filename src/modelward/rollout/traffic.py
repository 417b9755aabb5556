"""The rollout's TrafficPort over ``workspace.deployments``, the one writer of the
deployments table (revisions, the rollback target, history events, prepared models)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from modelward.errors import NotFound
from modelward.rollout.ports import TrafficState

if TYPE_CHECKING:
    from modelward.deploy.deployments import Deployments
    from modelward.rollout.ports import TrafficPort
    from modelward.workspace import Workspace

__all__ = ["ServingTraffic", "default_traffic"]


def _state(info: Any) -> TrafficState:
    """A DeploymentInfo as the rollout's TrafficState."""
    return TrafficState(tuple((t.version, t.weight) for t in info.targets), info.revision)


class ServingTraffic:
    """TrafficPort over ``workspace.deployments`` (``get`` / ``set_targets`` with revisions)."""

    def __init__(self, deployments: Deployments) -> None:
        self.deployments = deployments

    def current(self, name: str, env: str) -> TrafficState:
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
    ) -> TrafficState:
        info = self.deployments.set_targets(
            name, env, list(targets), reason=reason, actor=actor,
            expected_revision=expected_revision,
        )  # fmt: skip
        return _state(info)

    def remove(self, name: str, env: str, *, actor: str, expected_revision: int) -> None:
        """Delete the environment's deployment (undoing a first deploy)."""
        self.deployments.remove(name, env, actor=actor, expected_revision=expected_revision)


def default_traffic(workspace: Workspace) -> TrafficPort:
    return ServingTraffic(workspace.deployments)
