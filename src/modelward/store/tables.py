"""The metadata schema. Alembic migrations in ``migrations/`` create and evolve it.

Version contents are immutable; a version's ``stage`` is the one mutable field, and every
change of it (and of aliases and deployments) is an ``events`` row, so history can be
replayed to answer "what was true at time T".
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

__all__ = [
    "PARTIAL_INDEXES",
    "AlertRow",
    "AliasRow",
    "Base",
    "DeploymentRow",
    "EventRow",
    "LeaseRow",
    "ModelRow",
    "RolloutRow",
    "RoutingRow",
    "RunRow",
    "TokenRow",
    "UsageRow",
    "VersionRow",
]

_NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


#: Partial unique indexes that hold invariants in the DB itself. Migration 0001 creates them
#: (``sqlite_where`` / ``postgresql_where``); they are not declared on the tables below
#: because declaring a ``postgresql_where`` loads SQLAlchemy's PostgreSQL dialect into every
#: process, SQLite ones too (a tenth of a read command's start). migrations/env.py keeps
#: autogenerate from proposing to drop them.
PARTIAL_INDEXES = {
    "uq_model_versions_one_production": "model_versions (model_id) WHERE stage = 'production'",
    "uq_rollouts_one_active": (
        "rollouts (model_id, environment) WHERE state IN ('running', 'paused')"
    ),
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=_NAMING)
    type_annotation_map = {dict[str, Any]: JSON, list[Any]: JSON}


class ModelRow(Base):
    __tablename__ = "models"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(128), unique=True)
    task: Mapped[str] = mapped_column(String(32))
    description: Mapped[str] = mapped_column(Text, default="")
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))


class VersionRow(Base):
    __tablename__ = "model_versions"
    __table_args__ = (
        UniqueConstraint("model_id", "version", name="uq_model_versions_model_version"),
        # The invariant "at most one version of a model in production" is held by the DB
        # itself (a partial unique index: see PARTIAL_INDEXES), so that two processes
        # promoting at once cannot both win.
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(16))  # "artifact" or "endpoint"
    flavor: Mapped[str] = mapped_column(String(32))
    sha256: Mapped[str | None] = mapped_column(String(64), nullable=True)
    size: Mapped[int | None] = mapped_column(Integer, nullable=True)
    spec: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    input_schema: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reference_profile: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    data_fingerprint: Mapped[str | None] = mapped_column(String(64), nullable=True)
    params: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    tags: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    source: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    description: Mapped[str] = mapped_column(Text, default="")
    stage: Mapped[str] = mapped_column(String(16), index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))


class AliasRow(Base):
    __tablename__ = "aliases"
    __table_args__ = (UniqueConstraint("model_id", "alias", name="uq_aliases_model_alias"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    alias: Mapped[str] = mapped_column(String(64))
    version_id: Mapped[int] = mapped_column(ForeignKey("model_versions.id", ondelete="CASCADE"))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class EventRow(Base):
    """One line of history: registration, transition, alias move, deployment, cleanup..."""

    __tablename__ = "events"
    # a model's history, newest first, a page at a time (the dashboard; migration 0003)
    __table_args__ = (Index("ix_events_model_created_at", "model_id", "created_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(32))
    from_stage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_stage: Mapped[str | None] = mapped_column(String(16), nullable=True)
    actor: Mapped[str] = mapped_column(String(128))
    reason: Mapped[str] = mapped_column(Text, default="")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class RunRow(Base):
    """A stored check: evaluation, validation, monitoring check, rollout step, backup..."""

    __tablename__ = "runs"
    # a model's latest runs of a kind (monitoring checks, rollout decisions) and a
    # version's runs, newest first, reading only those rows (the dashboard; migration 0003)
    __table_args__ = (
        Index("ix_runs_model_kind_id", "model_id", "kind", "id"),
        Index("ix_runs_model_version_id", "model_id", "version", "id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), nullable=True, index=True
    )
    version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    inputs: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    results: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    verdict: Mapped[str] = mapped_column(String(16))  # pass, fail, warn, info, error
    actor: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class DeploymentRow(Base):
    """Environment -> versions with traffic weights. ``previous`` is the rollback target."""

    __tablename__ = "deployments"
    __table_args__ = (UniqueConstraint("model_id", "environment", name="uq_deployments_model_env"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"))
    environment: Mapped[str] = mapped_column(String(32))
    targets: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [{"version": n, "weight": w}]
    previous: Mapped[list[Any] | None] = mapped_column(JSON, nullable=True)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    updated_by: Mapped[str] = mapped_column(String(128))


class TokenRow(Base):
    """An API token for the server: only its hash is stored."""

    __tablename__ = "tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scopes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class RolloutRow(Base):
    """A canary rollout of one version into one environment; its state survives restarts."""

    __tablename__ = "rollouts"
    # At most one live rollout per model and environment: a partial unique index
    # (PARTIAL_INDEXES).

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model_id: Mapped[int] = mapped_column(ForeignKey("models.id", ondelete="CASCADE"), index=True)
    environment: Mapped[str] = mapped_column(String(32))
    canary_version: Mapped[int] = mapped_column(Integer)
    stable_version: Mapped[int | None] = mapped_column(Integer, nullable=True)
    state: Mapped[str] = mapped_column(String(16))  # running paused promoted rolled-back aborted
    stage_index: Mapped[int] = mapped_column(Integer, default=0)
    stage_started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    failures: Mapped[int] = mapped_column(Integer, default=0)
    plan: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)  # stages, limits at start
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class LeaseRow(Base):
    """A named lease: the one process that holds it (until ``expires_at``) may act."""

    __tablename__ = "leases"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    owner: Mapped[str] = mapped_column(String(128))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class RoutingRow(Base):
    """One revision of an environment's LLM routing table (query type -> ranked models).

    Revisions are append-only and count per environment: reverting writes a new revision
    equal to an older one.
    """

    __tablename__ = "routing_tables"
    __table_args__ = (
        UniqueConstraint("environment", "revision", name="uq_routing_tables_environment_revision"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    environment: Mapped[str] = mapped_column(String(32), server_default="production")
    revision: Mapped[int] = mapped_column(Integer)
    routes: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    reason: Mapped[str] = mapped_column(Text, default="")
    source_run_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_by: Mapped[str] = mapped_column(String(128))


class UsageRow(Base):
    """Aggregated LLM usage and spend per day, API key and model version."""

    __tablename__ = "usage"
    __table_args__ = (
        UniqueConstraint("day", "api_key", "model", "version", name="uq_usage_day_key_model"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    day: Mapped[str] = mapped_column(String(10), index=True)  # YYYY-MM-DD, UTC
    api_key: Mapped[str] = mapped_column(String(64))  # token name, "-" when anonymous
    model: Mapped[str] = mapped_column(String(128))
    version: Mapped[int] = mapped_column(Integer)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    errors: Mapped[int] = mapped_column(Integer, default=0)
    cache_hits: Mapped[int] = mapped_column(Integer, default=0)
    input_tokens: Mapped[int] = mapped_column(Integer, default=0)
    output_tokens: Mapped[int] = mapped_column(Integer, default=0)
    cost: Mapped[float] = mapped_column(Float, default=0.0)


class AlertRow(Base):
    """An alert; repeats of the same fingerprint update ``last_at`` and ``count``."""

    __tablename__ = "alerts"
    # the open alerts, latest first (the dashboard; migration 0003)
    __table_args__ = (Index("ix_alerts_resolved_last_at", "resolved_at", "last_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    fingerprint: Mapped[str] = mapped_column(String(64), index=True)
    model_id: Mapped[int | None] = mapped_column(
        ForeignKey("models.id", ondelete="CASCADE"), nullable=True, index=True
    )
    check: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))  # warning, critical
    message: Mapped[str] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    first_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    last_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    count: Mapped[int] = mapped_column(Integer, default=1)
    resolved_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
