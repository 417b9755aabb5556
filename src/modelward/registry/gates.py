"""Lifecycle gates: the checks a version must pass to enter a stage.

Each gate is a small function ``(registry, version) -> GateResult``; ``GATES`` lists them
per target stage. Their results are recorded with every transition, and a failing gate
stops the move unless it is forced with a reason (also recorded). A gate reads the
registry through :class:`Records`, the little of it gates need, so the registry runs them
without the two importing each other.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import Any, Protocol

from modelward.artifacts.store import ArtifactStore
from modelward.errors import ArtifactDamaged
from modelward.registry.records import RunInfo, VersionInfo
from modelward.registry.stages import Stage

__all__ = ["GATES", "GateResult", "Records", "run_gates"]


class Records(Protocol):
    """What gates read: the artifacts and the stored runs (a ``Registry`` is one)."""

    artifacts: ArtifactStore

    def list_runs(
        self,
        *,
        model: str | None = None,
        version: int | None = None,
        kinds: Iterable[str] | None = None,
        limit: int | None = None,
    ) -> list[RunInfo]: ...


@dataclass(frozen=True)
class GateResult:
    name: str
    passed: bool
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


Gate = Callable[[Records, VersionInfo], GateResult]


def artifact_integrity(registry: Records, version: VersionInfo) -> GateResult:
    """The artifact is present and its sha256 matches."""
    if version.kind != "artifact" or version.sha256 is None:
        return GateResult("artifact-integrity", True, "endpoint model: no artifact")
    try:
        registry.artifacts.get(version.sha256)
    except ArtifactDamaged as exc:
        return GateResult("artifact-integrity", False, exc.message)
    return GateResult("artifact-integrity", True, f"sha256 {version.sha256[:12]}… verified")


#: Run kinds whose latest passing record lets a version into staging.
VALIDATION_KINDS = ("validation", "llm-evaluation")


#: What a validation must have checked to open the staging and production gates.
FULL_VALIDATION = frozenset({"performance", "bias", "robustness", "security"})


def _complete(run: RunInfo) -> bool:
    """An LLM evaluation, or a validation that ran every check (not a chosen subset)."""
    if run.kind != "validation":
        return True
    checks = run.inputs.get("checks")
    return checks is None or FULL_VALIDATION <= set(checks)


def validation_passed(registry: Records, version: VersionInfo) -> GateResult:
    """The latest complete validation of this version passed (modelward validate).

    A run limited to some checks (``--check-security`` …) informs but cannot open the gate:
    otherwise a passing subset would hide a failing full run.
    """
    runs = registry.list_runs(
        model=version.model, version=version.version, kinds=VALIDATION_KINDS, limit=50
    )
    complete = [run for run in runs if _complete(run)]
    if not complete and version.kind == "endpoint":
        return GateResult(
            "validation",
            False,
            f"{version.ref} has no LLM evaluation; run `modelward llm evaluate --models "
            f"{version.ref} --dataset FILE` (and `modelward test-predictions {version.model} "
            f"{version.version} --cases cases.yml` for its prompt tests)",
        )
    if not complete:
        partial = " (only partial ones, with some --check-* options)" if runs else ""
        return GateResult(
            "validation",
            False,
            f"{version.ref} has no validation that ran every check{partial}; run "
            f"`modelward validate {version.model} {version.version} --data FILE`",
        )
    run = complete[0]
    if run.kind == "llm-evaluation" and run.verdict != "pass":
        failed = [c["check"] for c in run.results.get("checks", []) if not c.get("passed")]
        return GateResult(
            "validation",
            False,
            f"llm-evaluation run #{run.id} failed {', '.join(failed) or 'its checks'}; improve "
            f"the endpoint and re-run `modelward llm evaluate --models {version.ref} "
            "--dataset FILE`",
        )
    detail = f"{run.kind} run #{run.id} of {run.created_at:%Y-%m-%d %H:%M} UTC: {run.verdict}"
    skipped = run.results.get("not_run") or [] if isinstance(run.results, dict) else []
    required = [c for c in skipped if c.get("required", True)]
    if required:
        detail += "; did not run: " + "; ".join(
            f"{c.get('name')} ({c.get('reason')})" for c in required
        )
    elif skipped:
        detail += "; not run, not required by the policy: " + ", ".join(
            str(c.get("name")) for c in skipped
        )
    # a check that did not run never counts as passed: only a "pass" verdict opens the gate,
    # and validate gives one with a not-run check only where the policy does not require it
    return GateResult("validation", run.verdict == "pass" and not required, detail)


GATES: dict[Stage, tuple[Gate, ...]] = {
    Stage.TESTING: (artifact_integrity,),
    Stage.STAGING: (artifact_integrity, validation_passed),
    Stage.PRODUCTION: (artifact_integrity, validation_passed),
}


def run_gates(registry: Records, version: VersionInfo, target: Stage) -> list[GateResult]:
    return [gate(registry, version) for gate in GATES.get(target, ())]
