"""``ws.deployments``: which versions serve each environment, with which traffic weights.

A deployment is one row per (model, environment) holding ``targets`` — ``[(version,
weight)]`` — a ``previous`` list (the rollback target) and a ``revision`` that grows by
one on every change. Writers pass ``expected_revision`` for optimistic concurrency: the
change is refused with :class:`~modelward.errors.ConflictError` when somebody else changed
the deployment since it was read (the canary controller relies on this).

The lifecycle and the deployments never disagree: :meth:`Deployments.deploy` moves the
version into the environment's stage through the registry's state machine and gates
(``force=True`` with a reason overrides failing gates, recorded), and
:meth:`Deployments.set_targets` only accepts versions in a serving stage (staging,
production, maintenance). Every change is an event in ``modelward history``
(``deployed``, ``deployment-targets``, ``rolled-back``, ``undeployed``).

Nothing changes for a version whose artifact is missing or corrupt: every version a
change routes to is read back and its sha256 checked first (an :class:`ArtifactError`
naming the file; a forced deploy skips it, as it overrides the artifact-integrity gate).
Before a change is written, every version it routes to is *prepared* (the workspace
passes a callback: the server's proven ONNX conversion is made and cached then), so the
servers that pick the change up, and the next server start, find the model ready.
"""

from __future__ import annotations

import builtins
import logging
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from modelward.deploy.environments import ENVIRONMENTS, check_environment
from modelward.errors import (
    ConfigError,
    ConflictError,
    ModelwardError,
    NotFound,
    TransitionError,
)
from modelward.registry.actor import default_actor
from modelward.registry.records import EventInfo, aware
from modelward.registry.stages import SERVING, Stage
from modelward.store.tables import DeploymentRow, ModelRow
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.registry.registry import Registry

__all__ = [
    "DEPLOY_EVENTS",
    "ENVIRONMENTS",
    "DeploymentInfo",
    "Deployments",
    "Target",
    "check_environment",
]

#: History event kinds written by deployments.
DEPLOY_EVENTS = ("deployed", "deployment-targets", "rolled-back", "undeployed")

log = logging.getLogger("modelward.deploy")


@dataclass(frozen=True)
class Target:
    version: int
    weight: float

    def to_dict(self) -> dict[str, Any]:
        return {"version": self.version, "weight": self.weight}


@dataclass(frozen=True)
class DeploymentInfo:
    model: str
    environment: str
    targets: tuple[Target, ...]
    previous: tuple[Target, ...] | None
    revision: int
    updated_at: datetime
    updated_by: str

    @property
    def primary(self) -> int:
        """The version with the largest weight (the stable one during a canary)."""
        return max(self.targets, key=lambda t: (t.weight, -t.version)).version

    def weights(self) -> list[tuple[int, float]]:
        return [(t.version, t.weight) for t in self.targets if t.weight > 0]

    def to_dict(self) -> dict[str, Any]:
        total = sum(t.weight for t in self.targets) or 1.0
        return {
            "model": self.model,
            "environment": self.environment,
            "targets": [{**t.to_dict(), "share": round(t.weight / total, 6)} for t in self.targets],
            "previous": None if self.previous is None else [t.to_dict() for t in self.previous],
            "revision": self.revision,
            "updated_at": self.updated_at.isoformat(),
            "updated_by": self.updated_by,
        }


def _targets(raw: Iterable[Any] | None) -> tuple[Target, ...] | None:
    if raw is None:
        return None
    return tuple(Target(int(t["version"]), float(t["weight"])) for t in raw)


def _stored(targets: Sequence[Target]) -> list[dict[str, Any]]:
    return [t.to_dict() for t in targets]


class Deployments:
    """Deployments of every model; reached as ``workspace.deployments``."""

    def __init__(
        self,
        registry: Registry,
        prepare: Callable[[str, int], object] | None = None,
        path_of: Callable[[str, int], tuple[str, str | None]] | None = None,
    ) -> None:
        self.registry = registry
        self.db = registry.db
        self.prepare = prepare
        self.path_of = path_of

    # -- reading --------------------------------------------------------------------------

    def get(self, name: str, env: str) -> DeploymentInfo:
        check_environment(env)
        with self.db.session(readonly=True) as session:
            model = self.registry._model_row(session, name)
            row = self._row(session, model.id, env)
            if row is None:
                raise NotFound(
                    f"model {name!r} is not deployed to {env}; deploy it with "
                    f"`modelward deploy {name} --version N --env {env}`",
                    field="environment",
                )
            return _info(name, row)

    def list(self, name: str | None = None, env: str | None = None) -> list[DeploymentInfo]:
        """Every deployment (of one model / one environment), ordered by model and env."""
        if env is not None:
            check_environment(env)
        with self.db.session(readonly=True) as session:
            query = select(DeploymentRow, ModelRow.name).join(
                ModelRow, ModelRow.id == DeploymentRow.model_id
            )
            if name is not None:
                query = query.where(
                    DeploymentRow.model_id == self.registry._model_row(session, name).id
                )
            if env is not None:
                query = query.where(DeploymentRow.environment == env)
            rows = session.execute(query.order_by(ModelRow.name, DeploymentRow.environment))
            return [_info(model, row) for row, model in rows.all()]

    def serving_paths(self, name: str, env: str) -> builtins.list[dict[str, Any]]:
        """Which path a server takes for each version of a deployment: ``onnx`` (a proven
        conversion is cached) or the artifact's flavor (``sklearn``) with the reason, read
        without converting anything (``unproven`` before any deploy or start tried)."""
        info = self.get(name, env)
        found = []
        for target in info.targets:
            path, reason = self.path_of(name, target.version) if self.path_of else ("?", None)
            found.append({"version": target.version, "path": path, "reason": reason})
        return found

    def revisions(self, name: str, env: str | None = None) -> builtins.list[EventInfo]:
        """The deployment history of a model (oldest first), optionally of one environment."""
        events = self.registry.history(name, kinds=DEPLOY_EVENTS)
        if env is None:
            return events
        check_environment(env)
        return [e for e in events if e.details.get("environment") == env]

    history = revisions

    # -- changing -------------------------------------------------------------------------

    def deploy(
        self,
        name: str,
        version: int | str,
        env: str,
        *,
        reason: str = "",
        actor: str | None = None,
        force: bool = False,
        backup: bool = True,
        expected_revision: int | None = None,
    ) -> DeploymentInfo:
        """Send all of ``env``'s traffic to one version, keeping the old targets as backup.

        The version's artifact is checked first, then it enters the environment's stage
        (through the gates; entering production moves the incumbent to maintenance).
        ``force=True`` overrides failing gates and the artifact check, and needs a
        ``reason``. With ``backup=False`` the old rollback target stays.
        """
        check_environment(env)
        actor = actor or default_actor()
        if force and not reason.strip():
            raise ConfigError('a forced deploy needs a reason; pass --reason "why"', field="reason")
        info = self.registry.get_version(name, version)
        if not force:  # the artifact-integrity gate, also for a version already in the stage
            self._verify(name, (Target(info.version, 100.0),))
        self._check_revision(name, env, expected_revision)
        moved = None
        if not _stage_fits(info.stage, env):
            # testing -> production walks through staging: both stages' gates apply.
            path = [Stage.STAGING, Stage.PRODUCTION] if info.stage == "testing" else [Stage(env)]
            for stage in path[: path.index(Stage(env)) + 1]:
                moved = self.registry.transition(
                    name,
                    info.version,
                    stage,
                    reason=reason or f"deployed to {env}",
                    actor=actor,
                    force=force,
                    replace=stage == Stage.PRODUCTION,
                    details={"via": "deploy"},
                )
        return self._write(
            name,
            env,
            (Target(info.version, 100.0),),
            kind="deployed",
            reason=reason,
            actor=actor,
            backup=backup,
            expected_revision=expected_revision,
            extra={"forced": bool(moved and moved.details.get("forced"))},
        )

    def set_targets(
        self,
        name: str,
        env: str,
        targets: Sequence[tuple[int, float]],
        *,
        reason: str = "",
        actor: str | None = None,
        expected_revision: int | None = None,
        backup: bool = False,
    ) -> DeploymentInfo:
        """Replace the traffic split, e.g. ``[(3, 95), (4, 5)]`` for a 5 % canary.

        Weights are relative (any positive scale); versions must be in a serving stage.
        ``backup=True`` makes the current split the rollback target; by default the
        rollback target is left alone, so a canary's steps all roll back to where it began.
        """
        check_environment(env)
        actor = actor or default_actor()
        checked = self._check_targets(name, targets)
        self._verify(name, checked)
        return self._write(
            name,
            env,
            checked,
            kind="deployment-targets",
            reason=reason,
            actor=actor,
            backup=backup,
            expected_revision=expected_revision,
        )

    def rollback(
        self,
        name: str,
        env: str,
        *,
        reason: str = "",
        actor: str | None = None,
        expected_revision: int | None = None,
    ) -> DeploymentInfo:
        """Restore the rollback target; the targets it replaces become the new one."""
        current = self.get(name, env)
        actor = actor or default_actor()
        if current.previous is None:
            raise NotFound(
                f"{name} in {env} has no earlier deployment to roll back to; deploy a "
                f"version with `modelward deploy {name} --version N --env {env}`",
                field="environment",
            )
        if expected_revision is not None and expected_revision != current.revision:
            raise _conflict(name, env, expected_revision, current.revision)
        restored = current.previous
        self._verify(name, restored)
        primary = max(restored, key=lambda t: (t.weight, -t.version)).version
        for target in restored:
            stage = self.registry.get_version(name, target.version).stage
            if Stage(stage) not in SERVING:
                raise TransitionError(
                    f"{name}:{target.version} is {stage} and cannot serve traffic; deploy "
                    f"another version with `modelward deploy {name} --version N --env {env}`"
                )
        if env == Stage.PRODUCTION.value:
            stage = self.registry.get_version(name, primary).stage
            if stage != Stage.PRODUCTION.value:
                self.registry.transition(
                    name,
                    primary,
                    Stage.PRODUCTION,
                    reason=f"rollback: {reason}" if reason else "rollback",
                    actor=actor,
                    force=True,  # it served production before; the rollback must not stall
                    replace=True,
                    details={"via": "rollback"},
                )
        return self._write(
            name,
            env,
            restored,
            kind="rolled-back",
            reason=reason,
            actor=actor,
            backup=True,
            expected_revision=current.revision,
        )

    def remove(
        self,
        name: str,
        env: str,
        *,
        reason: str = "",
        actor: str | None = None,
        expected_revision: int | None = None,
    ) -> None:
        """Take ``env``'s deployment away (the update pipeline undoes a first deploy so)."""
        check_environment(env)
        actor = actor or default_actor()
        with self.db.session() as session:
            model = self.registry._model_row(session, name)
            row = self._row(session, model.id, env, lock=True)
            if row is None:
                return
            if expected_revision is not None and row.revision != expected_revision:
                raise _conflict(name, env, expected_revision, row.revision)
            targets = _targets(row.targets) or ()
            session.delete(row)
            self.registry.record_event(
                name,
                "undeployed",
                reason=reason,
                actor=actor,
                session=session,
                details={"environment": env, "previous": _stored(targets)},
            )

    # -- internals ------------------------------------------------------------------------

    def _row(
        self, session: Session, model_id: int, env: str, *, lock: bool = False
    ) -> DeploymentRow | None:
        """``env``'s deployment row; with ``lock`` held until the transaction ends."""
        query = select(DeploymentRow).where(
            DeploymentRow.model_id == model_id, DeploymentRow.environment == env
        )
        return session.scalar(query.with_for_update() if lock else query)

    def _check_revision(self, name: str, env: str, expected: int | None) -> None:
        if expected is None:
            return
        try:
            revision = self.get(name, env).revision
        except NotFound:
            revision = 0
        if revision != expected:
            raise _conflict(name, env, expected, revision)

    def _check_targets(self, name: str, targets: Sequence[tuple[int, float]]) -> tuple[Target, ...]:
        if not targets:
            raise ConfigError("a deployment needs at least one version", field="targets")
        seen: set[int] = set()
        out = []
        for version, weight in targets:
            try:
                weight = float(weight)
            except (TypeError, ValueError) as exc:
                raise ConfigError(
                    f"weight {weight!r} of version {version} is not a number", field="targets"
                ) from exc
            if not math.isfinite(weight) or weight < 0:
                raise ConfigError(
                    f"weight {weight} of version {version} must be a number >= 0",
                    field="targets",
                )
            info = self.registry.get_version(name, version)
            if info.version in seen:
                raise ConfigError(f"version {info.version} is listed twice", field="targets")
            seen.add(info.version)
            if Stage(info.stage) not in SERVING:
                raise TransitionError(
                    f"{info.ref} is in {info.stage} and cannot receive traffic; move it to "
                    f"staging first (`modelward transition {name} {info.version} --to staging`)"
                )
            out.append(Target(info.version, weight))
        if sum(t.weight for t in out) <= 0:
            raise ConfigError("the weights must not all be 0", field="targets")
        return tuple(out)

    def _verify(self, name: str, targets: Sequence[Target]) -> None:
        """Every routed version's artifact is intact (ArtifactError naming the file)."""
        for target in targets:
            if target.weight > 0:
                self.registry.verify_artifact(name, target.version)

    def _prepare(self, name: str, targets: Sequence[Target]) -> None:
        """Ready every routed version for serving, outside the write transaction. A
        version that cannot be prepared still deploys: the server loads it the slow way
        and reports any real problem on ``/readyz``."""
        if self.prepare is None:
            return
        for target in targets:
            try:
                self.prepare(name, target.version)
            except ModelwardError as exc:
                log.warning("could not prepare %s:%s for serving: %s", name, target.version, exc)

    def _write(
        self,
        name: str,
        env: str,
        targets: Sequence[Target],
        *,
        kind: str,
        reason: str,
        actor: str,
        backup: bool,
        expected_revision: int | None,
        extra: dict[str, Any] | None = None,
    ) -> DeploymentInfo:
        self._prepare(name, targets)
        now = utcnow()
        with self.db.session() as session:
            model = self.registry._model_row(session, name)
            row = self._row(session, model.id, env, lock=True)
            have = row.revision if row is not None else 0
            if expected_revision is not None and have != expected_revision:
                raise _conflict(name, env, expected_revision, have)
            old = _targets(row.targets) if row is not None else None
            previous = (old if backup else _targets(row.previous)) if row is not None else None
            if row is None:
                row = DeploymentRow(
                    model_id=model.id,
                    environment=env,
                    targets=_stored(targets),
                    previous=None,
                    revision=1,
                    updated_at=now,
                    updated_by=actor,
                )
                session.add(row)
                session.flush()
            else:
                changed = session.execute(
                    update(DeploymentRow)
                    .where(DeploymentRow.id == row.id, DeploymentRow.revision == have)
                    .values(
                        targets=_stored(targets),
                        previous=None if previous is None else _stored(previous),
                        revision=have + 1,
                        updated_at=now,
                        updated_by=actor,
                    )
                    .execution_options(synchronize_session=False)
                )
                if int(getattr(changed, "rowcount", 0)) != 1:
                    raise _conflict(name, env, have, have + 1)
            primary = max(targets, key=lambda t: (t.weight, -t.version)).version
            self.registry.record_event(
                name,
                kind,
                version=primary,
                reason=reason,
                actor=actor,
                session=session,
                details={
                    "environment": env,
                    "targets": _stored(targets),
                    "previous": None if old is None else _stored(old),
                    "revision": have + 1,
                    **(extra or {}),
                },
            )
            return DeploymentInfo(
                model=name,
                environment=env,
                targets=tuple(targets),
                previous=None if previous is None else tuple(previous),
                revision=have + 1,
                updated_at=now,
                updated_by=actor,
            )


def _stage_fits(stage: str, env: str) -> bool:
    """True when a version in ``stage`` may serve ``env`` without a lifecycle move."""
    if env == Stage.PRODUCTION.value:
        return stage == Stage.PRODUCTION.value
    return Stage(stage) in SERVING


def _conflict(name: str, env: str, expected: int, found: int) -> ConflictError:
    return ConflictError(
        f"the {env} deployment of {name!r} is at revision {found}, not {expected}: it changed "
        f"meanwhile; look at `modelward deployments show {name} --env {env}` and retry",
        field="expected_revision",
    )


def _info(name: str, row: DeploymentRow) -> DeploymentInfo:
    return DeploymentInfo(
        model=name,
        environment=row.environment,
        targets=_targets(row.targets) or (),
        previous=_targets(row.previous),
        revision=row.revision,
        updated_at=aware(row.updated_at),
        updated_by=row.updated_by,
    )
