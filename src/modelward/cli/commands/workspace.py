"""``modelward init`` and ``modelward policy``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

import modelward
from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, dump_json, print_json, table
from modelward.errors import ConfigError, PolicyError
from modelward.redact import redact

policy_app = new_typer("Show and check the policy (thresholds and weights).")


@calls("modelward.Workspace.init", "modelward.load_policy")
def init(
    path: Annotated[
        Path | None,
        typer.Argument(help="Folder for the workspace (default: $MODELWARD_HOME or ./.modelward)."),
    ] = None,
    policy: Annotated[
        Path | None,
        typer.Option(
            "--policy", help="Start from this policy file (checked; unset keys: the defaults)."
        ),
    ] = None,
) -> None:
    """Create a workspace: metadata DB, artifact and log folders, and a policy.yml (the
    runbooks' defaults, or --policy's)."""
    start = None if policy is None else modelward.load_policy(policy)
    with modelward.Workspace.init(path or state().workspace_path, policy=start) as workspace:
        console.print(f"Created a modelward workspace at {workspace.root}")
        console.print(f"  metadata:  {redact(workspace.db_url)}")
        console.print(f"  artifacts: {workspace.artifacts_url}")
        console.print(f"  logs:      {workspace.logs_url}")
        console.print(f"  policy:    {workspace.layout.policy} (the runbooks' thresholds)")


@policy_app.command("show")
@calls(
    "Workspace.policy",
    "Workspace.policy_sources",
    "modelward.Policy",
    "modelward.dump_policy",
)
def policy_show(
    defaults: Annotated[
        bool, typer.Option("--defaults", help="Show the shipped defaults, not the workspace's.")
    ] = False,
    model: Annotated[
        str | None,
        typer.Option(
            "--model",
            help="Show this model's effective policy, each value with where it came from.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Print the policy in effect (or the defaults) as YAML or JSON; with --model, a
    model's effective policy and the source of each value (default, workspace, its section)."""
    if model is not None:
        if defaults:
            raise ConfigError("--model and --defaults do not go together; choose one")
        settings = state().workspace().policy_sources(model)
        if as_json:
            print_json({"model": model, "settings": settings})
            return
        rows = [(path, _value(s["value"]), s["source"]) for path, s in settings.items()]
        console.print(table(["key", "value", "source"], rows, title=f"policy of {model}"))
        return
    policy = modelward.Policy() if defaults else state().workspace().policy
    if as_json:
        print_json(policy.model_dump(mode="json"))
    else:
        typer.echo(modelward.dump_policy(policy), nl=False)


def _value(value: Any) -> str:
    return value if isinstance(value, str) else dump_json(value)


@policy_app.command("check")
@calls("Workspace.check_policy", "modelward.load_policy")
def policy_check(
    file: Annotated[
        Path | None,
        typer.Argument(help="A policy.yml to validate (default: the workspace's)."),
    ] = None,
) -> None:
    """Validate a policy file without installing it; names the first wrong key. Its
    ``models:`` sections must name models of the workspace's registry."""
    workspace: modelward.Workspace | None = None
    if file is None:
        workspace = state().workspace()
    else:
        if not file.exists():
            raise PolicyError(f"{file} does not exist; check the path")
        try:
            workspace = state().workspace_if_any()
        except PolicyError:  # the installed policy is broken: check the candidate alone
            workspace = None
        if workspace is None:
            policy = modelward.load_policy(file)
            console.print(f"{file} is a valid policy")
            if policy.models:
                console.print(
                    "  (no workspace to open: the names of its models: sections were not "
                    "checked against a registry)"
                )
            return
    checked = workspace.check_policy(file)
    console.print(f"{file or workspace.layout.policy} is a valid policy")
    if checked.models:
        console.print(f"  sections for: {', '.join(sorted(checked.models))}")


def register(app: typer.Typer) -> None:
    app.command("init")(init)
    app.add_typer(policy_app, name="policy")
