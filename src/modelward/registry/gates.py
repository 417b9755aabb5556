"""Lifecycle gates: the checks a version must pass to enter a stage.

Each gate is a small function ``(registry, version) -> GateResult``; ``GATES`` lists them
per target stage. Their results are recorded with every transition, and a failing gate
stops the move unless it is forced with a reason (also recorded).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from modelward.registry.stages import Stage

if TYPE_CHECKING:
    from modelward.registry.records import VersionInfo
    from modelward.registry.registry import Registry

__all__ = ["GATES", "GateResult", "run_gates"]


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Gate = Callable[["Registry", "VersionInfo"], GateResult]


def artifact_integrity(registry: Registry, version: VersionInfo) -> GateResult:
    """The artifact is present and its sha256 matches."""
    if version.kind != "artifact" or version.sha256 is None:
        return GateResult("artifact-integrity", True, "endpoint model: no artifact")
    from modelward.errors import ArtifactError

    try:
        registry.artifacts.get(version.sha256)
    except ArtifactError as exc:
        return GateResult("artifact-integrity", False, exc.message)
    return GateResult("artifact-integrity", True, f"sha256 {version.sha256[:12]}… verified")


#: Run kinds whose latest passing record lets a version into staging.
VALIDATION_KINDS = ("validation", "llm-evaluation")


def validation_passed(registry: Registry, version: VersionInfo) -> GateResult:
    """The latest validation of this version passed (modelward validate)."""
    runs = registry.list_runs(
        model=version.model, version=version.version, kinds=VALIDATION_KINDS, limit=1
    )
    if not runs:
        return GateResult(
            "validation",
            False,
            f"{version.ref} has no validation; run `modelward validate {version.model} "
            f"{version.version} --data FILE`",
        )
    run = runs[0]
    return GateResult(
        "validation",
        run.verdict == "pass",
        f"validation run #{run.id} of {run.created_at:%Y-%m-%d %H:%M} UTC: {run.verdict}",
    )


GATES: dict[Stage, tuple[Gate, ...]] = {
    Stage.TESTING: (artifact_integrity,),
    Stage.STAGING: (artifact_integrity, validation_passed),
    Stage.PRODUCTION: (artifact_integrity, validation_passed),
}


def run_gates(registry: Registry, version: VersionInfo, target: Stage) -> list[GateResult]:
    return [gate(registry, version) for gate in GATES.get(target, ())]
