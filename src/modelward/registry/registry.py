"""The model registry: models, immutable versions, aliases, stages, history, run records."""

from __future__ import annotations

import getpass
import os
import socket
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime, timedelta
from types import EllipsisType
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from modelward.errors import (
    AlreadyExists,
    ArtifactDamaged,
    ConfigError,
    ModelwardError,
    NotFound,
    RaceLost,
    TransitionError,
)
from modelward.registry.criteria import NO_CRITERIA, Criteria
from modelward.registry.gates import APPROVED, approvers, run_gates
from modelward.registry.names import check_alias, check_model_name
from modelward.registry.notices import deprecation_notice
from modelward.registry.records import (
    AliasInfo,
    EventInfo,
    ModelInfo,
    RunInfo,
    VersionInfo,
    aware,
)
from modelward.registry.snapshot import (
    check_expected,
    check_moves_since_start,
    check_snapshot,
    lock_model,
    read_snapshot,
)
from modelward.registry.stages import Stage, check_transition, parse_stage
from modelward.store.tables import AliasRow, EventRow, ModelRow, RunRow, VersionRow
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.artifacts.store import ArtifactStore
    from modelward.flavors.base import Flavor
    from modelward.store.db import Database

__all__ = ["TASKS", "Registry", "default_actor"]

TASKS = (
    "binary-classification",
    "multiclass-classification",
    "regression",
    "text-generation",
)


def default_actor() -> str:
    actor = os.environ.get("MODELWARD_ACTOR")
    if actor:
        return actor
    try:
        user = getpass.getuser()
    except Exception:  # noqa: BLE001 - no user name in some containers
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def check_task(task: str) -> str:
    if task not in TASKS:
        raise ConfigError(f"unknown task {task!r}; use one of {', '.join(TASKS)}", field="task")
    return task


class Registry:
    """Models and versions in the metadata DB, artifacts in the artifact store."""

    def __init__(
        self,
        db: Database,
        artifacts: ArtifactStore,
        *,
        notify: Callable[..., None] | None = None,
        criteria: Criteria = NO_CRITERIA,
    ) -> None:
        self.db = db
        self.artifacts = artifacts
        #: ``Alerting.notify`` of the workspace: stage changes are sent to the alert sinks
        self.notify = notify
        #: the policy's human criteria and the log's traffic (the workspace gives them)
        self.criteria = criteria

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

    def get_model(self, name: str) -> ModelInfo:
        with self.db.session(readonly=True) as session:
            row = self._model_row(session, name)
            return self._model_info(session, row)

    def list_models(self) -> list[ModelInfo]:
        with self.db.session(readonly=True) as session:
            rows = session.scalars(select(ModelRow).order_by(ModelRow.name)).all()
            return [self._model_info(session, row) for row in rows]

    def _model_row(self, session: Session, name: str) -> ModelRow:
        row = session.scalar(select(ModelRow).where(ModelRow.name == name))
        if row is None:
            known = session.scalars(select(ModelRow.name).order_by(ModelRow.name).limit(8)).all()
            hint = f"known models: {', '.join(known)}" if known else "the registry is empty"
            raise NotFound(
                f"no model named {name!r} ({hint}); see `modelward models list`", field="name"
            )
        return row

    def _model_info(self, session: Session, row: ModelRow) -> ModelInfo:
        latest = session.scalar(
            select(func.max(VersionRow.version)).where(VersionRow.model_id == row.id)
        )
        production = session.scalar(
            select(VersionRow.version).where(
                VersionRow.model_id == row.id, VersionRow.stage == Stage.PRODUCTION.value
            )
        )
        aliases = session.execute(
            select(AliasRow.alias, VersionRow.version)
            .join(VersionRow, AliasRow.version_id == VersionRow.id)
            .where(AliasRow.model_id == row.id)
            .order_by(AliasRow.alias)
        ).all()
        return ModelInfo(
            name=row.name,
            task=row.task,
            description=row.description,
            tags=dict(row.tags or {}),
            created_at=aware(row.created_at),
            created_by=row.created_by,
            latest_version=latest,
            production_version=production,
            aliases={alias: version for alias, version in aliases},
        )

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
                params=_jsonable(params or {}),
                metrics=_jsonable(metrics or {}),
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

    def get_version(self, name: str, version: int | str) -> VersionInfo:
        """A version by number, ``latest``, or an alias (``champion``)."""
        with self.db.session(readonly=True) as session:
            row = self._version_row(session, name, version)
            return self._version_info(session, name, row)

    def list_versions(self, name: str, *, stage: str | None = None) -> list[VersionInfo]:
        with self.db.session(readonly=True) as session:
            model = self._model_row(session, name)
            query = select(VersionRow).where(VersionRow.model_id == model.id)
            if stage:
                query = query.where(VersionRow.stage == parse_stage(stage).value)
            rows = session.scalars(query.order_by(VersionRow.version)).all()
            return [self._version_info(session, name, row) for row in rows]

    def reference_profile(self, name: str, version: int | str) -> dict[str, Any] | None:
        with self.db.session(readonly=True) as session:
            return self._version_row(session, name, version).reference_profile

    def load_model(self, name: str, version: int | str) -> Flavor:
        """The version's model, loaded through its flavor after the checksum is verified."""
        info = self.get_version(name, version)
        if info.kind != "artifact" or info.sha256 is None:
            raise ConfigError(f"{info.ref} is an endpoint model; it has no artifact to load")
        # here, not at the top: only loading a model needs the flavors, and every read of
        # the registry (`versions list`) would pay for them
        from modelward.flavors import get_flavor

        return get_flavor(info.flavor).load(self.artifacts.get(info.sha256))

    def verify_artifact(self, name: str, version: int | str) -> VersionInfo:
        """The version, after its artifact was read back and its sha256 checked; an
        :class:`ArtifactDamaged` naming the file (expected and actual sha256) otherwise."""
        info = self.get_version(name, version)
        if info.sha256 is not None:
            try:
                self.artifacts.get(info.sha256)
            except ArtifactDamaged as exc:
                raise ArtifactDamaged(f"{info.ref}: {exc.message}") from exc
        return info

    def integrity(self, info: VersionInfo) -> dict[str, str]:
        """``{"status": "ok" | "corrupt" | "missing" | "none", "detail": …}`` for a version's
        artifact (``none``: an endpoint model has no artifact)."""
        if info.sha256 is None:
            return {"status": "none", "detail": "an endpoint model has no artifact"}
        try:
            self.artifacts.get(info.sha256)
        except ArtifactDamaged as exc:
            missing = not self.artifacts.exists(info.sha256)
            return {"status": "missing" if missing else "corrupt", "detail": exc.message}
        return {"status": "ok", "detail": f"sha256 verified ({info.size} bytes)"}

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
            have = f"versions 1-{max(versions)}" if versions else "no versions yet"
            raise NotFound(
                f"model {name!r} has no version {ref!r} ({have}); "
                f"see `modelward versions list {name}`",
                field="version",
            )
        return row

    def _version_info(self, session: Session, name: str, row: VersionRow) -> VersionInfo:
        aliases = session.scalars(
            select(AliasRow.alias).where(AliasRow.version_id == row.id).order_by(AliasRow.alias)
        ).all()
        return VersionInfo(
            model=name,
            version=row.version,
            kind=row.kind,
            flavor=row.flavor,
            stage=row.stage,
            sha256=row.sha256,
            size=row.size,
            spec=dict(row.spec or {}),
            input_schema=dict(row.input_schema or {}),
            data_fingerprint=row.data_fingerprint,
            params=dict(row.params or {}),
            metrics=dict(row.metrics or {}),
            tags=dict(row.tags or {}),
            source=dict(row.source or {}),
            description=row.description,
            created_at=aware(row.created_at),
            created_by=row.created_by,
            aliases=tuple(aliases),
            has_reference_profile=row.reference_profile is not None,
        )

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
        with self.db.session(readonly=True) as session:
            row = self._version_row(session, name, version)
            info = self._version_info(session, name, row)
            seen = read_snapshot(session, name, row, started)
            check_moves_since_start(session, seen, target)
        current = Stage(info.stage)
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

    def approvals(self, name: str, version: int | str) -> dict[str, Any]:
        """A version's approvals for production: the events, the distinct approvers and the
        number the policy requires."""
        info = self.get_version(name, version)
        events = self.history(name, version=info.version, kinds=(APPROVED,))
        return {
            "required": self.criteria.approvals_required(name),
            "approvers": approvers(events),
            "approvals": [e.to_dict() for e in events],
        }

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

    def alias_at(self, name: str, alias: str, when: datetime) -> int | None:
        """The version ``alias`` pointed at, at time ``when`` (None if it pointed nowhere)."""
        pointed: int | None = None
        for event in self.history(name, kinds=("alias-set", "alias-deleted")):
            if event.created_at > when:
                break
            if event.details.get("alias") != alias:
                continue
            pointed = event.version if event.kind == "alias-set" else None
        return pointed

    # -- history and runs -----------------------------------------------------------------

    def history(
        self,
        name: str,
        *,
        version: int | None = None,
        kinds: Sequence[str] | None = None,
        since: datetime | None = None,
    ) -> list[EventInfo]:
        with self.db.session(readonly=True) as session:
            model = self._model_row(session, name)
            query = select(EventRow).where(EventRow.model_id == model.id)
            if version is not None:
                query = query.where(EventRow.version == version)
            if kinds:
                query = query.where(EventRow.kind.in_(list(kinds)))
            if since is not None:
                query = query.where(EventRow.created_at >= since)
            rows = session.scalars(query.order_by(EventRow.created_at, EventRow.id)).all()
            return [_event_info(name, row) for row in rows]

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
            details=_jsonable(details or {}),
            created_at=utcnow(),
        )
        session.add(row)
        session.flush()
        name = session.scalar(select(ModelRow.name).where(ModelRow.id == model_id)) or "?"
        return _event_info(name, row)

    def record_run(
        self,
        kind: str,
        *,
        model: str | None,
        version: int | None,
        inputs: dict[str, Any],
        results: dict[str, Any],
        verdict: str,
        actor: str | None = None,
    ) -> RunInfo:
        """Store a check (evaluation, validation, monitoring, rollout step, backup...)."""
        actor = actor or default_actor()
        with self.db.session() as session:
            model_id = self._model_row(session, model).id if model else None
            row = RunRow(
                kind=kind,
                model_id=model_id,
                version=version,
                inputs=_jsonable(inputs),
                results=_jsonable(results),
                verdict=verdict,
                actor=actor,
                created_at=utcnow(),
            )
            session.add(row)
            session.flush()
            return _run_info(model, row)

    def record(
        self,
        kind: str,
        results: dict[str, Any],
        *,
        model: str | None,
        version: int | None,
        inputs: dict[str, Any],
        verdict: str,
    ) -> int:
        """:meth:`record_run` for a check that hands its results back: the stored run's
        number is added to them as ``results["run"]`` and returned."""
        run = self.record_run(
            kind, model=model, version=version, inputs=inputs, results=results, verdict=verdict
        )
        results["run"] = run.id
        return run.id

    def list_runs(
        self,
        *,
        model: str | None = None,
        version: int | None = None,
        kinds: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[RunInfo]:
        """Stored runs, newest first."""
        with self.db.session(readonly=True) as session:
            query = select(RunRow, ModelRow.name).outerjoin(
                ModelRow, RunRow.model_id == ModelRow.id
            )
            if model is not None:
                query = query.where(RunRow.model_id == self._model_row(session, model).id)
            if version is not None:
                query = query.where(RunRow.version == version)
            if kinds is not None:
                query = query.where(RunRow.kind.in_(list(kinds)))
            query = query.order_by(RunRow.created_at.desc(), RunRow.id.desc())
            if limit is not None:
                query = query.limit(limit)
            return [_run_info(name, row) for row, name in session.execute(query).all()]

    def get_run(self, run_id: int) -> RunInfo:
        with self.db.session(readonly=True) as session:
            found = session.execute(
                select(RunRow, ModelRow.name)
                .outerjoin(ModelRow, RunRow.model_id == ModelRow.id)
                .where(RunRow.id == run_id)
            ).first()
            if found is None:
                raise NotFound(f"no run #{run_id}; see `modelward runs list`", field="run")
            return _run_info(found[1], found[0])


def _event_info(name: str, row: EventRow) -> EventInfo:
    return EventInfo(
        id=row.id,
        model=name,
        version=row.version,
        kind=row.kind,
        from_stage=row.from_stage,
        to_stage=row.to_stage,
        actor=row.actor,
        reason=row.reason,
        details=dict(row.details or {}),
        created_at=aware(row.created_at),
    )


def _run_info(name: str | None, row: RunRow) -> RunInfo:
    return RunInfo(
        id=row.id,
        kind=row.kind,
        model=name,
        version=row.version,
        inputs=dict(row.inputs or {}),
        results=dict(row.results or {}),
        verdict=row.verdict,
        actor=row.actor,
        created_at=aware(row.created_at),
    )


def _jsonable(value: Any) -> Any:
    """Params and metrics as JSON: numpy scalars to Python, unknown objects to their repr."""
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return _jsonable(value.item())
    if hasattr(value, "tolist"):
        return _jsonable(value.tolist())
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)
