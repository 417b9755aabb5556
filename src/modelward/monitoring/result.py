"""What every monitoring check returns, stores and prints: a typed result per check.

A check has a verdict: ``pass``, ``fail`` (a number crossed its threshold),
``insufficient`` (too little data to say: never a pass), ``warn`` or ``info``. ``breaches``
are the one-line reasons, each naming the number and its threshold; the CLI prints them
and exits 1 when the verdict is ``fail`` or ``insufficient``.

Each check's result is a dataclass deriving from :class:`CheckResult`: the fields every
check has, the fields recording what it was asked (declared with :func:`given`, stored as
the run's inputs) and its own figures (typed fields, often small dataclasses; those
declared with :func:`optional` are left out while None). Readers (the CLI, reports, a
dashboard) read the fields; :meth:`CheckResult.to_dict` is the one JSON shape.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any, ClassVar

__all__ = [
    "FAILING",
    "AlertRef",
    "CheckResult",
    "Findings",
    "flat",
    "given",
    "optional",
    "plain",
]

FAILING = ("fail", "insufficient")
_INPUT = "input"
_OMIT = "omit when None"
_FLAT = "flatten"
_KEY = "key"


def given(*, key: str | None = None, **options: Any) -> Any:
    """A field recording what the check was asked (stored as the run's inputs; under
    ``key`` where a result field has the field's name)."""
    return field(metadata={_INPUT: True, _KEY: key}, **options)


def optional(*, flatten: bool = False) -> Any:
    """A result field left out of the JSON while None; with ``flatten`` its own fields
    stand in the enclosing object."""
    return field(default=None, metadata={_OMIT: True, _FLAT: flatten})


def flat() -> Any:
    """A result field whose own fields stand in the enclosing object."""
    return field(metadata={_FLAT: True})


def plain(value: Any) -> Any:
    """``value`` as JSON-ready data: dataclasses field by field (or by their ``to_dict``),
    tuples as lists."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        if hasattr(value, "to_dict"):
            return value.to_dict()
        return _fields(value, dataclasses.fields(value))
    if isinstance(value, dict):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [plain(item) for item in value]
    return value


def _fields(value: Any, which: Any) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for f in which:
        item = getattr(value, f.name)
        if item is None and f.metadata.get(_OMIT):
            continue
        if f.metadata.get(_FLAT):
            out.update(plain(item))
        else:
            out[f.metadata.get(_KEY) or f.name] = plain(item)
    return out


@dataclass(frozen=True)
class AlertRef:
    """The alert a failed check fired (or counted again)."""

    id: int
    sent: bool
    count: int


@dataclass(kw_only=True)
class CheckResult:
    check: ClassVar[str] = ""  # metrics, drift, predictions, quality, degradation, …
    model: str | None
    verdict: str
    breaches: list[str] = field(default_factory=list)
    #: stable identifiers of what breached (no numbers): alerts are deduplicated on them
    keys: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    version: int | None = None
    level: str = "warning"  # alert level when it fails: warning | critical
    run_id: int | None = None
    alert: AlertRef | None = None  # the alert it fired, when it failed

    @property
    def failed(self) -> bool:
        return self.verdict in FAILING

    def summary(self) -> str:
        what = f"{self.check} {self.model}" if self.model else self.check
        if self.breaches:
            return f"{what}: {self.verdict}: " + "; ".join(self.breaches)
        return f"{what}: {self.verdict}"

    @property
    def inputs(self) -> dict[str, Any]:
        """What the check was asked, as stored with its run."""
        return _fields(self, [f for f in dataclasses.fields(self) if f.metadata.get(_INPUT)])

    @property
    def results(self) -> dict[str, Any]:
        """The check's own figures, as stored with its run (and the alert it fired)."""
        base = {f.name for f in dataclasses.fields(CheckResult)}
        own = [
            f for f in dataclasses.fields(self) if f.name not in base and not f.metadata.get(_INPUT)
        ]
        out = _fields(self, own)
        if self.alert is not None:
            out["alert"] = plain(self.alert)
        return out

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


@dataclass
class Findings:
    """What a check found, as it looks: breaches (each with the keys its alert is
    deduplicated on), warnings, and the reasons the data did not suffice to judge.
    :meth:`outcome` turns them into a result's verdict, breaches, keys and level."""

    breaches: list[str] = field(default_factory=list)
    keys: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    lacking: list[str] = field(default_factory=list)  # too little data: never a pass
    critical: bool = False

    def breach(self, text: str, *keys: str, critical: bool = False) -> None:
        self.breaches.append(text)
        self.keys.extend(keys)
        self.critical = self.critical or critical

    def warn(self, text: str) -> None:
        self.warnings.append(text)

    def short(self, reason: str) -> None:
        """Too little data to judge (``reason`` says what is missing)."""
        self.lacking.append(reason)

    @property
    def verdict(self) -> str:
        if self.breaches:
            return "fail"
        if self.lacking:
            return "insufficient"
        return "warn" if self.warnings else "pass"

    def outcome(self) -> dict[str, Any]:
        """The fields of a result: a breach is the reason when there is one, else what
        was lacking."""
        return {
            "verdict": self.verdict,
            "breaches": list(self.breaches or self.lacking),
            "keys": list(self.keys or (["insufficient"] if self.lacking else [])),
            "warnings": list(self.warnings),
            "level": "critical" if self.critical else "warning",
        }
