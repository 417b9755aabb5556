"""The Typer application, its global options and the one place errors become exit codes.

Exit codes: 0 success; 1 a check ran and failed (``CheckFailed``); 2 a user mistake
(``UserError``, and Click's own usage errors); 3 something we depend on failed
(``DependencyError``: storage, database, provider, a model). Either prints one line on
stderr; ``--debug`` adds the traceback with its chained cause.
"""

from __future__ import annotations

import sys
import traceback
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

import typer
from typer.core import TyperGroup

import modelward
from modelward.cli.output import print_error
from modelward.errors import CheckFailed, ModelwardError
from modelward.redact import redact

if TYPE_CHECKING:
    from modelward.registry.catalog import Catalog
    from modelward.workspace import Workspace

__all__ = ["LAUNCHED", "State", "app", "calls", "new_typer", "state"]

Command = TypeVar("Command", bound=Callable[..., Any])


def calls(*api: str) -> Callable[[Command], Command]:
    """Declare the Python API a command calls, as a path from the package or the workspace:
    ``"modelward.evaluate_version"``, ``"Workspace.registry.list_versions"``. A command
    parses, calls that, and prints; tests/test_cli_api.py walks every command and checks
    that what it declares is public and that its code calls it."""

    def mark(command: Command) -> Command:
        command.__modelward_api__ = api  # type: ignore[attr-defined]
        return command

    return mark


@dataclass
class State:
    """What the global options set; commands reach it through :func:`state`."""

    workspace_path: Path | None = None
    debug: bool = False
    _workspace: Any = field(default=None, repr=False)

    def workspace(self) -> Workspace:
        """The open workspace (found via --workspace, $MODELWARD_HOME or ./.modelward)."""
        if self._workspace is None:
            self._workspace = modelward.Workspace.open(self.workspace_path)
        workspace: Workspace = self._workspace
        return workspace

    def catalog(self) -> Catalog:
        """The registry's reads, for commands that only read it: the workspace is opened
        without SQLAlchemy, and its policy is validated only if the command needs it."""
        if self._workspace is None:
            self._workspace = modelward.Workspace.open(self.workspace_path, check_policy=False)
        catalog: Catalog = self._workspace.catalog
        return catalog

    def workspace_if_any(self) -> Workspace | None:
        """The workspace when there is one where :meth:`workspace` looks, else None."""
        if self._workspace is None and not modelward.Workspace.exists(self.workspace_path):
            return None
        return self.workspace()

    def close(self) -> None:
        if self._workspace is not None:
            self._workspace.close()


_STATE: ContextVar[State | None] = ContextVar("modelward_cli_state", default=None)
#: When the ``modelward`` process started (set by ``main``); None when the app is called in
#: process. A promotion refuses to act on production moved since then (registry.snapshot).
LAUNCHED: ContextVar[datetime | None] = ContextVar("modelward_cli_launched", default=None)


class ModelwardGroup(TyperGroup):
    """Translates the error tree for every command below it."""

    def invoke(self, ctx: Any) -> Any:
        token = _STATE.set(None)
        try:
            return super().invoke(ctx)
        except ModelwardError as exc:
            _report(exc, exc.message)
            ctx.exit(exc.exit_code)
        except CheckFailed as exc:
            _report(exc, exc.message, prefix="check failed")
            ctx.exit(exc.exit_code)
        finally:
            current = _STATE.get()
            if current is not None:
                current.close()
            _STATE.reset(token)


def _report(exc: BaseException, message: str, prefix: str = "") -> None:
    message = redact(message)
    current = _STATE.get()
    if current is not None and current.debug:
        traceback.print_exception(exc)
    if prefix:
        sys.stderr.write(f"{prefix}: {message}\n")
        sys.stderr.flush()
    else:
        print_error(message)


def new_typer(help_text: str) -> typer.Typer:
    """A sub-command group with the house settings."""
    return typer.Typer(
        help=help_text,
        no_args_is_help=True,
        pretty_exceptions_enable=False,
        add_completion=False,
    )


app = typer.Typer(
    cls=ModelwardGroup,
    help="modelward: an executable model-management runbook.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"modelward {modelward.__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    workspace: Annotated[
        Path | None,
        typer.Option(
            "--workspace",
            "-w",
            help="Workspace folder (default: $MODELWARD_HOME, else ./.modelward).",
            show_default=False,
        ),
    ] = None,
    debug: Annotated[bool, typer.Option("--debug", help="Show tracebacks on errors.")] = False,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    _STATE.set(State(workspace_path=workspace, debug=debug))


def state() -> State:
    """The current command's :class:`State` (set by the global options)."""
    current = _STATE.get()
    if current is None:  # a command function called outside the app
        current = State()
        _STATE.set(current)
    return current
