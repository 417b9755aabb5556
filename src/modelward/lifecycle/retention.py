"""``modelward clean``: keep the last N and best K versions, delete the rest, collect garbage.

A dry run by default. Never touched: versions in staging, production or maintenance,
aliased versions, versions a deployment serves or could roll back to, versions in a live
rollout, and each model's newest version (so version numbers are never reused). Deleting
a version removes its row (its history stays) and then its artifact, when no remaining
version references the same blob.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, select

from modelward.errors import ConfigError
from modelward.lifecycle.protection import METRIC_ALIASES, direction, protected_versions
from modelward.registry.actor import default_actor
from modelward.registry.records import metric_value
from modelward.store.tables import ModelRow, VersionRow

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from modelward.workspace import Workspace

__all__ = ["CleanPlan", "VersionDecision", "apply_clean", "plan_clean"]


@dataclass(frozen=True)
class VersionDecision:
    model: str
    version: int
    stage: str
    action: str  # keep | delete
    reasons: tuple[str, ...]
    sha256: str | None = None
    metric: float | None = None

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        return out


@dataclass
class CleanPlan:
    keep_last: int
    keep_best: int
    metric: str
    decisions: list[VersionDecision] = field(default_factory=list)
    deleted_artifacts: list[str] = field(default_factory=list)
    applied: bool = False

    @property
    def to_delete(self) -> list[VersionDecision]:
        return [d for d in self.decisions if d.action == "delete"]

    def to_dict(self) -> dict[str, Any]:
        return {
            "keep_last": self.keep_last,
            "keep_best": self.keep_best,
            "metric": self.metric,
            "applied": self.applied,
            "delete": [d.to_dict() for d in self.to_delete],
            "keep": [d.to_dict() for d in self.decisions if d.action == "keep"],
            "deleted_artifacts": self.deleted_artifacts,
        }


def _options(
    ws: Workspace,
    name: str | None,
    keep_last: int | None,
    keep_best: int | None,
    metric: str | None,
) -> tuple[int, int, str]:
    """The options given, else the policy's (the model's own when one is named)."""
    policy = (ws.policy if name is None else ws.policy_for(name)).retention
    keep_last = policy.keep_last if keep_last is None else keep_last
    keep_best = policy.keep_best if keep_best is None else keep_best
    if keep_last < 0 or keep_best < 0:
        raise ConfigError("--keep-last and --keep-best must be 0 or more", field="keep")
    metric = METRIC_ALIASES.get(metric or policy.metric, metric or policy.metric)
    return keep_last, keep_best, metric


def _decide(
    session: Session, model: ModelRow, keep_last: int, keep_best: int, metric: str
) -> list[VersionDecision]:
    rows = session.scalars(
        select(VersionRow).where(VersionRow.model_id == model.id).order_by(VersionRow.version)
    ).all()
    protected = protected_versions(session, model.id)
    reasons: dict[int, list[str]] = {
        row.version: list(protected.get(row.version, [])) for row in rows
    }
    for row in rows[::-1][:keep_last]:
        reasons[row.version].append(f"one of the last {keep_last}")
    sign = direction(metric)
    scored = [r for r in rows if metric_value(r.metrics, metric) is not None]
    scored.sort(key=lambda r: (-sign * (metric_value(r.metrics, metric) or 0.0), -r.version))
    for row in scored[:keep_best]:
        reasons[row.version].append(f"one of the best {keep_best} by {metric}")
    return [
        VersionDecision(
            model=model.name,
            version=row.version,
            stage=row.stage,
            action="keep" if reasons[row.version] else "delete",
            reasons=tuple(reasons[row.version]) or ("beyond the retention rules",),
            sha256=row.sha256,
            metric=metric_value(row.metrics, metric),
        )
        for row in rows
    ]


def _models(session: Session, ws: Workspace, name: str | None) -> list[ModelRow]:
    if name is not None:
        return [ws.registry._model_row(session, name)]
    return list(session.scalars(select(ModelRow).order_by(ModelRow.name)))


def plan_clean(
    ws: Workspace,
    name: str | None = None,
    *,
    keep_last: int | None = None,
    keep_best: int | None = None,
    metric: str | None = None,
) -> CleanPlan:
    """What ``clean`` would delete and keep (and why); changes nothing."""
    keep_last, keep_best, metric = _options(ws, name, keep_last, keep_best, metric)
    plan = CleanPlan(keep_last, keep_best, metric)
    with ws.db.session(readonly=True) as session:
        models = _models(session, ws, name)
        for model in models:
            plan.decisions.extend(_decide(session, model, keep_last, keep_best, metric))
    if keep_best and plan.decisions and all(d.metric is None for d in plan.decisions):
        known = sorted(
            {k for v in ws_metrics(ws, name) for k in [*v, *(v.get("test") or {})]
             if metric_value(v, k) is not None}
        )  # fmt: skip
        raise ConfigError(
            f"no version has metric {metric!r}, so --keep-best cannot rank them; pass --metric "
            f"with one of: {', '.join(known) or '(no metrics recorded)'}",
            field="metric",
        )
    return plan


def ws_metrics(ws: Workspace, name: str | None) -> list[dict[str, Any]]:
    with ws.db.session(readonly=True) as session:
        models = _models(session, ws, name)
        ids = [m.id for m in models]
        return [
            dict(m or {})
            for m in session.scalars(select(VersionRow.metrics).where(VersionRow.model_id.in_(ids)))
        ]


def apply_clean(
    ws: Workspace,
    name: str | None = None,
    *,
    keep_last: int | None = None,
    keep_best: int | None = None,
    metric: str | None = None,
    orphans: bool = False,
    actor: str | None = None,
) -> CleanPlan:
    """Delete what :func:`plan_clean` proposes, re-deciding inside the transaction."""
    keep_last, keep_best, metric = _options(ws, name, keep_last, keep_best, metric)
    plan_clean(ws, name, keep_last=keep_last, keep_best=keep_best, metric=metric)  # validates
    actor = actor or default_actor()
    plan = CleanPlan(keep_last, keep_best, metric, applied=True)
    rule = f"retention: keep the last {keep_last} and the best {keep_best} by {metric}"
    with ws.db.session() as session:
        for model in _models(session, ws, name):
            decisions = _decide(session, model, keep_last, keep_best, metric)
            plan.decisions.extend(decisions)
            for d in decisions:
                if d.action != "delete":
                    continue
                session.execute(
                    delete(VersionRow).where(
                        VersionRow.model_id == model.id, VersionRow.version == d.version
                    )
                )
                ws.registry._event(
                    session, model.id, d.version, "version-deleted", actor, from_stage=d.stage,
                    reason=rule, details={"sha256": d.sha256, metric: d.metric},
                )  # fmt: skip
        referenced = set(
            session.scalars(select(VersionRow.sha256).where(VersionRow.sha256.is_not(None)))
        )
    candidates = {d.sha256 for d in plan.to_delete if d.sha256}
    if orphans:
        candidates |= set(ws.artifacts.iter())
    for digest in sorted(candidates - referenced):
        if ws.artifacts.delete(digest):
            plan.deleted_artifacts.append(digest)
    for model_name in sorted({d.model for d in plan.decisions}):
        deleted = [d.version for d in plan.to_delete if d.model == model_name]
        if deleted:
            ws.registry.record_run(
                "clean", model=model_name, version=None,
                inputs={"keep_last": keep_last, "keep_best": keep_best, "metric": metric},
                results={"deleted_versions": deleted, "deleted_artifacts": plan.deleted_artifacts},
                verdict="info", actor=actor,
            )  # fmt: skip
    return plan
