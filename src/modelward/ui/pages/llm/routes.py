"""``/ui/llm/routes``: the routing table's revisions, a page at a time."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelward.ui.pages.llm.table import TABLE_COLUMNS, table_row
from modelward.ui.pages.llm.window import ENVIRONMENTS, environment
from modelward.ui.view import Page, View

if TYPE_CHECKING:
    pass

__all__ = ["routes"]


def routes(view: View) -> Page:
    env = environment(view)
    limit, offset = view.paging()
    with view.ws.sql.snapshot() as run:
        total = run("SELECT COUNT(*) FROM routing_tables WHERE environment = :env", {"env": env})[
            0
        ][0]
        revisions = run(
            f"SELECT {TABLE_COLUMNS} FROM routing_tables WHERE environment = :env "
            "ORDER BY revision DESC LIMIT :limit OFFSET :offset",
            {"env": env, "limit": limit, "offset": offset},
        )
    return Page(
        "llm_routes.html.j2",
        f"LLM routing table revisions ({env})",
        {
            "env": env,
            "environments": ENVIRONMENTS,
            "revisions": [table_row(row) for row in revisions],
            "total": total,
            "limit": limit,
            "offset": offset,
        },
    )
