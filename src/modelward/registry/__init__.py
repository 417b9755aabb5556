"""The model registry: models, versions, aliases, lifecycle stages, history."""

from modelward.registry.gates import GATES, GateResult
from modelward.registry.records import AliasInfo, EventInfo, ModelInfo, RunInfo, VersionInfo
from modelward.registry.registry import TASKS, Registry
from modelward.registry.stages import ALLOWED, Stage

__all__ = [
    "ALLOWED",
    "GATES",
    "TASKS",
    "AliasInfo",
    "EventInfo",
    "GateResult",
    "ModelInfo",
    "Registry",
    "RunInfo",
    "Stage",
    "VersionInfo",
]
