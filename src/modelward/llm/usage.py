"""Usage and spend: the ``usage`` table (per day, API key, model version), written in
batches off the request path, and the budget questions asked of it."""

from __future__ import annotations

import threading
from collections import defaultdict
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select

from modelward.errors import RaceLost
from modelward.store.tables import UsageRow
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.store.db import Database

__all__ = ["UsageBuffer", "month_spend", "usage_summary"]

FIELDS = ("requests", "errors", "cache_hits", "input_tokens", "output_tokens", "cost")
Key = tuple[str, str, str, int]  # day, api key, model, version


class UsageBuffer:
    """Counts in memory; :meth:`flush` adds them to the table in one transaction."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._lock = threading.Lock()
        self._pending: dict[Key, dict[str, float]] = defaultdict(lambda: dict.fromkeys(FIELDS, 0))

    def add(
        self,
        api_key: str,
        model: str,
        version: int,
        *,
        error: bool = False,
        cache_hit: bool = False,
        input_tokens: int = 0,
        output_tokens: int = 0,
        cost: float = 0.0,
    ) -> None:
        day = utcnow().strftime("%Y-%m-%d")
        with self._lock:
            row = self._pending[(day, api_key, model, version)]
            row["requests"] += 1
            row["errors"] += int(error)
            row["cache_hits"] += int(cache_hit)
            row["input_tokens"] += input_tokens
            row["output_tokens"] += output_tokens
            row["cost"] += cost

    def pending(self) -> dict[Key, dict[str, float]]:
        with self._lock:
            return {k: dict(v) for k, v in self._pending.items()}

    def flush(self) -> int:
        return self.write(self.take())

    def take(self) -> dict[Key, dict[str, float]]:
        """The counts so far, and a fresh buffer (:meth:`write` stores them)."""
        with self._lock:
            batch, self._pending = self._pending, defaultdict(lambda: dict.fromkeys(FIELDS, 0))
        return batch

    def write(self, batch: dict[Key, dict[str, float]]) -> int:
        if not batch:
            return 0
        for attempt in range(3):
            try:
                self._write(batch)
                return len(batch)
            except RaceLost:  # another replica inserted the same key first
                if attempt == 2:
                    raise
        return 0

    def _write(self, batch: dict[Key, dict[str, float]]) -> None:
        with self.db.session() as session:
            for (day, key, model, version), counts in batch.items():
                row = session.scalar(
                    select(UsageRow)
                    .where(
                        UsageRow.day == day,
                        UsageRow.api_key == key,
                        UsageRow.model == model,
                        UsageRow.version == version,
                    )
                    .with_for_update()
                )
                if row is None:
                    row = UsageRow(
                        day=day, api_key=key, model=model, version=version, **{f: 0 for f in FIELDS}
                    )
                    session.add(row)
                row.requests += int(counts["requests"])
                row.errors += int(counts["errors"])
                row.cache_hits += int(counts["cache_hits"])
                row.input_tokens += int(counts["input_tokens"])
                row.output_tokens += int(counts["output_tokens"])
                row.cost = float(row.cost or 0) + float(counts["cost"])


def month_spend(db: Database, *, api_key: str | None = None) -> float:
    """Spend in the current UTC calendar month (stored rows only)."""
    month = utcnow().strftime("%Y-%m")
    with db.session(readonly=True) as session:
        query = select(func.coalesce(func.sum(UsageRow.cost), 0.0)).where(
            UsageRow.day.like(f"{month}-%")
        )
        if api_key is not None:
            query = query.where(UsageRow.api_key == api_key)
        return float(session.scalar(query) or 0.0)


def usage_summary(db: Database, *, days: int = 30) -> list[dict[str, Any]]:
    """Per model version over the last ``days`` days."""
    since = (utcnow() - timedelta(days=days - 1)).strftime("%Y-%m-%d")
    with db.session(readonly=True) as session:
        rows = session.execute(
            select(
                UsageRow.model,
                UsageRow.version,
                UsageRow.api_key,
                *(func.sum(getattr(UsageRow, f)) for f in FIELDS),
            )
            .where(UsageRow.day >= since)
            .group_by(UsageRow.model, UsageRow.version, UsageRow.api_key)
            .order_by(UsageRow.model, UsageRow.version, UsageRow.api_key)
        ).all()
    out = []
    for model, version, key, *sums in rows:
        entry: dict[str, Any] = {"model": model, "version": version, "api_key": key}
        entry.update(
            {
                f: (float(v or 0) if f == "cost" else int(v or 0))
                for f, v in zip(FIELDS, sums, strict=True)
            }
        )
        out.append(entry)
    return out
