"""Entry point of the ``modelward`` console script.

Command modules live in :mod:`modelward.cli.commands`; each exposes ``register(app)``.
They import at module level only Typer, the CLI's helpers, the error tree and the
``modelward`` package, whose API is loaded on first use; so ``modelward --help`` starts
fast and each command loads just what it calls.
"""

from __future__ import annotations

import importlib
import pkgutil
import sys
from collections.abc import Sequence

from typer._click.exceptions import ClickException, NoArgsIsHelpError, UsageError

from modelward.cli import commands
from modelward.cli.app import LAUNCHED, app
from modelward.timeutil import process_started_at

__all__ = ["app", "main"]

for _module in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
    importlib.import_module(f"{commands.__name__}.{_module}").register(app)


def main(argv: Sequence[str] | None = None) -> None:
    """Run the CLI; a usage mistake (unknown command or option, bad value) is one line too."""
    launched = LAUNCHED.set(process_started_at())
    try:
        code = app(
            args=list(argv) if argv is not None else None,
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


if __name__ == "__main__":
    main()
