"""What the update pipeline returns: each stage's checks, changes and undos
(:class:`StageResult`), and the whole run (:class:`PipelineResult`)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["PipelineResult", "StageResult"]


@dataclass
class StageResult:
    name: str
    passed: bool | None  # None: not run (an earlier stage failed, or a dry run could not tell)
    checks: list[dict[str, Any]] = field(default_factory=list)
    changes: list[str] = field(default_factory=list)
    undone: list[str] = field(default_factory=list)

    def check(self, name: str, passed: bool, detail: str) -> bool:
        self.checks.append({"name": name, "passed": passed, "detail": detail})
        return passed


@dataclass
class PipelineResult:
    model: str
    version: int
    to: str
    dry_run: bool
    stages: list[StageResult]
    rollout_id: int | None = None

    @property
    def passed(self) -> bool:
        return all(s.passed is not False for s in self.stages)

    @property
    def failed_stage(self) -> str | None:
        return next((s.name for s in self.stages if s.passed is False), None)

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["passed"] = self.passed
        out["failed_stage"] = self.failed_stage
        return out
