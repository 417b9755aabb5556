"""Package attributes that load their module on first use, so a command's start imports
only what it runs (``__getattr__ = lazy_exports(__name__, {...})`` in a package)."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Callable, Mapping
from typing import Any

__all__ = ["lazy_exports"]


def lazy_exports(package: str, table: Mapping[str, str | tuple[str, str]]) -> Callable[[str], Any]:
    """A module ``__getattr__`` for ``package``: ``name -> module`` (the attribute of the
    same name) or ``name -> (module, attribute)``; the value is kept once loaded."""

    def __getattr__(name: str) -> Any:
        try:
            entry = table[name]
        except KeyError as exc:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from exc
        module, attribute = entry if isinstance(entry, tuple) else (entry, name)
        value = getattr(importlib.import_module(module), attribute)
        setattr(sys.modules[package], name, value)
        return value

    return __getattr__
