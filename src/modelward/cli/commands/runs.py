"""``modelward runs``: stored evaluations, validations, checks and their verdicts."""

from __future__ import annotations

from typing import Annotated

import typer

from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table
from modelward.present import dump_json, fmt_time

runs_app = new_typer("Stored runs: evaluations, validations, checks, rollout steps, backups.")


@runs_app.command("list")
@calls("Workspace.catalog.list_runs")
def runs_list(
    name: Annotated[str | None, typer.Argument(help="Only this model's runs.")] = None,
    kind: Annotated[list[str] | None, typer.Option(help="Only these kinds (repeatable).")] = None,
    limit: Annotated[int, typer.Option(min=1, help="At most this many, newest first.")] = 50,
    as_json: JsonOption = False,
) -> None:
    """Stored runs, newest first."""
    runs = state().catalog().list_runs(model=name, kinds=kind, limit=limit)
    if as_json:
        print_json([r.to_dict() for r in runs])
        return
    rows = [
        (r.id, fmt_time(r.created_at), r.kind, r.model, r.version, r.verdict, r.actor) for r in runs
    ]
    console.print(table(("run", "time (UTC)", "kind", "model", "version", "verdict", "by"), rows))


@runs_app.command("show")
@calls("Workspace.catalog.get_run")
def runs_show(
    run_id: Annotated[int, typer.Argument(help="Run number.")],
    as_json: JsonOption = False,
) -> None:
    """One run with its inputs and results."""
    run = state().catalog().get_run(run_id)
    if as_json:
        print_json(run.to_dict())
        return
    console.print(
        f"run #{run.id} {run.kind} {run.model}:{run.version} {run.verdict} "
        f"at {fmt_time(run.created_at)} by {run.actor}"
    )
    console.print("inputs: " + dump_json(run.inputs))
    console.print("results: " + dump_json(run.results))


def register(app: typer.Typer) -> None:
    app.add_typer(runs_app, name="runs")
