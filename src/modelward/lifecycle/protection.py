"""Which versions no cleanup or retirement may touch, and why."""

from __future__ import annotations

from collections import defaultdict
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from modelward.evaluation.directions import higher_is_better
from modelward.store.tables import AliasRow, DeploymentRow, RolloutRow, VersionRow

__all__ = ["PROTECTED_STAGES", "direction", "protected_versions", "target_versions"]

#: Stages whose versions serve (or may be switched back to) traffic.
PROTECTED_STAGES = frozenset({"staging", "production", "maintenance"})

#: Short names users type for stored metric names.
METRIC_ALIASES = {"auc": "roc_auc", "roc-auc": "roc_auc", "acc": "accuracy"}


def direction(metric: str) -> int:
    """+1 when higher is better, -1 when lower is (scikit-learn's naming rules)."""
    return 1 if higher_is_better(metric) else -1


def target_versions(targets: Any) -> set[int]:
    """Version numbers in a deployment's targets JSON ([{"version": n, "weight": w}])."""
    found: set[int] = set()
    for target in targets or []:
        if isinstance(target, dict) and isinstance(target.get("version"), int):
            found.add(int(target["version"]))
    return found


def protected_versions(session: Session, model_id: int) -> dict[int, list[str]]:
    """version -> the reasons it is protected (stage, alias, deployment, rollback target)."""
    reasons: dict[int, list[str]] = defaultdict(list)
    rows = session.execute(
        select(VersionRow.version, VersionRow.stage).where(VersionRow.model_id == model_id)
    ).all()
    for version, stage in rows:
        if stage in PROTECTED_STAGES:
            reasons[version].append(f"in {stage}")
    if rows:
        reasons[max(v for v, _ in rows)].append("newest version")
    aliases = session.execute(
        select(AliasRow.alias, VersionRow.version)
        .join(VersionRow, AliasRow.version_id == VersionRow.id)
        .where(AliasRow.model_id == model_id)
    ).all()
    for alias, version in aliases:
        reasons[version].append(f"alias {alias}")
    for deployment in session.scalars(
        select(DeploymentRow).where(DeploymentRow.model_id == model_id)
    ):
        for version in target_versions(deployment.targets):
            reasons[version].append(f"deployed in {deployment.environment}")
        for version in target_versions(deployment.previous):
            reasons[version].append(f"rollback target in {deployment.environment}")
    for rollout in session.scalars(
        select(RolloutRow).where(
            RolloutRow.model_id == model_id, RolloutRow.state.in_(("running", "paused"))
        )
    ):
        reasons[rollout.canary_version].append(f"canary of rollout #{rollout.id}")
        if rollout.stable_version is not None:
            reasons[rollout.stable_version].append(f"stable of rollout #{rollout.id}")
    return dict(reasons)
