"""The LLM demo runs end to end against the fake providers (slow: many CLI processes)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from conftest import ROOT


@pytest.mark.slow
def test_demo_runs(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    ran = subprocess.run(
        [sys.executable, str(ROOT / "examples" / "llm" / "demo.py"), str(tmp_path)],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )
    assert ran.returncode == 0, ran.stderr[-2000:]
    assert "FAKE LLM providers" in ran.stdout
    assert "Routing table revision 1 written" in ran.stdout
    assert "cache hit" in ran.stdout
    assert "big-accurate:1 testing → staging" in ran.stdout
