"""``modelward init`` and ``modelward policy``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json
from modelward.errors import PolicyError
from modelward.redact import redact

policy_app = new_typer("Show and check the policy (thresholds and weights).")


@calls("modelward.Workspace.init")
def init(
    path: Annotated[
        Path | None,
        typer.Argument(help="Folder for the workspace (default: $MODELWARD_HOME or ./.modelward)."),
    ] = None,
) -> None:
    """Create a workspace: metadata DB, artifact and log folders, and a default policy.yml."""
    with modelward.Workspace.init(path or state().workspace_path) as workspace:
        console.print(f"Created a modelward workspace at {workspace.root}")
        console.print(f"  metadata:  {redact(workspace.db_url)}")
        console.print(f"  artifacts: {workspace.artifacts_url}")
        console.print(f"  logs:      {workspace.logs_url}")
        console.print(f"  policy:    {workspace.layout.policy} (the runbooks' thresholds)")


@policy_app.command("show")
@calls("Workspace.policy", "modelward.Policy", "modelward.dump_policy")
def policy_show(
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Show the shipped defaults, not the workspace's.")
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Print the policy in effect (or the defaults) as YAML or JSON."""
    policy = modelward.Policy() if defaults else state().workspace().policy
    if as_json:
        print_json(policy.model_dump(mode="json"))
    else:
        typer.echo(modelward.dump_policy(policy), nl=False)


@policy_app.command("check")
@calls("modelward.load_policy")
def policy_check(
    file: Annotated[Path, typer.Argument(help="A policy.yml to validate.")],
) -> None:
    """Validate a policy file without installing it; names the first wrong key."""
    if not file.exists():
        raise PolicyError(f"{file} does not exist; check the path")
    modelward.load_policy(file)
    console.print(f"{file} is a valid policy")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(policy_app, name="policy")
