"""Plain, immutable records the registry returns (never live ORM rows)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any

__all__ = [
    "AliasInfo",
    "EventInfo",
    "ModelInfo",
    "RunInfo",
    "VersionInfo",
    "aware",
    "jsonable",
    "metric_value",
]


def aware(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes; every time we store is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class _Record:
    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)  # type: ignore[call-overload]
        for key, value in out.items():
            if isinstance(value, datetime):
                out[key] = value.isoformat()
        return out


@dataclass(frozen=True)
class ModelInfo(_Record):
    name: str
    task: str
    description: str
    tags: dict[str, Any]
    created_at: datetime
    created_by: str
    latest_version: int | None = None
    production_version: int | None = None
    aliases: dict[str, int] = field(default_factory=dict)


@dataclass(frozen=True)
class VersionInfo(_Record):
    model: str
    version: int
    kind: str
    flavor: str
    stage: str
    sha256: str | None
    size: int | None
    spec: dict[str, Any]
    input_schema: dict[str, Any]
    data_fingerprint: str | None
    params: dict[str, Any]
    metrics: dict[str, Any]
    tags: dict[str, Any]
    source: dict[str, Any]
    description: str
    created_at: datetime
    created_by: str
    aliases: tuple[str, ...] = ()
    has_reference_profile: bool = False

    @property
    def ref(self) -> str:
        return f"{self.model}:{self.version}"

    @property
    def feature_names(self) -> list[str]:
        return [column["name"] for column in self.input_schema.get("columns", [])]


@dataclass(frozen=True)
class EventInfo(_Record):
    id: int
    model: str
    version: int | None
    kind: str
    from_stage: str | None
    to_stage: str | None
    actor: str
    reason: str
    details: dict[str, Any]
    created_at: datetime


@dataclass(frozen=True)
class AliasInfo(_Record):
    model: str
    alias: str
    version: int
    updated_at: datetime


@dataclass(frozen=True)
class RunInfo(_Record):
    id: int
    kind: str
    model: str | None
    version: int | None
    inputs: dict[str, Any]
    results: dict[str, Any]
    verdict: str
    actor: str
    created_at: datetime


def metric_value(metrics: dict[str, Any] | None, name: str) -> float | None:
    """A version's headline value of one metric, or None.

    Registered metrics are flat (``{"roc_auc": 0.91}``) when given by the caller, and
    nested when ``modelward train`` computed them (``{"test": {...}, "cv": {...}}``): the
    held-out value is the headline there.
    """
    metrics = metrics or {}
    for value in (metrics.get(name), (metrics.get("test") or {}).get(name)):
        if isinstance(value, int | float) and not isinstance(value, bool):
            return float(value)
    return None


def jsonable(value: Any) -> Any:
    """Params and metrics as JSON: numpy scalars to Python, unknown objects to their repr."""
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [jsonable(v) for v in value]
    if value is None or isinstance(value, bool | int | str):
        return value
    if isinstance(value, float):
        return value if value == value and abs(value) != float("inf") else None
    if hasattr(value, "item") and getattr(value, "shape", None) == ():
        return jsonable(value.item())
    if hasattr(value, "tolist"):
        return jsonable(value.tolist())
    if isinstance(value, datetime):
        return value.isoformat()
    return repr(value)
