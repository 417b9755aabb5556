"""What every monitoring check returns, stores and prints.

A check has a verdict: ``pass``, ``fail`` (a number crossed its threshold),
``insufficient`` (too little data to say: never a pass) or ``warn``. ``breaches`` are the
one-line reasons, each naming the number and its threshold; the CLI prints them and exits 1
when the verdict is not ``pass``/``warn``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["FAILING", "CheckResult", "verdict_of"]

FAILING = ("fail", "insufficient")


@dataclass
class CheckResult:
    check: str  # metrics, drift, predictions, quality, degradation, review, resources
    model: str | None
    verdict: str
    inputs: dict[str, Any]
    results: dict[str, Any]
    breaches: list[str] = field(default_factory=list)
    #: stable identifiers of what breached (no numbers): alerts are deduplicated on them
    keys: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    version: int | None = None
    run_id: int | None = None
    level: str = "warning"  # alert level when it fails: warning | critical

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING

    def summary(self) -> str:
        what = f"{self.check} {self.model}" if self.model else self.check
        if self.breaches:
            return f"{what}: {self.verdict}: " + "; ".join(self.breaches)
        return f"{what}: {self.verdict}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "check": self.check,
            "model": self.model,
            "version": self.version,
            "verdict": self.verdict,
            "breaches": self.breaches,
            "level": self.level if self.failed else None,
            "warnings": self.warnings,
            "inputs": self.inputs,
            "results": self.results,
            "run_id": self.run_id,
        }


def verdict_of(breaches: list[str], insufficient: bool, warnings: list[str] | None = None) -> str:
    if breaches:
        return "fail"
    if insufficient:
        return "insufficient"
    return "warn" if warnings else "pass"
