"""`make demo` on a fresh clone: it installs everything the demos import, and CI runs it
first, without a terminal. (CI's `.ci/run` runs the real thing on a fresh clone; this
checks the same promise in seconds.)"""

from __future__ import annotations

import ast
import re
import shutil
import subprocess
import sys
import tomllib
from importlib.metadata import packages_distributions

import pytest

from conftest import ROOT


def _imported_modules() -> set[str]:
    """Top-level third-party modules the demo scripts and their shared helpers
    (examples/*.py) import (anywhere in them)."""
    found = set()
    helpers = sorted(ROOT.glob("examples/*.py"))
    for script in [*ROOT.glob("examples/*/demo.py"), *helpers]:
        for node in ast.walk(ast.parse(script.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                found |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.add(node.module.split(".")[0])
    ours = {"modelward", "__future__", *(helper.stem for helper in helpers)}
    return found - set(sys.stdlib_module_names) - ours


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].lower().replace("_", "-")


def _extras_make_demo_installs(tmp_path) -> list[str]:
    """The extras of the `pip install -e '.[…]'` that `make demo` runs on a fresh clone."""
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    for name in ("Makefile", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    plan = subprocess.run(
        ["make", "-n", "demo"], cwd=tmp_path, capture_output=True, text=True, check=True
    ).stdout
    installs = [line for line in plan.splitlines() if "pip install" in line and " -e " in line]
    assert installs, plan
    extras = []
    for line in installs:
        match = re.search(r"-e\s+'?\.\[([\w,-]+)\]", line)
        extras += match.group(1).split(",") if match else []
    return extras


def test_make_demo_installs_every_module_the_demos_import(tmp_path):
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    extras = _extras_make_demo_installs(tmp_path)
    declared = {_name(r) for r in project["dependencies"]}
    for extra in extras:
        declared |= {_name(r) for r in project["optional-dependencies"][extra]}
    providers = packages_distributions()
    missing = {
        module: providers.get(module, [module])
        for module in _imported_modules()
        if not {_name(d) for d in providers.get(module, [module])} & declared
    }
    assert not missing, f"make demo (extras {extras}) does not install {missing}"


def test_ci_runs_the_demo_first_without_a_terminal():
    lines = [
        line.strip()
        for line in (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        if line.strip().startswith("make ")
    ]
    assert lines[0].startswith("make demo") and "</dev/null" in lines[0], lines
    assert any(line.startswith("make test") for line in lines[1:]), lines
