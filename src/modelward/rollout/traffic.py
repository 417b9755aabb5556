"""TrafficPort adapters: over the serving layer's ``workspace.deployments`` when it is there,
else directly over the ``deployments`` table (targets JSON, previous, revision)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from modelward.errors import ConfigError, ConflictError
from modelward.rollout.ports import TrafficState
from modelward.store.tables import DeploymentRow
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.registry.registry import Registry
    from modelward.rollout.ports import TrafficPort
    from modelward.workspace import Workspace

__all__ = ["DeploymentTraffic", "ServingTraffic", "default_traffic", "parse_targets"]


def parse_targets(raw: object) -> tuple[tuple[int, float], ...]:
    out = []
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and "version" in item:
            out.append((int(item["version"]), float(item.get("weight", 100))))
    return tuple(out)


class DeploymentTraffic:
    """Reads and writes a model's deployment row; every change is a history event."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.db = registry.db

    def current(self, name: str, env: str) -> TrafficState:
        with self.db.session(readonly=True) as session:
            model = self.registry._model_row(session, name)
            row = session.scalar(
                select(DeploymentRow).where(
                    DeploymentRow.model_id == model.id, DeploymentRow.environment == env
                )
            )
            if row is None:
                return TrafficState((), 0)
            return TrafficState(parse_targets(row.targets), row.revision)

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
        total = sum(weight for _, weight in targets)
        if not targets or abs(total - 100) > 1e-6 or any(w < 0 for _, w in targets):
            raise ConfigError(f"traffic weights must be >= 0 and add up to 100, got {targets}")
        body = [{"version": int(v), "weight": float(w)} for v, w in targets if w > 0]
        with self.db.session() as session:
            model = self.registry._model_row(session, name)
            row = session.scalar(
                select(DeploymentRow)
                .where(DeploymentRow.model_id == model.id, DeploymentRow.environment == env)
                .with_for_update()
            )
            seen = row.revision if row is not None else 0
            if seen != expected_revision:
                raise ConflictError(
                    f"the {env} deployment of {name!r} changed (revision {seen}, expected "
                    f"{expected_revision}); look at it and retry"
                )
            now = utcnow()
            if row is None:
                row = DeploymentRow(
                    model_id=model.id, environment=env, targets=body, previous=None,
                    revision=1, updated_at=now, updated_by=actor,
                )  # fmt: skip
                session.add(row)
            else:
                # As the serving layer does: the rollback target stays where the change
                # began, so every step of a canary rolls back to the version before it.
                row.targets = body
                row.revision = seen + 1
                row.updated_at = now
                row.updated_by = actor
            session.flush()
            self.registry._event(
                session, model.id, None, "deployment-targets", actor, reason=reason,
                details={"environment": env, "targets": body, "revision": row.revision},
            )  # fmt: skip
            return TrafficState(parse_targets(body), row.revision)

    def remove(self, name: str, env: str, *, actor: str, expected_revision: int) -> None:
        """Delete the environment's deployment (used to undo a first deploy)."""
        with self.db.session() as session:
            model = self.registry._model_row(session, name)
            row = session.scalar(
                select(DeploymentRow)
                .where(DeploymentRow.model_id == model.id, DeploymentRow.environment == env)
                .with_for_update()
            )
            if row is None:
                return
            if row.revision != expected_revision:
                raise ConflictError(
                    f"the {env} deployment of {name!r} changed (revision {row.revision}, "
                    f"expected {expected_revision}); look at it and retry"
                )
            session.delete(row)
            self.registry._event(
                session, model.id, None, "undeployed", actor, details={"environment": env}
            )


def _state(info: Any) -> TrafficState:
    """A serving-layer DeploymentInfo as the rollout's TrafficState."""
    return TrafficState(tuple((t.version, t.weight) for t in info.targets), info.revision)


class ServingTraffic:
    """TrafficPort over ``workspace.deployments`` (``get`` / ``set_targets`` with revisions)."""

    def __init__(self, deployments: Any) -> None:
        self.deployments = deployments

    def current(self, name: str, env: str) -> TrafficState:
        from modelward.errors import NotFound

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
        """Delete the environment's deployment row (undoing a first deploy)."""
        DeploymentTraffic(self.deployments.registry).remove(
            name, env, actor=actor, expected_revision=expected_revision
        )


def default_traffic(workspace: Workspace) -> TrafficPort:
    """The serving layer's deployments API when this build has it, else the table adapter."""
    deployments = getattr(workspace, "deployments", None)
    if deployments is not None:
        return ServingTraffic(deployments)
    return DeploymentTraffic(workspace.registry)
