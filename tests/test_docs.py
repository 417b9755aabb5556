"""Docs that cannot drift: the CLI reference is regenerated and compared, and the README
tours every command family."""

from __future__ import annotations

import os
import subprocess
import sys

from conftest import ROOT


def _generated_reference() -> str:
    env = {**os.environ, "TYPER_USE_RICH": "0", "COLUMNS": "100"}
    return subprocess.run(
        [sys.executable, "-m", "modelward.cli.reference"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    ).stdout


def test_the_cli_reference_is_current():
    written = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    assert written == _generated_reference(), "docs/cli.md is stale: run `make docs`"


def test_every_command_is_in_the_reference_and_every_family_in_the_readme():
    from modelward.cli.reference import command_paths

    reference = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    paths = [p for p in command_paths() if p]
    missing_reference = [p for p in paths if f"`modelward {' '.join(p)}`" not in reference]
    assert not missing_reference
    families = sorted({p[0] for p in paths})
    missing_readme = [f for f in families if f"modelward {f}" not in readme]
    assert not missing_readme, f"README.md does not mention: {missing_readme}"


def test_the_readme_starts_with_the_two_commands():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    first_demo = readme.find("make demo")
    first_test = readme.find("make test")
    assert 0 < first_demo < first_test
    assert readme.find("```") < first_demo + 40  # the commands are the first code block
