"""A stored routing table's row as the LLM pages show it: its routes with each canary's weight."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.store.plain import json_value, moment

if TYPE_CHECKING:
    pass

__all__ = ["TABLE_COLUMNS", "table_row"]


def table_row(row: tuple[Any, ...]) -> dict[str, Any]:
    revision, routes, reason, source_run_id, created_at, created_by = row
    routes = json_value(routes) or {}
    return {
        "revision": revision,
        "reason": reason,
        "source_run_id": source_run_id,
        "created_at": moment(created_at),
        "created_by": created_by,
        "routes": [
            {
                "query_type": query_type,
                "models": list(route.get("models") or []),
                "canary": route.get("canary"),
            }
            for query_type, route in sorted(routes.items())
        ],
    }


TABLE_COLUMNS = "revision, routes, reason, source_run_id, created_at, created_by"
