"""Our side runs from compiled bytecode, as its peers do.

A peer installed with pip has its modules compiled at install time; modelward runs from
``src/`` (an editable install, or ``PYTHONPATH``), which holds no bytecode until Python
writes it, and never where ``PYTHONDONTWRITEBYTECODE`` is set (this machine sets it): each
command would then compile every module it imports again, a quarter of a second that no
installed copy pays. ``make`` compiles ``src/`` after installing; a benchmark does it
before timing, so both sides start the same way.
"""

from __future__ import annotations

import compileall
from pathlib import Path


def compile_sources(*folders: Path) -> None:
    """Compile each ``src`` folder's modules (stale or missing bytecode only)."""
    for folder in folders:
        if not compileall.compile_dir(str(folder), quiet=1):
            raise SystemExit(f"cannot compile {folder}: a module has a syntax error")
