"""What a command loads as a user runs it (a fresh process): the read commands open the
workspace, query the metadata DB with its own driver and print, with nothing of the
scientific or HTTP stack and no SQLAlchemy (whose imports were most of their time)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import modelward

pytestmark = pytest.mark.sqlite_only

#: Runs the CLI as the console script does and says, on stderr's last line, which of the
#: named packages the process loaded.
RUNNER = """
import atexit, runpy, sys
watched = sys.argv[1].split(",")
atexit.register(lambda: sys.stderr.write(
    "\\nloaded:" + ",".join(m for m in watched if m in sys.modules) + "\\n"
))
sys.argv = ["modelward", *sys.argv[2:]]
runpy.run_module("modelward.cli.main", run_name="__main__")
"""
#: Not needed to read the registry (the catalog reads it with sqlite3 or psycopg).
NOT_FOR_READING = (
    "numpy", "pandas", "scipy", "sklearn", "pyarrow", "duckdb", "fsspec", "httpx", "jinja2",
    "jsonschema", "alembic", "onnxruntime", "matplotlib", "uvicorn", "starlette", "sqlalchemy",
)  # fmt: skip


def loaded(*args: str, watched: tuple[str, ...] = NOT_FOR_READING) -> tuple[int, str, list[str]]:
    """Exit code, stdout, and which ``watched`` packages ``modelward ARGS`` loaded."""
    src = Path(modelward.__file__).parents[1]  # this modelward, from any folder
    ran = subprocess.run(
        [sys.executable, "-c", RUNNER, ",".join(watched), *args],
        env={**os.environ, "PYTHONPATH": str(src)},
        capture_output=True,
        text=True,
        check=False,
    )
    last = ran.stderr.rstrip().rsplit("\n", 1)[-1]
    assert last.startswith("loaded:"), ran.stderr
    return ran.returncode, ran.stdout, [m for m in last.removeprefix("loaded:").split(",") if m]


@pytest.mark.parametrize(
    "args",
    [
        ("models", "list"),
        ("versions", "list", "heart"),
        ("versions", "show", "heart", "1", "--json"),
        ("models", "show", "heart"),
        ("history", "heart"),
        ("runs", "list"),
        ("alias", "show", "heart", "champion", "--json"),
    ],
)
def test_read_commands_start_without_the_scientific_stack(workspace, fitted, cleveland, args):
    if not workspace.registry.list_models():
        workspace.register("heart", fitted, data=cleveland, target="target")
    code, out, heavy = loaded(*args)
    assert code == 0 and out.strip()
    assert heavy == []


def test_the_runner_sees_what_a_command_loads():
    """The check above can fail: a command that does load NumPy is seen doing it."""
    code, _, heavy = loaded("data", "profile", "--help", watched=("typer", "sqlalchemy"))
    assert code == 0 and heavy == ["typer"]


# -- leaving: what an exit must do is done, the interpreter's teardown is not -------------


def _leave(code: str, tmp_path: Path) -> subprocess.CompletedProcess[str]:
    src = Path(modelward.__file__).parents[1]
    return subprocess.run(
        [sys.executable, "-c", f"from modelward.cli.main import leave\n{code}"],
        env={**os.environ, "PYTHONPATH": str(src)}, cwd=tmp_path,
        capture_output=True, text=True, check=False, timeout=60,
    )  # fmt: skip


def test_leaving_runs_atexit_flushes_output_and_keeps_the_code(tmp_path):
    ran = _leave(
        "import atexit, sys\n"
        "atexit.register(lambda: open('done', 'w').write('ran'))\n"
        "sys.stdout.write('x' * 1_000_000)\n"  # buffered, never flushed by the code
        "leave(3)",
        tmp_path,
    )
    assert ran.returncode == 3 and len(ran.stdout) == 1_000_000, ran.stderr
    assert (tmp_path / "done").read_text() == "ran"


def test_leaving_with_a_message_prints_it_and_exits_1(tmp_path):
    ran = _leave("leave('error: what went wrong')", tmp_path)
    assert ran.returncode == 1 and ran.stderr == "error: what went wrong\n"


def test_leaving_waits_for_a_thread_still_at_work(tmp_path):
    ran = _leave(
        "import threading, time\n"
        "def work():\n    time.sleep(0.5)\n    open('done', 'w').write('ran')\n"
        "threading.Thread(target=work).start()\n"
        "leave(0)",
        tmp_path,
    )
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "done").read_text() == "ran"


def test_a_usage_mistake_through_the_console_script_is_one_line_and_exit_2():
    code, out, _ = loaded("models", "list", "--bogus", watched=())
    assert code == 2 and out == ""


def test_a_profiled_command_exits_as_usual_so_the_profile_is_written(tmp_path):
    src = Path(modelward.__file__).parents[1]
    script = tmp_path / "command.py"
    script.write_text("from modelward.cli.main import leave\nleave(0)\n")
    ran = subprocess.run(
        [sys.executable, "-m", "cProfile", "-o", str(tmp_path / "prof"), str(script)],
        env={**os.environ, "PYTHONPATH": str(src)}, capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    assert (tmp_path / "prof").stat().st_size > 0
