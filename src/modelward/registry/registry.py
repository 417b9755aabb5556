"""The model registry: models, immutable versions, aliases, stages, history, run records."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from modelward.errors import (
    AlreadyExists,
    ConfigError,
    ModelwardError,
    NotFound,
    RaceLost,
    TransitionError,
)
from modelward.registry.actor import default_actor
from modelward.registry.catalog import EVENT_FIELDS, Catalog, event_info, no_model, no_version
from modelward.registry.criteria import NO_CRITERIA, Criteria
from modelward.registry.gates import APPROVED, run_gates
from modelward.registry.names import check_alias, check_model_name
from modelward.registry.notices import deprecation_notice
from modelward.registry.records import (
    AliasInfo,
    EventInfo,
    ModelInfo,
    VersionInfo,
    jsonable,
)
from modelward.registry.snapshot import (
    check_expected,
    check_moves_since_start,
    check_snapshot,
    lock_model,
    read_snapshot,
)
from modelward.registry.stages import Stage, check_transition, parse_stage
from modelward.store.plain import PlainDB
from modelward.store.tables import AliasRow, EventRow, ModelRow, VersionRow
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.artifacts.store import ArtifactStore
    from modelward.store.db import Database

__all__ = ["TASKS", "Registry", "default_actor"]

TASKS = (
    "binary-classification",
    "multiclass-classification",
    "regression",
    "text-generation",
)


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; use one of {', '.join(TASKS)}", field="task")
    return task


class Registry(Catalog):
    """Models and versions in the metadata DB, artifacts in the artifact store: the
    :class:`~modelward.registry.catalog.Catalog`'s reads, and every change, through
    SQLAlchemy."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        *,
        notify: Callable[..., None] | None = None,
        criteria: Criteria = NO_CRITERIA,
        sql: PlainDB | None = None,
    ) -> None:
        super().__init__(sql or PlainDB(db.url), artifacts, criteria=criteria)
        self.db = db
        #: ``Alerting.notify`` of the workspace: stage changes are sent to the alert sinks
        self.notify = notify

    # -- models ---------------------------------------------------------------------------

    def create_model(
        self,
        name: str,
        *,
        task: str,
        description: str = "",
        tags: dict[str, Any] | None = None,
        actor: str | None = None,
    ) -> ModelInfo:
        check_model_name(name)
        check_task(task)
        actor = actor or default_actor()
        try:
            with self.db.session() as session:
                if session.scalar(select(ModelRow.id).where(ModelRow.name == name)):
                    raise AlreadyExists(
                        f"model {name!r} already exists; register a new version of it instead"
                    )
                row = ModelRow(
                    name=name,
                    task=task,
                    description=description,
                    tags=dict(tags or {}),
                    created_at=utcnow(),
                    created_by=actor,
                )
                session.add(row)
                session.flush()
                self._event(session, row.id, None, "model-created", actor, details={"task": task})
        except RaceLost as exc:
            raise AlreadyExists(f"model {name!r} was created concurrently; use it") from exc
        return self.get_model(name)

    def _model_row(self, session: Session, name: str) -> ModelRow:
        row = session.scalar(select(ModelRow).where(ModelRow.name == name))
        if row is None:
            known = session.scalars(select(ModelRow.name).order_by(ModelRow.name).limit(8)).all()
            raise no_model(name, known)
        return row

    # -- versions -------------------------------------------------------------------------

    def add_version(
        self,
        name: str,
        *,
        kind: str,
        flavor: str,
        sha256: str | None = None,
        size: int | None = None,
        spec: dict[str, Any] | None = None,
        input_schema: dict[str, Any] | None = None,
        reference_profile: dict[str, Any] | None = None,
        data_fingerprint: str | None = None,
        params: dict[str, Any] | None = None,
        metrics: dict[str, Any] | None = None,
        tags: dict[str, Any] | None = None,
        source: dict[str, Any] | None = None,
        description: str = "",
        actor: str | None = None,
    ) -> VersionInfo:
        """Record a new immutable version in ``development``. The model must exist."""
        actor = actor or default_actor()
        with self.db.session() as session:
            model = self._model_row(session, name)
            # Lock the model row so concurrent registrations number versions in turn.
            session.execute(select(ModelRow.id).where(ModelRow.id == model.id).with_for_update())
            number = (
                session.scalar(
                    select(func.max(VersionRow.version)).where(VersionRow.model_id == model.id)
                )
                or 0
            ) + 1
            row = VersionRow(
                model_id=model.id,
                version=number,
                kind=kind,
                flavor=flavor,
                sha256=sha256,
                size=size,
                spec=dict(spec or {}),
                input_schema=dict(input_schema or {}),
                reference_profile=reference_profile,
                data_fingerprint=data_fingerprint,
                params=jsonable(params or {}),
                metrics=jsonable(metrics or {}),
                tags=dict(tags or {}),
                source=dict(source or {}),
                description=description,
                stage=Stage.DEVELOPMENT.value,
                created_at=utcnow(),
                created_by=actor,
            )
            session.add(row)
            session.flush()
            self._event(
                session,
                model.id,
                number,
                "registered",
                actor,
                to_stage=Stage.DEVELOPMENT.value,
                details={"sha256": sha256, "flavor": flavor, "kind": kind},
            )
        return self.get_version(name, number)

    def _version_row(self, session: Session, name: str, version: int | str) -> VersionRow:
        model = self._model_row(session, name)
        ref = str(version)
        if ref == "latest":
            row = session.scalar(
                select(VersionRow)
                .where(VersionRow.model_id == model.id)
                .order_by(VersionRow.version.desc())
                .limit(1)
            )
        elif ref.isdigit():
            row = session.scalar(
                select(VersionRow).where(
                    VersionRow.model_id == model.id, VersionRow.version == int(ref)
                )
            )
        else:
            row = session.scalar(
                select(VersionRow)
                .join(AliasRow, AliasRow.version_id == VersionRow.id)
                .where(AliasRow.model_id == model.id, AliasRow.alias == ref)
            )
        if row is None:
            versions = session.scalars(
                select(VersionRow.version).where(VersionRow.model_id == model.id)
            ).all()
            raise no_version(name, ref, versions)
        return row

    # -- lifecycle ------------------------------------------------------------------------

    def transition(
        self,
        name: str,
        version: int | str,
        to: str | Stage,
        *,
        reason: str,
        actor: str | None = None,
        force: bool = False,
        replace: bool = False,
        expected: int | None | EllipsisType = ...,
        started: datetime | None = None,
        details: dict[str, Any] | None = None,
    ) -> EventInfo:
        """Move a version to another stage, through the state machine and the gates.

        ``replace=True`` moves the version currently in production to ``maintenance`` in the
        same transaction; without it, entering production while another version is there is
        refused. ``force=True`` overrides failing gates (never the state machine) and needs
        a reason; both are recorded.

        Compare-and-set: the version's stage and the production version are read first and
        must be unchanged at commit, else a ConflictError (nothing changes). ``expected``
        names the version a promotion expects in production (None: none); ``started`` is
        when the caller decided, and a move of the version (or of production, for a
        promotion) recorded since then is refused too (see :mod:`.snapshot`).
        """
        target = parse_stage(to) if isinstance(to, str) else to
        actor = actor or default_actor()
        if not reason or not reason.strip():
            raise TransitionError(
                'a transition needs a reason; pass --reason "why this move"', field="reason"
            )
        if expected is not ... and target != Stage.PRODUCTION:
            raise TransitionError(
                f"--expect-current is for promotions; drop it, or use --to production "
                f"(not {target})",
                field="expected",
            )
        info = self.get_version(name, version)
        with self.db.session(readonly=True) as session:
            row = self._version_row(session, name, info.version)
            seen = read_snapshot(session, name, row, started)
            check_moves_since_start(session, seen, target)
        current = Stage(seen.stage)
        check_transition(current, target)
        if expected is not ...:
            check_expected(seen, expected)
        gates = run_gates(self, info, target)
        failed = [g for g in gates if not g.passed]
        if failed and not force:
            raise TransitionError(
                f"{info.ref} cannot enter {target}: gate {failed[0].name} failed "
                f'({failed[0].detail}); fix it, or override with --force --reason "…"'
            )
        record = {
            "gates": [g.to_dict() for g in gates],
            "forced": bool(failed and force),
            **({"replaced": seen.production} if target == Stage.PRODUCTION else {}),
            **(self._clients(info) if target == Stage.DEPRECATED else {}),
            **(details or {}),
        }
        with self.db.session() as session:
            model = self._model_row(session, name)
            lock_model(session, model.id)
            check_snapshot(session, seen, target)
            if target == Stage.PRODUCTION:
                self._clear_production(session, model, info.version, replace, actor)
            session.execute(
                update(VersionRow)
                .where(VersionRow.model_id == model.id, VersionRow.version == info.version)
                .values(stage=target.value)
            )
            event = self._event(
                session,
                model.id,
                info.version,
                "transition",
                actor,
                from_stage=current.value,
                to_stage=target.value,
                reason=reason,
                details=record,
            )
        if self.notify is not None:
            forced = [f"{g.name} ({g.detail})" for g in failed] if record["forced"] else []
            self.notify(
                source="lifecycle", event="forced-transition" if forced else "transition",
                level="warning" if forced else "info", model=name, version=info.version,
                key=f"event:{event.id}", details={"actor": actor, "reason": reason,
                                                  "from": current.value, "to": target.value},
                message=f"{info.ref}: {current} → {target} by {actor}"
                + (f", overriding gate(s) {', '.join(forced)}" if forced else "")
                + f": {reason}",
            )  # fmt: skip
        if target == Stage.DEPRECATED and self.notify is not None:
            self.notify(**deprecation_notice(info, event, record["notice"]))
        return event

    def _clients(self, info: VersionInfo) -> dict[str, Any]:
        """Who used the version in the notice window: ``{"notice": {...}}`` for the
        deprecation's history line and notice (a log that cannot be read is said so)."""
        days = self.criteria.notice_days(info.model)
        since = utcnow() - timedelta(days=days)
        try:
            seen = self.criteria.traffic(info.model, info.version, since=since)
        except ModelwardError as exc:  # the move is not held up by the log: say it
            return {"notice": {"days": days, "clients": None, "error": exc.message}}
        if seen is None:
            return {"notice": {"days": days, "clients": None, "error": "no prediction log"}}
        return {"notice": {"days": days, "clients": dict(seen.clients)}}

    # -- approvals ------------------------------------------------------------------------

    def approve(
        self,
        name: str,
        version: int | str,
        *,
        reason: str,
        stage: str = "production",
        actor: str | None = None,
    ) -> EventInfo:
        """Record ``actor``'s approval of a version for ``stage`` (production): an
        ``approved`` history event. The production gate counts distinct approvers."""
        actor = actor or default_actor()
        if parse_stage(stage) != Stage.PRODUCTION:
            raise ConfigError(
                f"approvals are for production, not {stage}; pass --for production",
                field="for",
            )
        if not reason or not reason.strip():
            raise ConfigError(
                'an approval needs a reason; pass --reason "what you checked"', field="reason"
            )
        info = self.get_version(name, version)
        if info.stage == Stage.RETIRED:
            raise TransitionError(
                f"{info.ref} is retired and retired is final; there is nothing to approve"
            )
        return self.record_event(
            name, APPROVED, version=info.version, reason=reason.strip(),
            details={"for": Stage.PRODUCTION.value}, actor=actor,
        )  # fmt: skip

    def _clear_production(
        self, session: Session, model: ModelRow, version: int, replace: bool, actor: str
    ) -> None:
        incumbent = session.scalar(
            select(VersionRow).where(
                VersionRow.model_id == model.id, VersionRow.stage == Stage.PRODUCTION.value
            )
        )
        if incumbent is None or incumbent.version == version:
            return
        if not replace:
            raise TransitionError(
                f"{model.name}:{incumbent.version} is in production; at most one version may "
                f"be. Move it first, or pass --replace to move it to maintenance in the same step"
            )
        incumbent.stage = Stage.MAINTENANCE.value
        self._event(
            session,
            model.id,
            incumbent.version,
            "transition",
            actor,
            from_stage=Stage.PRODUCTION.value,
            to_stage=Stage.MAINTENANCE.value,
            reason=f"replaced in production by version {version}",
        )
        session.flush()

    # -- aliases --------------------------------------------------------------------------

    def set_alias(
        self,
        name: str,
        alias: str,
        version: int | str,
        *,
        reason: str = "",
        actor: str | None = None,
    ) -> AliasInfo:
        check_alias(alias)
        actor = actor or default_actor()
        with self.db.session() as session:
            model = self._model_row(session, name)
            target = self._version_row(session, name, version)
            row = session.scalar(
                select(AliasRow).where(AliasRow.model_id == model.id, AliasRow.alias == alias)
            )
            previous = None
            now = utcnow()
            if row is None:
                row = AliasRow(model_id=model.id, alias=alias, version_id=target.id, updated_at=now)
                session.add(row)
            else:
                previous = session.scalar(
                    select(VersionRow.version).where(VersionRow.id == row.version_id)
                )
                row.version_id = target.id
                row.updated_at = now
            self._event(
                session,
                model.id,
                target.version,
                "alias-set",
                actor,
                reason=reason,
                details={"alias": alias, "previous": previous},
            )
            return AliasInfo(name, alias, target.version, now)

    def delete_alias(
        self, name: str, alias: str, *, reason: str = "", actor: str | None = None
    ) -> None:
        actor = actor or default_actor()
        with self.db.session() as session:
            model = self._model_row(session, name)
            row = session.scalar(
                select(AliasRow).where(AliasRow.model_id == model.id, AliasRow.alias == alias)
            )
            if row is None:
                raise NotFound(f"model {name!r} has no alias {alias!r}", field="alias")
            version = session.scalar(
                select(VersionRow.version).where(VersionRow.id == row.version_id)
            )
            session.delete(row)
            self._event(
                session,
                model.id,
                version,
                "alias-deleted",
                actor,
                reason=reason,
                details={"alias": alias},
            )

    def record_event(
        self,
        name: str,
        kind: str,
        *,
        version: int | None = None,
        reason: str = "",
        details: dict[str, Any] | None = None,
        actor: str | None = None,
        session: Session | None = None,
    ) -> EventInfo:
        """Append a history line (deploy, rollback, cleanup...) for other subpackages."""
        actor = actor or default_actor()
        if session is not None:
            model = self._model_row(session, name)
            return self._event(
                session, model.id, version, kind, actor, reason=reason, details=details
            )
        with self.db.session() as own:
            model = self._model_row(own, name)
            return self._event(own, model.id, version, kind, actor, reason=reason, details=details)

    def _event(
        self,
        session: Session,
        model_id: int,
        version: int | None,
        kind: str,
        actor: str,
        *,
        from_stage: str | None = None,
        to_stage: str | None = None,
        reason: str = "",
        details: dict[str, Any] | None = None,
    ) -> EventInfo:
        row = EventRow(
            model_id=model_id,
            version=version,
            kind=kind,
            from_stage=from_stage,
            to_stage=to_stage,
            actor=actor,
            reason=reason,
            details=jsonable(details or {}),
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        name = session.scalar(select(ModelRow.name).where(ModelRow.id == model_id)) or "?"
        return event_info(name, [getattr(row, field) for field in EVENT_FIELDS])
