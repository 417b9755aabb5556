"""Generate docs/cli.md, the CLI reference, from every command's ``--help`` and the Python
API it declares (``@calls``).

Run ``make docs`` (``TYPER_USE_RICH=0 COLUMNS=100 python -m modelward.cli.reference >
docs/cli.md``). ``tests/test_docs.py`` fails when the file is stale or a command family
is missing from the README.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import typer
from typer.testing import CliRunner

from modelward.cli.main import app

__all__ = ["command_callbacks", "command_paths", "render"]

HEADER = """\
# Command reference

Generated from `modelward … --help` by `make docs`; do not edit by hand.
Exit codes: 0 success, 1 a check ran and failed, 2 a mistake in the input (one line on
stderr naming the problem and the fix; `--debug` adds the traceback), 3 something modelward
depends on failed (storage, the metadata DB, a provider, a model).
Each command names the Python API it calls (`modelward.…`, or `Workspace.…` on an open
workspace): whatever the command line does, a Python caller can do too.
"""


def _walk() -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every visible command and group below ``modelward``, depth first, in name order."""

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[tuple[str, ...], Any]]:
        yield path, command
        for name in sorted(getattr(command, "commands", {}) or {}):
            if not getattr(command.commands[name], "hidden", False):
                yield from walk(command.commands[name], (*path, name))

    yield from walk(typer.main.get_command(app), ())


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every visible command and group below ``modelward``, depth first, in name order."""
    for path, _ in _walk():
        yield path


def command_callbacks() -> Iterator[tuple[tuple[str, ...], Callable[..., Any]]]:
    """Every command (not the groups) with the function it runs."""
    for path, command in _walk():
        if not hasattr(command, "commands") and command.callback is not None:
            yield path, command.callback


def render() -> str:
    runner = CliRunner()
    api = {
        path: getattr(callback, "__modelward_api__", ()) for path, callback in command_callbacks()
    }
    parts = [HEADER]
    for path in command_paths():
        result = runner.invoke(app, [*path, "--help"], prog_name="modelward")
        title = " ".join(("modelward", *path))
        level = "#" * min(2 + len(path), 4) if path else "##"
        calls = ", ".join(f"`{name}`" for name in api.get(path, ()))
        python = f"Python API: {calls}\n\n" if calls else ""
        parts.append(f"{level} `{title}`\n\n{python}```text\n{result.stdout.strip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
