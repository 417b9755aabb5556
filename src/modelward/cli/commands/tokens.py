"""``modelward tokens``: API tokens for the server (only their hashes are stored)."""

from __future__ import annotations

from typing import Annotated

import typer

from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table
from modelward.present import fmt_time

tokens_app = new_typer("API tokens for `modelward serve` (bearer tokens with scopes).")


@tokens_app.command("create")
@calls("Workspace.tokens.create")
def tokens_create(
    name: Annotated[str, typer.Argument(help="A name for the token (e.g. the client).")],
    scope: Annotated[
        list[str] | None,
        typer.Option(
            "--scope",
            "-s",
            help="predict, feedback, read (dashboard), operate (dashboard actions) or admin "
            "(repeatable).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Create a token and print it once; store it in your client's secret store."""
    info, secret = state().workspace().tokens.create(name, scope)
    if as_json:
        print_json({**info.to_dict(), "token": secret})
        return
    console.print(f"token {name} ({', '.join(info.scopes)}); shown only now:")
    console.print(secret)


@tokens_app.command("list")
@calls("Workspace.tokens.list")
def tokens_list(
    as_json: JsonOption = False,
) -> None:
    """Every token: name, scopes, created, revoked. Secrets are never shown again."""
    found = state().workspace().tokens.list()
    if as_json:
        print_json([t.to_dict() for t in found])
        return
    rows = [
        (t.name, ", ".join(t.scopes), fmt_time(t.created_at), t.created_by, fmt_time(t.revoked_at))
        for t in found
    ]
    console.print(table(("name", "scopes", "created (UTC)", "by", "revoked (UTC)"), rows))


@tokens_app.command("revoke")
@calls("Workspace.tokens.revoke")
def tokens_revoke(
    name: Annotated[str, typer.Argument(help="The token's name.")],
) -> None:
    """Revoke a token; running servers refuse it within a second."""
    state().workspace().tokens.revoke(name)
    console.print(f"token {name} revoked")


def register(app: typer.Typer) -> None:
    app.add_typer(tokens_app, name="tokens")
    app.add_typer(tokens_app, name="token", hidden=True)
