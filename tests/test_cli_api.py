"""Everything the CLI can do, the Python API can do: every command declares (``@calls`` in
``modelward.cli.app``) the function of ``modelward`` or of a ``Workspace`` it calls; each
declared path is followed on a real workspace to something that exists, and the command's
own code uses it. docs/cli.md shows the same declarations ("Python API: …")."""

from __future__ import annotations

import inspect
from collections.abc import Iterator
from types import CodeType
from typing import Any

import pytest

import modelward
from modelward.cli.reference import command_callbacks

pytestmark = pytest.mark.sqlite_only

#: Command modules of other work in flight (issue 14: monitoring's checks, the HTTP edge)
#: that do not declare yet; each must still hold an undeclared command, so this shrinks.
PENDING: set[str] = set()


def _declared() -> Iterator[tuple[str, Any, tuple[str, ...]]]:
    for path, callback in command_callbacks():
        yield " ".join(path), callback, getattr(callback, "__modelward_api__", ())


def _names(code: CodeType) -> set[str]:
    """Every global and attribute name a function's code (and the code nested in it) uses."""
    found = set(code.co_names)
    for const in code.co_consts:
        if isinstance(const, CodeType):
            found |= _names(const)
    return found


def follow(path: str, workspace: Any) -> Any:
    """``modelward.NAME.attr…`` (NAME public) or ``Workspace.attr…`` on an open workspace."""
    head, *rest = path.split(".")
    if head == "modelward":
        assert rest[0] in modelward.__all__, f"{path}: {rest[0]} is not public"
        found: Any = modelward
    else:
        assert head == "Workspace", f"{path}: start at modelward. or Workspace."
        found = workspace
    for attribute in rest:
        found = getattr(found, attribute)
    return found


def test_every_command_declares_what_it_calls_but_the_pending_ones():
    commands = list(_declared())
    assert len(commands) > 60
    undeclared = {name for name, callback, api in commands if not api and
                  callback.__module__ not in PENDING}  # fmt: skip
    assert undeclared == set(), "add @calls(...) naming the Python API the command calls"
    pending = {callback.__module__ for _, callback, api in commands if not api}
    assert PENDING <= pending, f"declared now: remove {PENDING - pending} from PENDING"


@pytest.mark.parametrize(
    ("command", "callback", "api"),
    [pytest.param(*c, id=c[0]) for c in _declared() if c[2]],
)
def test_what_a_command_declares_is_public_and_called_by_it(workspace, command, callback, api):
    used = _names(inspect.unwrap(callback).__code__)
    for path in api:
        assert follow(path, workspace) is not None, f"{command}: {path}"
        assert path.rsplit(".", 1)[-1] in used, f"`modelward {command}` does not call {path}"


def test_a_wrong_declaration_is_caught(workspace):
    with pytest.raises(AttributeError):
        follow("Workspace.registry.list_everything", workspace)
    with pytest.raises(AssertionError, match="not public"):
        follow("modelward.cli", workspace)
