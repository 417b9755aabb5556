"""What the registry holds, read with plain SQL: models, versions, history, runs.

Every read of the registry goes through here, the :class:`~modelward.registry.Registry`'s
public reads included, so there is one implementation of each. It needs no SQLAlchemy
(:mod:`modelward.store.plain`), which is what lets ``models list``, ``versions show``,
``history`` and ``runs`` answer in a fraction of the time the ORM took to import.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from modelward.errors import ArtifactDamaged, ConfigError, NotFound
from modelward.registry.actor import default_actor
from modelward.registry.criteria import NO_CRITERIA, Criteria
from modelward.registry.gates import APPROVED, approvers
from modelward.registry.records import EventInfo, ModelInfo, RunInfo, VersionInfo, jsonable
from modelward.registry.stages import Stage, parse_stage
from modelward.store.plain import PlainDB, Rows, in_list, json_value, moment
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.artifacts.store import ArtifactStore
    from modelward.flavors.base import Flavor

__all__ = ["EVENT_FIELDS", "Catalog", "event_info", "no_model", "no_version"]

Run = Callable[..., Rows]

_MODEL_COLUMNS = "id, name, task, description, tags, created_at, created_by"
_VERSION_COLUMNS = (
    "v.id, v.version, v.kind, v.flavor, v.stage, v.sha256, v.size, v.spec, v.input_schema, "
    "v.data_fingerprint, v.params, v.metrics, v.tags, v.source, v.description, v.created_at, "
    "v.created_by"
)
#: the JSON columns among them: spec, input_schema, params, metrics, tags, source
_VERSION_JSON = (7, 8, 10, 11, 12, 13)
#: an event's columns, in the order :func:`event_info` reads them
EVENT_FIELDS = (
    "id", "version", "kind", "from_stage", "to_stage", "actor", "reason", "details", "created_at"
)  # fmt: skip
_EVENT_COLUMNS = ", ".join(EVENT_FIELDS)
_RUN_COLUMNS = (
    "r.id, r.kind, m.name, r.version, r.inputs, r.results, r.verdict, r.actor, r.created_at"
)


def no_model(name: str, known: Sequence[str]) -> NotFound:
    hint = f"known models: {', '.join(known)}" if known else "the registry is empty"
    return NotFound(f"no model named {name!r} ({hint}); see `modelward models list`", field="name")


def no_version(name: str, ref: str, versions: Sequence[int]) -> NotFound:
    have = f"versions 1-{max(versions)}" if versions else "no versions yet"
    return NotFound(
        f"model {name!r} has no version {ref!r} ({have}); see `modelward versions list {name}`",
        field="version",
    )


class Catalog:
    """What the registry holds, read-only: models, versions and their artifacts, aliases,
    approvals, history and runs. :class:`~modelward.registry.Registry` adds the writes."""

    def __init__(
        self, sql: PlainDB, artifacts: ArtifactStore, *, criteria: Criteria = NO_CRITERIA
    ) -> None:
        self.sql = sql
        self.artifacts = artifacts
        #: the policy's human criteria and the log's traffic (the workspace gives them)
        self.criteria = criteria

    # -- models ---------------------------------------------------------------------------

    def get_model(self, name: str) -> ModelInfo:
        with self.sql.snapshot() as run:
            return self._model_record(run, self._select_model(run, name))

    def list_models(self) -> list[ModelInfo]:
        with self.sql.snapshot() as run:
            rows = run(f"SELECT {_MODEL_COLUMNS} FROM models ORDER BY name")
            return [self._model_record(run, row) for row in rows]

    def _select_model(self, run: Run, name: str) -> tuple[Any, ...]:
        rows = run(f"SELECT {_MODEL_COLUMNS} FROM models WHERE name = :name", {"name": name})
        if not rows:
            known = run("SELECT name FROM models ORDER BY name LIMIT 8")
            raise no_model(name, [row[0] for row in known])
        return rows[0]

    def _model_record(self, run: Run, row: tuple[Any, ...]) -> ModelInfo:
        model_id, name, task, description, tags, created_at, created_by = row
        ids = {"model": model_id, "production": Stage.PRODUCTION.value}
        latest, production = run(
            "SELECT (SELECT MAX(version) FROM model_versions WHERE model_id = :model), "
            "(SELECT version FROM model_versions WHERE model_id = :model "
            "AND stage = :production)",
            ids,
        )[0]
        aliases = run(
            "SELECT a.alias, v.version FROM aliases a JOIN model_versions v "
            "ON a.version_id = v.id WHERE a.model_id = :model ORDER BY a.alias",
            ids,
        )
        return ModelInfo(
            name=name,
            task=task,
            description=description or "",
            tags=dict(json_value(tags) or {}),
            created_at=moment(created_at),
            created_by=created_by,
            latest_version=latest,
            production_version=production,
            aliases={alias: version for alias, version in aliases},
        )

    # -- versions -------------------------------------------------------------------------

    def get_version(self, name: str, version: int | str) -> VersionInfo:
        """A version by number, ``latest``, or an alias (``champion``)."""
        with self.sql.snapshot() as run:
            model_id = self._select_model(run, name)[0]
            return self._version_record(
                run, name, self._select_version(run, name, model_id, version)
            )

    def list_versions(self, name: str, *, stage: str | None = None) -> list[VersionInfo]:
        with self.sql.snapshot() as run:
            params: dict[str, Any] = {"model": self._select_model(run, name)[0]}
            where = "v.model_id = :model"
            if stage:
                where += " AND v.stage = :stage"
                params["stage"] = parse_stage(stage).value
            rows = run(
                f"SELECT {_VERSION_COLUMNS}, {self._has_profile} FROM model_versions v "
                f"WHERE {where} ORDER BY v.version",
                params,
            )
            return [self._version_record(run, name, row) for row in rows]

    def reference_profile(self, name: str, version: int | str) -> dict[str, Any] | None:
        with self.sql.snapshot() as run:
            model_id = self._select_model(run, name)[0]
            version_id = self._select_version(run, name, model_id, version)[0]
            rows = run(
                "SELECT reference_profile FROM model_versions WHERE id = :id", {"id": version_id}
            )
            profile = json_value(rows[0][0])
            return dict(profile) if isinstance(profile, dict) else None

    def _select_version(
        self, run: Run, name: str, model_id: int, version: int | str
    ) -> tuple[Any, ...]:
        ref = str(version)
        select = f"SELECT {_VERSION_COLUMNS}, {self._has_profile} FROM model_versions v"
        params: dict[str, Any] = {"model": model_id, "ref": ref}
        if ref == "latest":
            sql = f"{select} WHERE v.model_id = :model ORDER BY v.version DESC LIMIT 1"
        elif ref.isdigit():
            sql = f"{select} WHERE v.model_id = :model AND v.version = :ref"
            params["ref"] = int(ref)
        else:
            sql = (
                f"{select} JOIN aliases a ON a.version_id = v.id "
                "WHERE a.model_id = :model AND a.alias = :ref"
            )
        rows = run(sql, params)
        if not rows:
            versions = run(
                "SELECT version FROM model_versions WHERE model_id = :model", {"model": model_id}
            )
            raise no_version(name, ref, [row[0] for row in versions])
        return rows[0]

    def _version_record(self, run: Run, name: str, row: tuple[Any, ...]) -> VersionInfo:
        aliases = run(
            "SELECT alias FROM aliases WHERE version_id = :id ORDER BY alias", {"id": row[0]}
        )
        spec, schema, params, metrics, tags, source = (json_value(row[i]) for i in _VERSION_JSON)
        return VersionInfo(
            model=name,
            version=row[1],
            kind=row[2],
            flavor=row[3],
            stage=row[4],
            sha256=row[5],
            size=row[6],
            spec=dict(spec or {}),
            input_schema=dict(schema or {}),
            data_fingerprint=row[9],
            params=dict(params or {}),
            metrics=dict(metrics or {}),
            tags=dict(tags or {}),
            source=dict(source or {}),
            description=row[14] or "",
            created_at=moment(row[15]),
            created_by=row[16],
            aliases=tuple(alias for (alias,) in aliases),
            has_reference_profile=bool(row[17]),
        )

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

    @property
    def _has_profile(self) -> str:
        """Whether a version has a reference profile, without reading it (JSON ``null``
        counts as none: SQLAlchemy writes it for a missing one)."""
        if self.sql.dialect == "sqlite":
            return "(v.reference_profile IS NOT NULL AND v.reference_profile != 'null')"
        return "(v.reference_profile IS NOT NULL AND json_typeof(v.reference_profile) != 'null')"

    # -- aliases and approvals -----------------------------------------------------------

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

    # -- history and runs -----------------------------------------------------------------

    def history(
        self,
        name: str,
        *,
        version: int | None = None,
        kinds: Sequence[str] | None = None,
        since: datetime | None = None,
    ) -> list[EventInfo]:
        with self.sql.snapshot() as run:
            params: dict[str, Any] = {"model": self._select_model(run, name)[0]}
            where = ["model_id = :model"]
            if version is not None:
                where.append("version = :version")
                params["version"] = version
            if kinds:
                listed, values = in_list("kind", list(kinds))
                where.append(f"kind IN {listed}")
                params.update(values)
            if since is not None:
                where.append("created_at >= :since")
                params["since"] = since
            rows = run(
                f"SELECT {_EVENT_COLUMNS} FROM events WHERE {' AND '.join(where)} "
                "ORDER BY created_at, id",
                params,
            )
            return [event_info(name, row) for row in rows]

    def list_runs(
        self,
        *,
        model: str | None = None,
        version: int | None = None,
        kinds: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[RunInfo]:
        """Stored runs, newest first."""
        with self.sql.snapshot() as run:
            where: list[str] = []
            params: dict[str, Any] = {}
            if model is not None:
                where.append("r.model_id = :model")
                params["model"] = self._select_model(run, model)[0]
            if version is not None:
                where.append("r.version = :version")
                params["version"] = version
            if kinds is not None:
                listed, values = in_list("kind", list(kinds))
                where.append(f"r.kind IN {listed}" if values else "1 = 0")
                params.update(values)
            sql = f"SELECT {_RUN_COLUMNS} FROM runs r LEFT JOIN models m ON r.model_id = m.id"
            if where:
                sql += " WHERE " + " AND ".join(where)
            sql += " ORDER BY r.created_at DESC, r.id DESC"
            if limit is not None:
                sql += " LIMIT :limit"
                params["limit"] = int(limit)
            return [_run_info(row) for row in run(sql, params)]

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
        """Store a check (evaluation, validation, monitoring, rollout step, backup...): an
        append-only row, so it needs neither SQLAlchemy nor a lock beyond the insert's."""
        model_id = self._select_model(self.sql.rows, model)[0] if model else None
        row = {
            "kind": kind,
            "model_id": model_id,
            "version": version,
            "inputs": jsonable(inputs),
            "results": jsonable(results),
            "verdict": verdict,
            "actor": actor or default_actor(),
            "created_at": utcnow(),
        }
        run_id = self.sql.insert("runs", row)
        return RunInfo(id=run_id, model=model, **{k: v for k, v in row.items() if k != "model_id"})

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

    def get_run(self, run_id: int) -> RunInfo:
        rows = self.sql.rows(
            f"SELECT {_RUN_COLUMNS} FROM runs r LEFT JOIN models m ON r.model_id = m.id "
            "WHERE r.id = :id",
            {"id": int(run_id)},
        )
        if not rows:
            raise NotFound(f"no run #{run_id}; see `modelward runs list`", field="run")
        return _run_info(rows[0])


def event_info(name: str, row: Sequence[Any]) -> EventInfo:
    """An event from its :data:`EVENT_FIELDS` values (a row read, or one just written)."""
    event_id, version, kind, from_stage, to_stage, actor, reason, details, created_at = row
    return EventInfo(
        id=event_id,
        model=name,
        version=version,
        kind=kind,
        from_stage=from_stage,
        to_stage=to_stage,
        actor=actor,
        reason=reason or "",
        details=dict(json_value(details) or {}),
        created_at=moment(created_at),
    )


def _run_info(row: tuple[Any, ...]) -> RunInfo:
    run_id, kind, model, version, inputs, results, verdict, actor, created_at = row
    return RunInfo(
        id=run_id,
        kind=kind,
        model=model,
        version=version,
        inputs=dict(json_value(inputs) or {}),
        results=dict(json_value(results) or {}),
        verdict=verdict,
        actor=actor,
        created_at=moment(created_at),
    )
