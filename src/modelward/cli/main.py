"""Entry point of the ``modelward`` console script.

Command modules live in :mod:`modelward.cli.commands`; each exposes ``register(app)``.
They import at module level only Typer, the CLI's helpers, the error tree and the
``modelward`` package, whose API is loaded on first use; so ``modelward --help`` starts
fast and each command loads just what it calls. Typer builds a Click command for every
registered command on each start (a fifth of a read command's time), so ``main`` hands it
only the top-level command the arguments name (:func:`for_args`). The console script is
:func:`run`: :func:`main`, then out of the process without the interpreter's teardown of
every loaded module (:func:`leave`).
"""

from __future__ import annotations

import atexit
import copy
import importlib
import os
import pkgutil
import sys
import threading
from collections.abc import Sequence
from typing import NoReturn

import typer
from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from modelward.cli import commands
from modelward.cli.app import LAUNCHED, app
from modelward.timeutil import process_started_at

__all__ = ["app", "for_args", "leave", "main", "run"]

#: The root's options that take a value (the others are flags).
_VALUED = {"--workspace", "-w"}

for _module in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
    importlib.import_module(f"{commands.__name__}.{_module}").register(app)


def _command_word(args: Sequence[str]) -> str | None:
    """The top-level command ``args`` names, after the root's options; None for help,
    the version, or anything this cannot read (the whole app then answers)."""
    words = iter(args)
    for word in words:
        if word in _VALUED:
            next(words, None)
        elif word.startswith("--workspace="):
            continue
        elif word == "--debug":
            continue
        elif word.startswith("-"):
            return None
        else:
            return word
    return None


def for_args(args: Sequence[str]) -> typer.Typer:
    """``app`` with only the top-level command (or group) ``args`` names; ``app`` itself when
    they name none of them (help, a typo: Click then lists or suggests every command)."""
    word = _command_word(args)
    groups = [info for info in app.registered_groups if info.name == word]
    commands = [info for info in app.registered_commands if info.name == word]
    if word is None or not (groups or commands):
        return app
    pruned = copy.copy(app)
    pruned.registered_groups = groups
    pruned.registered_commands = commands
    return pruned


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; a usage mistake (unknown command or option, bad value) is one line too."""
    args = list(argv) if argv is not None else sys.argv[1:]
    # Pydantic (the policy, Typer's parameters) looks for plugins in every installed
    # package's metadata on its first model: a tenth of a read command's start, for
    # plugins (tracing, linting) the CLI has no use for. Set it to "" to have them.
    os.environ.setdefault("PYDANTIC_DISABLE_PLUGINS", "__all__")
    launched = LAUNCHED.set(process_started_at())
    try:
        code = for_args(args)(
            args=args,
            prog_name="modelward",
            standalone_mode=False,
        )
    except NoArgsIsHelpError as exc:
        exc.show()  # a bare group prints its help
        sys.exit(0)
    except UsageError as exc:
        path = exc.ctx.command_path if exc.ctx is not None else "modelward"
        sys.stderr.write(f"error: {exc.format_message().rstrip('.')}; see `{path} --help`\n")
        sys.exit(exc.exit_code)
    except ClickException as exc:
        sys.stderr.write(f"error: {exc.format_message()}\n")
        sys.exit(exc.exit_code)
    finally:
        LAUNCHED.reset(launched)
    sys.exit(code if isinstance(code, int) else 0)


def run() -> NoReturn:
    """The ``modelward`` console script: :func:`main`, then :func:`leave`."""
    try:
        main()
    except SystemExit as exc:
        leave(exc.code)
    leave(0)


def leave(code: object) -> NoReturn:
    """Exit with ``code`` (as ``sys.exit`` takes it) once what an exit must do is done:
    callbacks registered with ``atexit`` run (logging's flush, temporary folders' removal)
    and stdout and stderr are flushed; then the process ends without the interpreter's
    teardown of every module it loaded (DuckDB, pyarrow, NumPy, SQLAlchemy: ~0.1 s of a
    short command). A thread still at work, a profiler or debugger (which report when the
    interpreter exits), or output that cannot be flushed, gets the ordinary exit instead."""
    others = [t for t in threading.enumerate() if t is not threading.current_thread()]
    watched = sys.getprofile() is not None or sys.gettrace() is not None
    if watched or any(t.is_alive() and not t.daemon for t in others):
        sys.exit(code)  # type: ignore[arg-type] # the interpreter joins it first
    if code is not None and not isinstance(code, int):
        sys.stderr.write(f"{code}\n")
        code = 1
    atexit._run_exitfuncs()  # noqa: SLF001 - what Py_Finalize runs first, run here
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except OSError:  # a closed pipe: the interpreter's exit reports it as it always does
        sys.exit(code)
    os._exit(code or 0)


if __name__ == "__main__":
    run()
