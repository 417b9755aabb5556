"""What an evaluation hands back: the stored results, and what its report draws from."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from modelward.evaluation.scoring import Scored

__all__ = ["Evaluation"]


@dataclass
class Evaluation:
    """The stored results, plus what a report draws from (not stored)."""

    results: dict[str, Any]
    scored: Scored
    baseline: Scored | None = None
    run_id: int | None = None
    extra: dict[str, Any] = field(default_factory=dict)
