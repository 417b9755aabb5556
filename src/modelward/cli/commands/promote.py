"""``modelward promote``: the gated update pipeline, evaluation → testing → staging → production."""

from __future__ import annotations

from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json
from modelward.errors import CheckFailed


@calls("modelward.promote")
def promote(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    to: Annotated[str, typer.Option("--to", help="Last stage: staging or production.")] = (
        "production"
    ),
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Print the plan and the gates; change nothing.")
    ] = False,
    stages: Annotated[
        str | None, typer.Option("--stages", help="Canary stages, e.g. 5:30m,25:1h,50:2h,100.")
    ] = None,
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            help="Verify staging on a running `modelward serve` (an endpoint: `modelward llm "
            "gateway --env staging`); default: offline check (an endpoint: a gateway started "
            "in-process on 127.0.0.1).",
        ),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option("--token", envvar="MODELWARD_TOKEN", help="API token for --url."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Run the update pipeline; a failing stage stops it and undoes that stage (exit 1)."""
    result = modelward.promote(
        state().workspace(),
        name,
        version,
        to=to,
        dry_run=dry_run,
        stages=stages,
        url=url,
        token=token,
    )
    if as_json:
        print_json(result.to_dict())
    else:
        title = "plan" if dry_run else "pipeline"
        console.print(f"{title} for {name}:{result.version} → {to}")
        for stage in result.stages:
            mark = {True: "pass", False: "FAIL", None: "-"}[stage.passed]
            console.print(f"  {stage.name}: {mark}")
            for check in stage.checks:
                cmark = {True: "ok", False: "FAIL", None: ".."}[check["passed"]]
                console.print(f"    [{cmark}] {check['name']}: {check['detail']}", markup=False)
            for change in stage.changes:
                console.print(f"    changed: {change}")
            for undone in stage.undone:
                console.print(f"    undone: {undone}")
    if not result.passed:
        raise CheckFailed(
            f"{name}:{result.version} stopped at {result.failed_stage}"
            + (" (dry run: nothing changed)" if dry_run else "; that stage was undone")
        )


def register(app: typer.Typer) -> None:
    app.command("promote")(promote)
