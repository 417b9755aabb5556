"""The registry through the command line: what a user types and sees."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def _one_line_error(ran, *fragments: str) -> None:
    assert ran.exit_code == 2, (ran.stdout, ran.stderr)
    lines = ran.stderr.strip().splitlines()
    assert len(lines) == 1, lines
    assert lines[0].startswith("error: ")
    for fragment in fragments:
        assert fragment in lines[0], lines[0]


@pytest.fixture
def registered(workspace, cli, model_file, cleveland_csv):
    ran = cli(
        "register", "heart", "--model", model_file, "--data", cleveland_csv, "--target", "target"
    )
    assert ran.exit_code == 0, ran.stderr
    return workspace


def _snapshot(workspace) -> tuple:
    registry = workspace.registry
    models = registry.list_models()
    versions = [v for m in models for v in registry.list_versions(m.name)]
    events = [e for m in models for e in registry.history(m.name)]
    return [m.to_dict() for m in models], [v.to_dict() for v in versions], len(events)


def test_register_then_read_everything_back_as_json(registered, cli):
    ran = cli("models", "list", "--json")
    assert [m["name"] for m in ran.json] == ["heart"]
    assert ran.json[0]["latest_version"] == 1
    shown = cli("models", "show", "heart", "--json").json
    assert shown["task"] == "binary-classification"
    assert [v["version"] for v in shown["versions"]] == [1]
    version = cli("versions", "show", "heart", "1", "--json").json
    assert version["stage"] == "development" and version["flavor"] == "sklearn"
    assert version["source"]["file"].endswith("model.skops")
    assert [c["name"] for c in version["input_schema"]["columns"]][:3] == ["age", "sex", "cp"]
    listed = cli("versions", "list", "heart", "--json").json
    assert [v["version"] for v in listed] == [1]


def test_tables_are_readable(registered, cli):
    out = cli("models", "list").stdout
    assert "heart" in out and "binary-classification" in out
    out = cli("versions", "show", "heart", "1").stdout
    assert "Input schema" in out and "thalach" in out


def test_a_version_walks_the_lifecycle_and_history_shows_it(registered, cli):
    assert (
        cli("transition", "heart", "1", "--to", "testing", "--reason", "unit tests").exit_code == 0
    )
    ran = cli("transition", "heart", "1", "--to", "staging", "--reason", "try")
    _one_line_error(ran, "gate validation failed", "--force")
    ran = cli("transition", "heart", "1", "--to", "staging", "--reason", "hotfix", "--force")
    assert ran.exit_code == 0 and "FAIL (forced)" in ran.stdout
    history = cli("history", "heart", "--json").json
    assert [(e["kind"], e["to_stage"]) for e in history][-2:] == [
        ("transition", "testing"),
        ("transition", "staging"),
    ]
    assert history[-1]["details"]["forced"] is True and history[-1]["reason"] == "hotfix"
    assert "FORCED" in cli("history", "heart").stdout


def test_aliases_through_the_cli(registered, cli):
    assert cli("alias", "set", "heart", "champion", "1", "--reason", "first").exit_code == 0
    assert cli("alias", "show", "heart", "champion", "--json").json["version"] == 1
    ran = cli("alias", "show", "heart", "champion", "--at", "2000-01-01")
    _one_line_error(ran, "pointed at no version")
    assert cli("versions", "show", "heart", "champion", "--json").json["version"] == 1
    assert cli("alias", "delete", "heart", "champion").exit_code == 0
    _one_line_error(cli("alias", "delete", "heart", "champion"), "has no alias 'champion'")
    _one_line_error(cli("alias", "show", "heart", "x", "--at", "yesterday"), "not an ISO-8601")


def test_runs_are_listed_and_shown(registered, cli):
    registered.registry.record_run(
        "validation",
        model="heart",
        version=1,
        inputs={"data": "x"},
        results={"ok": 1},
        verdict="pass",
    )
    runs = cli("runs", "list", "heart", "--json").json
    assert [(r["kind"], r["verdict"]) for r in runs] == [("validation", "pass")]
    assert cli("runs", "show", str(runs[0]["id"]), "--json").json["results"] == {"ok": 1}
    _one_line_error(cli("runs", "show", "999"), "no run #999")


@pytest.mark.parametrize(
    ("args", "fragments"),
    [
        (("models", "show", "hart"), ("no model named 'hart'", "known models: heart")),
        (("versions", "show", "heart", "9"), ("no version '9'", "modelward versions list heart")),
        (
            ("transition", "heart", "1", "--to", "production", "--reason", "x"),
            ("cannot move from development to production",),
        ),
        (("transition", "heart", "1", "--to", "prod", "--reason", "x"), ("unknown stage 'prod'",)),
        (("transition", "heart", "1", "--to", "testing"), ("needs a reason",)),
        (("alias", "set", "heart", "Champion!", "1"), ("alias 'Champion!' is invalid",)),
        (("versions", "list", "heart", "--stage", "live"), ("unknown stage 'live'",)),
    ],
)
def test_mistakes_are_one_line_exit_2_and_change_nothing(registered, cli, args, fragments):
    before = _snapshot(registered)
    _one_line_error(cli(*args), *fragments)
    assert _snapshot(registered) == before


@pytest.mark.parametrize(
    ("change", "fragments"),
    [
        ({"name": "Heart Disease"}, ("model name 'Heart Disease' is invalid",)),
        ({"data": "missing.csv"}, ("data file missing.csv does not exist",)),
        ({"target": "label"}, ("no target column 'label'", "pass the right --target")),
        ({"model": "missing.skops"}, ("missing.skops does not exist",)),
        ({"model": "model.pkl"}, ("pickle file",)),
        ({"data": "empty.csv"}, ("is empty",)),
        ({"data": "data.txt"}, ("unsupported suffix '.txt'",)),
        ({"task": "ranking"}, ("unknown task 'ranking'",)),
        ({"tag": "teamcardio"}, ("--tag 'teamcardio' is not key=value",)),
    ],
)
def test_bad_register_input_is_one_line_and_registers_nothing(
    registered, cli, model_file, cleveland_csv, tmp_path: Path, change, fragments
):
    (tmp_path / "empty.csv").write_text("")
    (tmp_path / "data.txt").write_text("a,b\n1,2\n")
    (tmp_path / "model.pkl").write_bytes(b"\x80\x04")
    args = {
        "name": "heart",
        "model": str(model_file),
        "data": str(cleveland_csv),
        "target": "target",
    }
    args.update(change)
    argv = ["register", args.pop("name")]
    for key, value in args.items():
        argv += [f"--{key}", value]
    before = _snapshot(registered)
    _one_line_error(cli(*argv), *fragments)
    assert _snapshot(registered) == before


def test_debug_shows_the_traceback(registered, cli):
    ran = cli("--debug", "models", "show", "nope")
    assert ran.exit_code == 2
    assert "Traceback" in ran.stderr and "NotFound" in ran.stderr


def test_usage_errors_exit_2(registered, cli):
    assert cli("transition", "heart").exit_code == 2
    assert cli("models", "list", "--no-such-flag").exit_code == 2


#: What a read command never needs: the scientific stack, the log's engines, the HTTP
#: stacks, Alembic (the DB is at head). The metadata DB's SQLAlchemy it does need.
NOT_FOR_READING = (
    "numpy", "pandas", "scipy", "sklearn", "pyarrow", "duckdb", "matplotlib", "onnxruntime",
    "httpx", "starlette", "uvicorn", "fsspec", "optuna", "fairlearn", "jinja2", "alembic",
)  # fmt: skip
LOADED = """
import atexit, sys
def report():
    sys.stderr.write("\\nloaded: " + ",".join(sorted(m for m in sys.modules)) + "\\n")
atexit.register(report)
from modelward.cli.main import main
main()
"""


@pytest.mark.parametrize(
    "args",
    [
        ["models", "list"],
        ["models", "show", "heart"],
        ["versions", "list", "heart"],
        ["versions", "show", "heart", "1"],
        ["history", "heart"],
        ["runs", "list"],
    ],
)
def test_read_commands_load_only_what_they_need(registered, args, db_url):
    ran = subprocess.run(
        [sys.executable, "-c", LOADED, *args, "--json"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert ran.returncode == 0, ran.stderr
    assert json.loads(ran.stdout) or args == ["runs", "list"]
    loaded = set(ran.stderr.rsplit("loaded: ", 1)[1].strip().split(","))
    assert {m for m in loaded if m.split(".")[0] in NOT_FOR_READING} == set()
    if db_url.startswith("sqlite"):  # a SQLite workspace never loads the PostgreSQL dialect
        assert "sqlalchemy.dialects.postgresql" not in loaded


def test_the_real_entry_point_reads_options_before_the_command_and_suggests_on_typos(
    registered,
):
    """``main`` builds only the command the arguments name; the root's options before it
    still apply, and a misspelt command is still matched against every command."""
    entry = [sys.executable, "-m", "modelward.cli.main"]
    ran = subprocess.run(
        [*entry, "--workspace", str(registered.root), "--debug", "versions", "list", "heart"]
        + ["--json"],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, "MODELWARD_HOME": str(registered.root / "elsewhere")},
    )
    assert ran.returncode == 0, ran.stderr
    assert [v["version"] for v in json.loads(ran.stdout)] == [1]
    typo = subprocess.run([*entry, "versoins", "list"], capture_output=True, text=True)
    assert typo.returncode == 2
    assert "No such command 'versoins'. Did you mean 'versions'?" in typo.stderr
