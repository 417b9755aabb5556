"""One check result: value, threshold, pass/fail, and what it means."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

__all__ = ["Check", "compare", "not_run"]


@dataclass(frozen=True)
class Check:
    group: str  # performance, bias, robustness, security
    name: str
    value: Any
    threshold: Any
    op: str  # ">=", "<=", "==" or "" (informational)
    passed: bool
    detail: str = ""
    #: False: the check could not run (``detail`` says why); it never counts as passed
    ran: bool = True
    #: a check that did not run blocks the verdict only when the policy requires it
    required: bool = True

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @property
    def status(self) -> str:
        if not self.ran:
            return "not run"
        return "pass" if self.passed else "fail"


def not_run(group: str, name: str, reason: str, *, required: bool) -> Check:
    """A check that could not run: never passed; blocking where the policy requires it."""
    return Check(group, name, None, None, "", False, reason, ran=False, required=required)


def compare(value: float | None, op: str, threshold: float) -> bool:
    if value is None or value != value:  # None or NaN never passes
        return False
    return value >= threshold if op == ">=" else value <= threshold
