"""``modelward llm routes show|set``, ``llm history`` and ``llm revert``: the routing table
(query type -> ranked models), one revision per change."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modelward.cli.app import calls, new_typer, state
from modelward.cli.commands.llm.common import models
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table
from modelward.present import fmt_time

if TYPE_CHECKING:
    from modelward.llm.routing import RoutingTable

routes_app = new_typer("The routing table: query type -> ranked models.")

#: Every routing command works on one environment's table.
EnvOption = Annotated[
    str, typer.Option("--env", help="The gateway environment: production or staging.")
]


def _print_table(revision: RoutingTable) -> None:
    console.print(
        f"revision {revision.revision} · {fmt_time(revision.created_at)} · "
        f"{revision.created_by} · {revision.reason}"
    )
    rows = []
    for query_type, route in sorted(revision.routes.items()):
        canary = route.get("canary")
        rows.append(
            (
                query_type,
                " → ".join(route["models"]),
                f"{canary['model']} @ {canary['weight']:g}%" if canary else "",
            )
        )
    console.print(table(("query type", "models (first serves, rest fall back)", "canary"), rows))


@routes_app.command("show")
@calls("Workspace.llm.routes")
def routes_show(
    revision: Annotated[int | None, typer.Option(help="An older revision.")] = None,
    env: EnvOption = "production",
    as_json: JsonOption = False,
) -> None:
    """The current routing table (or one revision of it)."""
    found = state().workspace().llm.routes(revision, environment=env)
    if as_json:
        print_json(found.to_dict() if found else None)
        return
    if found is None:
        console.print("No routing table yet: `modelward llm select --dataset FILE --apply`.")
        return
    _print_table(found)


@routes_app.command("set")
@calls("Workspace.llm.set_route")
def routes_set(
    query_type: Annotated[str, typer.Argument(help="Query type (factual, technical, …).")],
    refs: Annotated[str, typer.Option("--models", help="Ranked models, comma-separated.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded.")],
    canary: Annotated[str | None, typer.Option(help="A canary model for this type.")] = None,
    weight: Annotated[float, typer.Option(help="Canary traffic percent.")] = 5.0,
    env: EnvOption = "production",
) -> None:
    """Set one query type's route by hand (a new revision)."""
    saved = (
        state()
        .workspace()
        .llm.set_route(
            query_type, models(refs), reason=reason, canary=canary, weight=weight,
            environment=env,
        )
    )  # fmt: skip
    console.print(f"Routing table revision {saved.revision} written.")


@calls("Workspace.llm.route_history")
def history_cmd(env: EnvOption = "production", as_json: JsonOption = False) -> None:
    """Every revision of the routing table."""
    revisions = state().workspace().llm.route_history(environment=env)
    if as_json:
        print_json([r.to_dict() for r in revisions])
        return
    rows = [
        (
            r.revision,
            fmt_time(r.created_at),
            r.created_by,
            r.reason,
            "; ".join(f"{q}: {v['models'][0]}" for q, v in sorted(r.routes.items())),
        )
        for r in revisions
    ]
    console.print(
        table(("revision", "when", "who", "reason", "primary per type"), rows)
        if rows
        else "No routing revisions yet."
    )


@calls("Workspace.llm.revert_routes")
def revert_cmd(
    revision: Annotated[int, typer.Argument(help="The revision to go back to.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded.")] = "",
    env: EnvOption = "production",
) -> None:
    """Make an older routing revision current again (as a new revision)."""
    saved = state().workspace().llm.revert_routes(revision, reason=reason, environment=env)
    console.print(f"Routing table revision {saved.revision} written (= revision {revision}).")


def register(llm_app: typer.Typer) -> None:
    llm_app.add_typer(routes_app, name="routes")
    llm_app.command("history")(history_cmd)
    llm_app.command("revert")(revert_cmd)
