"""Generate docs/cli.md, the CLI reference, from every command's ``--help``.

Run ``make docs`` (``TYPER_USE_RICH=0 COLUMNS=100 python -m modelward.cli.reference >
docs/cli.md``). ``tests/test_docs.py`` fails when the file is stale or a command family
is missing from the README.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

__all__ = ["command_paths", "render"]

HEADER = """\
# Command reference

Generated from `modelward … --help` by `make docs`; do not edit by hand.
Exit codes: 0 success, 1 a check ran and failed, 2 a mistake in the input (one line on
stderr naming the problem and the fix; `--debug` adds the traceback).
"""


def command_paths() -> Iterator[tuple[str, ...]]:
    """Every visible command and group below ``modelward``, depth first, in name order."""
    import typer

    from modelward.cli.main import app

    def walk(command: Any, path: tuple[str, ...]) -> Iterator[tuple[str, ...]]:
        yield path
        for name in sorted(getattr(command, "commands", {}) or {}):
            if not getattr(command.commands[name], "hidden", False):
                yield from walk(command.commands[name], (*path, name))

    yield from walk(typer.main.get_command(app), ())


def render() -> str:
    from typer.testing import CliRunner

    from modelward.cli.main import app

    runner = CliRunner()
    parts = [HEADER]
    for path in command_paths():
        result = runner.invoke(app, [*path, "--help"], prog_name="modelward")
        title = " ".join(("modelward", *path))
        level = "#" * min(2 + len(path), 4) if path else "##"
        parts.append(f"{level} `{title}`\n\n```text\n{result.stdout.strip()}\n```\n")
    return "\n".join(parts)


if __name__ == "__main__":
    print(render(), end="")
