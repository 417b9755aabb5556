"""Entry point of the ``modelward`` console script.

Command modules live in :mod:`modelward.cli.commands`; each exposes ``register(app)``.
They import only Typer at module level, so ``modelward --help`` starts fast.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Sequence

from modelward.cli import commands
from modelward.cli.app import app

__all__ = ["app", "main"]

for _module in sorted(m.name for m in pkgutil.iter_modules(commands.__path__)):
    importlib.import_module(f"{commands.__name__}.{_module}").register(app)


def main(argv: Sequence[str] | None = None) -> None:
    app(args=list(argv) if argv is not None else None, prog_name="modelward")


if __name__ == "__main__":
    main()
