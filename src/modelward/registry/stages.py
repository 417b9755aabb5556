"""The lifecycle state machine, from the runbooks. One table says every allowed move."""

from __future__ import annotations

from enum import StrEnum

from modelward.errors import TransitionError

__all__ = ["ALLOWED", "Stage", "check_transition", "parse_stage"]


class Stage(StrEnum):
    DEVELOPMENT = "development"
    TESTING = "testing"
    STAGING = "staging"
    PRODUCTION = "production"
    MAINTENANCE = "maintenance"
    DEPRECATED = "deprecated"
    RETIRED = "retired"


S = Stage
#: from -> the stages it may move to. Forward along the lifecycle, back where a rollback
#: makes sense, retired from anywhere not serving traffic, and nothing out of retired.
ALLOWED: dict[Stage, frozenset[Stage]] = {
    S.DEVELOPMENT: frozenset({S.TESTING, S.RETIRED}),
    S.TESTING: frozenset({S.STAGING, S.DEVELOPMENT, S.RETIRED}),
    S.STAGING: frozenset({S.PRODUCTION, S.TESTING, S.RETIRED}),
    S.PRODUCTION: frozenset({S.MAINTENANCE, S.STAGING, S.DEPRECATED}),
    S.MAINTENANCE: frozenset({S.PRODUCTION, S.DEPRECATED}),
    S.DEPRECATED: frozenset({S.MAINTENANCE, S.RETIRED}),
    S.RETIRED: frozenset(),
}

#: Stages whose versions may receive traffic.
SERVING = frozenset({S.STAGING, S.PRODUCTION, S.MAINTENANCE})


def parse_stage(text: str) -> Stage:
    try:
        return Stage(text.lower())
    except ValueError as exc:
        raise TransitionError(
            f"unknown stage {text!r}; stages are {', '.join(s.value for s in Stage)}",
            field="stage",
        ) from exc


def check_transition(current: Stage, target: Stage) -> None:
    if target in ALLOWED[current]:
        return
    if current == target:
        raise TransitionError(f"the version is already in {target}")
    allowed = ", ".join(sorted(s.value for s in ALLOWED[current])) or "nothing: retired is final"
    raise TransitionError(
        f"cannot move from {current} to {target}; from {current} a version may move to "
        f"{allowed} (move it one step at a time with `modelward transition`; --force overrides "
        "failing gates, never these steps)"
    )
