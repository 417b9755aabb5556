"""What the rollout pages share: a rollout's id read from the path, SQL for the integer at a
key of a JSON column, the canary's weight now, and the id range of rows written during a
rollout's life."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

from modelward.errors import NotFound

__all__ = ["DECISIONS_PAGE", "REASON_MAX", "canary_weight", "id_range", "rollout_id"]


#: Decisions a rollout's page shows at a time, and the longest reason an action takes.
DECISIONS_PAGE = 20
REASON_MAX = 500

_ID = re.compile(r"[0-9]{1,18}")


def rollout_id(text: str | None) -> int:
    """A rollout id from the path; NotFound for anything but a positive whole number."""
    if text is None or not _ID.fullmatch(text) or int(text) == 0:
        shown = (text or "")[:40]
        raise NotFound(f"no rollout {shown!r}: a rollout id is a number; see /ui/rollouts")
    return int(text)


def canary_weight(state: str, stages: list[dict[str, Any]], index: int) -> float:
    """The canary's share now (as :attr:`RolloutInfo.weight` says)."""
    if state == "promoted":
        return 100.0
    if state in ("rolled-back", "aborted"):
        return 0.0
    return float(stages[index]["weight"]) if 0 <= index < len(stages) else 0.0


def id_range(run: Any, table: str, info: dict[str, Any]) -> dict[str, Any]:
    """The id range of ``table``'s rows written during the rollout's life (with a minute
    either side for clocks and commits out of step): two index lookups on ``created_at``,
    so reading its decisions never walks the model's other runs."""
    margin = timedelta(minutes=1)
    first = run(
        f"SELECT id FROM {table} WHERE created_at >= :at ORDER BY created_at, id LIMIT 1",
        {"at": info["created_at"] - margin},
    )
    bounds = {"low": first[0][0] if first else 2**62, "high": 2**62}
    if not info["live"]:
        after = run(
            f"SELECT id FROM {table} WHERE created_at > :at ORDER BY created_at, id LIMIT 1",
            {"at": info["updated_at"] + margin},
        )
        if after:
            bounds["high"] = after[0][0]
    return bounds
