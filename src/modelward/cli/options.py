"""Options several command families share."""

from __future__ import annotations

from typing import Annotated

import typer

from modelward.errors import ConfigError

__all__ = ["JsonOption", "parse_pairs"]

#: ``--json`` on every read command: the result as JSON on stdout instead of a table.
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")]


def parse_pairs(pairs: list[str] | None, *, what: str = "--tag") -> dict[str, str]:
    """``["k=v", …]`` -> dict, with a one-line error for a pair without ``=``."""
    out: dict[str, str] = {}
    for pair in pairs or []:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"{what} {pair!r} is not key=value; write e.g. {what} team=cardio")
        out[key.strip()] = value.strip()
    return out
