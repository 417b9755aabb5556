"""Every `modelward …` command line in deploy/ parses against the real command-line app:
the command exists and so does each flag, with a value of the right type."""

from __future__ import annotations

import re
import shlex

import pytest
import typer

from conftest import ROOT
from deploy.kit import DEPLOY, all_commands, shell_commands

#: click's base error, wherever this typer takes click from (newer ones vendor it)
CLICK_ERROR = next(c for c in typer.BadParameter.__mro__ if c.__name__ == "ClickException")


def parse(args: tuple[str, ...]) -> object:
    """Parse ``modelward ARGS`` as the CLI would, without running anything: each group
    resolves its subcommand, the last command parses its own options and arguments. An
    unknown command or flag, a missing value or a value of the wrong type raises."""
    from modelward.cli.main import app

    command = typer.main.get_command(app)
    ctx = command.make_context("modelward", list(args))
    while hasattr(command, "resolve_command"):  # a group
        rest = [*getattr(ctx, "_protected_args", []), *ctx.args]
        assert rest, f"`modelward {shlex.join(args)}` names a group, not a command"
        name, sub, rest = command.resolve_command(ctx, rest)
        assert sub is not None and name is not None
        ctx = sub.make_context(name, rest, parent=ctx)
        command = sub
    return ctx


COMMANDS = all_commands()


def test_the_kit_runs_the_commands_it_is_for():
    ran = {" ".join(c.args[:2]) for c in COMMANDS}
    expected_runs = ("serve --host", "rollout run", "llm gateway", "runbook daily", "init --policy")
    for expected in expected_runs:
        assert expected in ran, f"no `modelward {expected}` found in deploy/"
    kinds = {c.where.split(":")[0].split("/")[1] for c in COMMANDS}
    assert {"systemd", "kubernetes", "Dockerfile", "README.md"} <= kinds


def test_the_reader_finds_modelward_wherever_a_shell_line_runs_it():
    script = "sudo -u modelward sh -c 'set -a; . f.env; exec /opt/modelward/bin/modelward init'"
    assert shell_commands(script) == [("init",)]
    assert shell_commands("cd x && modelward serve --port 1 | tee log  # a note") == [
        ("serve", "--port", "1")
    ]
    assert shell_commands("systemctl enable --now modelward-serve modelward-rollout") == []


@pytest.mark.parametrize("command", COMMANDS, ids=str)
def test_each_command_and_flag_exists(command):
    try:
        parse(command.args)
    except CLICK_ERROR as exc:
        pytest.fail(f"{command}: {exc.format_message()}")


@pytest.mark.parametrize(
    "args",
    [
        ("serve", "--prot", "8000"),  # a misspelt flag
        ("serve", "--port", "eighty"),  # a value of the wrong type
        ("runbook", "nightly"),  # no such command
        ("rollout", "run", "--interval"),  # a flag without its value
    ],
)
def test_the_parser_refuses_what_the_cli_refuses(args):
    with pytest.raises(CLICK_ERROR):
        parse(args)


def test_every_modelward_variable_in_the_kit_is_one_modelward_reads():
    source = "\n".join(p.read_text(encoding="utf-8") for p in (ROOT / "src").rglob("*.py"))
    used = set()
    for path in DEPLOY.rglob("*"):
        if path.is_file():
            used |= set(re.findall(r"\bMODELWARD_[A-Z_]+\b", path.read_text(encoding="utf-8")))
    assert {"MODELWARD_HOME", "MODELWARD_DB_URL", "MODELWARD_ARTIFACTS", "MODELWARD_LOGS"} <= used
    unknown = sorted(name for name in used if f'"{name}"' not in source)
    assert not unknown, f"deploy/ sets variables modelward never reads: {unknown}"
