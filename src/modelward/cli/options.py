"""Options several command families share."""

from __future__ import annotations

from typing import Annotated

import typer

__all__ = ["JsonOption"]

#: ``--json`` on every read command: the result as JSON on stdout instead of a table.
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]
