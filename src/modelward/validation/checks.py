"""One check result: value, threshold, pass/fail, and what it means."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Check", "compare"]


@dataclass(frozen=True)
class Check:
    group: str  # performance, bias, robustness, security
    name: str
    value: Any
    threshold: Any
    op: str  # ">=", "<=", "==" or "" (informational)
    passed: bool
    detail: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def status(self) -> str:
        return "pass" if self.passed else "fail"


def compare(value: float | None, op: str, threshold: float) -> bool:
    if value is None or value != value:  # None or NaN never passes
        return False
    return value >= threshold if op == ">=" else value <= threshold
