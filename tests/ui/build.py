"""The demos' workspace for the dashboard's tests: both demos run into one folder.

Run as a script (``python tests/ui/build.py FOLDER``) by the first test worker that
sees dashboard tests, so the build (two demos, mostly waiting on their servers) overlaps the
other tests; it holds the build's file lock, inherited from that worker, until it is done.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TIMEOUT_S = 900


def run_demos(built: Path) -> None:
    """Both demos into ``built`` (their output in ``<demo>.log``), then ``built/done``."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "COLUMNS": "120"}
    env.pop("MODELWARD_HOME", None)
    for demo in ("heart-disease", "llm"):
        log = built / f"{demo}.log"
        with log.open("wb") as out:
            ran = subprocess.run(
                [sys.executable, str(ROOT / "examples" / demo / "demo.py"), str(built)],
                stdout=out, stderr=subprocess.STDOUT, env=env, timeout=TIMEOUT_S,
                check=False, cwd=built,
            )  # fmt: skip
        assert ran.returncode == 0, log.read_text(errors="replace")[-4000:]
    (built / "done").write_text("")


if __name__ == "__main__":
    run_demos(Path(sys.argv[1]))  # the lock (an inherited descriptor) goes with this process
