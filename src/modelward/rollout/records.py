"""What the rollout engine returns: a rollout's state and one controller decision."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import Any

__all__ = ["Decision", "RolloutInfo", "LIVE", "TERMINAL"]

LIVE = ("running", "paused")
TERMINAL = ("promoted", "rolled-back", "aborted")


@dataclass(frozen=True)
class RolloutInfo:
    id: int
    model: str
    environment: str
    canary_version: int
    stable_version: int | None
    state: str
    stage_index: int
    stage_started_at: datetime
    failures: int
    plan: dict[str, Any]
    details: dict[str, Any]
    created_at: datetime
    created_by: str
    updated_at: datetime

    @property
    def stages(self) -> list[dict[str, float]]:
        return list(self.plan.get("stages", []))

    @property
    def weight(self) -> float:
        if self.state == "promoted":
            return 100.0
        if self.state in ("rolled-back", "aborted"):
            return 0.0
        return float(self.stages[self.stage_index]["weight"])

    def desired_targets(self) -> tuple[tuple[int, float], ...]:
        """The traffic split this rollout's state calls for."""
        weight = self.weight
        if weight >= 100 or self.stable_version is None:
            return ((self.canary_version, 100.0),)
        if weight <= 0:
            return ((self.stable_version, 100.0),)
        return ((self.stable_version, 100.0 - weight), (self.canary_version, weight))

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        out["weight"] = self.weight
        return out


@dataclass(frozen=True)
class Decision:
    """One controller step: wait, breach, advance, promote, rollback, idle or skipped."""

    rollout_id: int
    action: str
    reason: str
    stage_index: int
    weight: float
    checks: list[dict[str, Any]] = field(default_factory=list)
    run_id: int | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
