"""Lifecycle gates: the checks a version must pass to enter a stage.

Each gate is a small function ``(registry, version) -> GateResult``; ``GATES`` lists them
per target stage. Their results are recorded with every transition, and a failing gate
stops the move unless it is forced with a reason (also recorded). A gate reads the
registry through :class:`Records`, the little of it gates need, so the registry runs them
without the two importing each other; the policy's numbers and the version's traffic come
through its ``criteria`` (:mod:`.criteria`).

The human criteria (section 5.1): production needs the policy's number of approvals by
distinct people (``lifecycle.approvals_required``); retirement needs the version to have
had no traffic for ``lifecycle.migration_days`` (its clients migrated) and its log rows
archived (``modelward logs archive``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol

from modelward.artifacts.store import ArtifactStore
from modelward.errors import ArtifactDamaged
from modelward.present import fmt_time
from modelward.registry.criteria import Criteria
from modelward.registry.records import EventInfo, RunInfo, VersionInfo
from modelward.registry.stages import Stage
from modelward.timeutil import utcnow

__all__ = ["APPROVED", "ARCHIVE_RUN", "GATES", "GateResult", "Records", "approvers", "run_gates"]

#: The history event of an approval (``details: {"for": "production"}``).
APPROVED = "approved"
#: The run kind ``modelward logs archive`` records.
ARCHIVE_RUN = "log-archive"


class Records(Protocol):
    """What gates read: the artifacts, the stored runs and history, and the criteria the
    workspace gives (a ``Registry`` is one)."""

    artifacts: ArtifactStore
    criteria: Criteria

    def history(
        self,
        name: str,
        *,
        version: int | None = None,
        kinds: Sequence[str] | None = None,
        since: datetime | None = None,
    ) -> list[EventInfo]: ...

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


def approvers(events: Iterable[EventInfo], stage: str = "production") -> list[str]:
    """The distinct people who approved a version for ``stage``, first approval first."""
    return list(dict.fromkeys(e.actor for e in events if e.details.get("for") == stage))


def approvals(registry: Records, version: VersionInfo) -> GateResult:
    """The policy's number of approvals for production, by distinct people."""
    required = registry.criteria.approvals_required(version.model)
    if required == 0:
        return GateResult("approvals", True, "none required (lifecycle.approvals_required: 0)")
    events = registry.history(version.model, version=version.version, kinds=(APPROVED,))
    people = approvers(events)
    if len(people) >= required:
        return GateResult("approvals", True, f"approved by {', '.join(people)}")
    by = f" (approved by {', '.join(people)})" if people else ""
    return GateResult(
        "approvals",
        False,
        f"{version.ref} has {len(people)} of the {required} approvals by distinct people "
        f"production needs{by}; each approver runs `modelward approve {version.model} "
        f'{version.version} --for production --reason "…"`',
    )


def migration_completed(registry: Records, version: VersionInfo) -> GateResult:
    """No prediction of the version for ``lifecycle.migration_days``: its clients moved."""
    days = registry.criteria.migration_days(version.model)
    seen = registry.criteria.traffic(
        version.model, version.version, since=utcnow() - timedelta(days=days)
    )
    if seen is None:
        return GateResult("migration", True, "no prediction log to read")
    if seen.rows:
        last = fmt_time(seen.last) if seen.last else "?"
        return GateResult(
            "migration",
            False,
            f"{version.ref} served {seen.rows} predictions in the last {days} days (the last "
            f"at {last} UTC); move its clients to another version and retire it after "
            f"{days} days without traffic (lifecycle.migration_days)",
        )
    return GateResult("migration", True, f"no predictions in the last {days} days")


def logs_archived(registry: Records, version: VersionInfo) -> GateResult:
    """The version's prediction-log rows are archived: a verified archive made after the
    last of them (``modelward logs archive``)."""
    seen = registry.criteria.traffic(version.model, version.version)
    if seen is None or not seen.rows:
        return GateResult("archive", True, "no prediction-log rows to archive")
    runs = registry.list_runs(
        model=version.model, version=version.version, kinds=(ARCHIVE_RUN,), limit=20
    )
    done = [
        r for r in runs if r.verdict == "pass" and (seen.last is None or r.created_at >= seen.last)
    ]
    if not done:
        return GateResult(
            "archive",
            False,
            f"{version.ref}'s {seen.rows} prediction-log rows are not archived since its last "
            f"prediction; run `modelward logs archive {version.model} {version.version} "
            "--to URL`",
        )
    run = done[0]
    return GateResult(
        "archive", True, f"archived to {run.inputs.get('to')} by run #{run.id} (verified)"
    )


GATES: dict[Stage, tuple[Gate, ...]] = {
    Stage.TESTING: (artifact_integrity,),
    Stage.STAGING: (artifact_integrity, validation_passed),
    Stage.PRODUCTION: (artifact_integrity, validation_passed, approvals),
    Stage.RETIRED: (migration_completed, logs_archived),
}


def run_gates(registry: Records, version: VersionInfo, target: Stage) -> list[GateResult]:
    return [gate(registry, version) for gate in GATES.get(target, ())]
