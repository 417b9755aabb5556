"""Upkeep of the prediction log: a closed day's small files become one, and it is recorded.

:func:`modelward.predlog.compact.compact` does the work on the log's files; this is the
workspace's step around it (``modelward logs compact``): the model is checked against the
registry, and a compaction that changed something is stored as a ``log-compaction`` run.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from modelward.errors import ConfigError
from modelward.predlog.compact import Compaction, compact

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["compact_logs"]


def compact_logs(
    ws: Workspace,
    *,
    model: str | None = None,
    before: date | str | None = None,
    since: date | str | None = None,
    dry_run: bool = False,
) -> list[Compaction]:
    """Compact every closed day from ``since`` (default the log's first) to before
    ``before`` (dates or ``YYYY-MM-DD``; default today, UTC) of ``model``'s log (default
    every model); ``dry_run`` only says what would be."""
    before, since = _date(before, "before"), _date(since, "since")
    if model is not None:
        ws.registry.get_model(model)  # an unknown name is one line naming the known ones
    done = compact(ws.logs_url, model=model, before=before, since=since, dry_run=dry_run)
    if done and not dry_run:
        ws.registry.record_run(
            "log-compaction",
            model=model,
            version=None,
            inputs={
                "before": str(before) if before else None,
                "since": str(since) if since else None,
            },
            results={"partitions": [c.to_dict() for c in done]},
            verdict="info",
        )
    return done


def _date(value: date | str | None, option: str) -> date | None:
    if not isinstance(value, str):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        raise ConfigError(
            f"--{option} {value!r} is not a date; write it as YYYY-MM-DD", field=option
        ) from exc
