"""Named leases in the ``leases`` table: only the holder of ``rollout:<id>`` acts on it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy import delete

from modelward.errors import RaceLost
from modelward.registry.records import aware
from modelward.store.tables import LeaseRow

if TYPE_CHECKING:
    from modelward.store.db import Database

__all__ = ["acquire", "release", "release_all"]


def acquire(db: Database, name: str, owner: str, now: datetime, ttl: timedelta) -> str | None:
    """Take or renew the lease; None on success, else the current holder."""
    try:
        with db.session() as session:
            row = session.get(LeaseRow, name, with_for_update=True)
            if row is None:
                session.add(LeaseRow(name=name, owner=owner, expires_at=now + ttl))
                return None
            if row.owner == owner or aware(row.expires_at) <= now:
                row.owner = owner
                row.expires_at = now + ttl
                return None
            return row.owner
    except RaceLost:  # another process inserted the same lease at the same moment
        return "another controller"


def release(db: Database, name: str, owner: str) -> None:
    with db.session() as session:
        session.execute(delete(LeaseRow).where(LeaseRow.name == name, LeaseRow.owner == owner))


def release_all(db: Database, owner: str) -> None:
    """Give up every lease ``owner`` holds (a controller that exits)."""
    with db.session() as session:
        session.execute(delete(LeaseRow).where(LeaseRow.owner == owner))
