"""What a transition read before deciding, and the check at commit that it still holds.

A transition reads the version's stage and the model's production version, runs the gates,
then commits. Another process may move either in between, and committing anyway would act
on a state nobody decided on: twenty promotions of two versions racing would each replace
the one before (v2, then v3 replacing it, then v2 back from maintenance). So the commit,
with the model's row locked, re-reads both and refuses with a ConflictError when either
changed (compare-and-set). A caller that knows when its decision was made (the CLI: when
its process started) passes that moment too, and any move of the version, or of
production for a promotion, recorded since then is refused as well: commands launched
together then cannot succeed one after another, each reading the state the previous one
left. Event times come from the clocks of the writers; only moves recorded between that
moment and now count, so a clock running ahead elsewhere cannot block later commands.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from modelward.errors import ConflictError
from modelward.registry.stages import Stage
from modelward.store.tables import EventRow, ModelRow, VersionRow
from modelward.timeutil import utcnow

__all__ = [
    "Snapshot",
    "check_expected",
    "check_moves_since_start",
    "check_snapshot",
    "lock_model",
    "read_snapshot",
    "shown",
]

PRODUCTION = Stage.PRODUCTION.value


@dataclass(frozen=True)
class Snapshot:
    """The state a transition decided on."""

    model: str
    model_id: int
    version: int
    stage: str
    production: int | None
    started: datetime | None = None  # when the decision was made, if the caller knows


def shown(version: int | None) -> str:
    return "no version" if version is None else f"v{version}"


def _production(session: Session, model_id: int) -> int | None:
    return session.scalar(
        select(VersionRow.version).where(
            VersionRow.model_id == model_id, VersionRow.stage == PRODUCTION
        )
    )


def read_snapshot(
    session: Session, model: str, row: VersionRow, started: datetime | None
) -> Snapshot:
    production = _production(session, row.model_id)
    return Snapshot(model, row.model_id, row.version, row.stage, production, started)


def _reread(name: str) -> str:
    return f"nothing was changed; re-read with `modelward versions list {name}`"


def check_expected(snapshot: Snapshot, expected: int | None) -> None:
    """``--expect-current``: production must be the version the caller names (or none)."""
    if snapshot.production != expected:
        raise ConflictError(
            f"production of {snapshot.model!r} is {shown(snapshot.production)}, not "
            f"{shown(expected)} as --expect-current says; {_reread(snapshot.model)}",
            field="expected",
        )


def check_snapshot(session: Session, snapshot: Snapshot, target: Stage) -> None:
    """Refuse when what ``snapshot`` read changed; call with the model's row locked."""
    name = snapshot.model
    promotion = target == Stage.PRODUCTION
    stage = _stage(session, snapshot)
    if stage != snapshot.stage:
        raise ConflictError(
            f"{name}:{snapshot.version} moved from {snapshot.stage} to {stage} while this "
            f"transition ran; {_reread(name)}"
        )
    production = _production(session, snapshot.model_id)
    if promotion and production != snapshot.production:
        raise ConflictError(
            f"production of {name!r} moved to {shown(production)} while this promotion ran "
            f"(it read {shown(snapshot.production)}); {_reread(name)}"
        )
    check_moves_since_start(session, snapshot, target)


def check_moves_since_start(session: Session, snapshot: Snapshot, target: Stage) -> None:
    """Refuse when the version, or production for a promotion, moved since ``started``."""
    if snapshot.started is None:
        return
    concerns = [EventRow.version == snapshot.version]
    if target == Stage.PRODUCTION:
        concerns += [EventRow.from_stage == PRODUCTION, EventRow.to_stage == PRODUCTION]
    moved = session.scalar(
        select(EventRow)
        .where(
            EventRow.model_id == snapshot.model_id,
            EventRow.kind == "transition",
            EventRow.created_at > snapshot.started,
            EventRow.created_at <= utcnow(),
            or_(*concerns),
        )
        .order_by(EventRow.created_at.desc(), EventRow.id.desc())
        .limit(1)
    )
    if moved is None:
        return
    name = snapshot.model
    # the version's own stage, read now: under READ COMMITTED the query above may have seen
    # a promotion's first event (the old production out) but not its second (this version
    # in, stamped after the query's "now"), and the user should hear that their version moved
    stage = _stage(session, snapshot)
    if stage != snapshot.stage or moved.version == snapshot.version:
        was, now = (snapshot.stage, stage) if stage != snapshot.stage else (
            moved.from_stage, moved.to_stage)  # fmt: skip
        raise ConflictError(
            f"{name}:{snapshot.version} moved from {was} to {now} after this command started; "
            f"{_reread(name)}"
        )
    production = _production(session, snapshot.model_id)
    raise ConflictError(
        f"production of {name!r} moved to {shown(production)} after this command started; "
        f"{_reread(name)}"
    )


def _stage(session: Session, snapshot: Snapshot) -> str | None:
    return session.scalar(
        select(VersionRow.stage).where(
            VersionRow.model_id == snapshot.model_id, VersionRow.version == snapshot.version
        )
    )


def lock_model(session: Session, model_id: int) -> None:
    """Transitions of one model take turns from here to their commit."""
    session.execute(select(ModelRow.id).where(ModelRow.id == model_id).with_for_update())
