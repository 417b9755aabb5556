"""``modelward card``: a model card in Markdown and HTML from what was recorded."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json


@calls("modelward.write_card")
def card(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number or alias.")] = "latest",
    out: Annotated[
        Path | None, typer.Option("--out", help="Folder (default: <workspace>/reports/cards).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Write the model card in Markdown and HTML: use, data, metrics, groups, validation."""
    md, html = modelward.write_card(state().workspace(), name, version, out=out)
    if as_json:
        print_json({"markdown": str(md), "html": str(html)})
        return
    console.print(f"Model card: {md}\n            {html}")


def register(app: typer.Typer) -> None:
    app.command("card")(card)
