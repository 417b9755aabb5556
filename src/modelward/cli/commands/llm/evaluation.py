"""``modelward llm evaluate|compare|select|tune``: endpoint models measured on a dataset."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from modelward.cli.app import calls, state
from modelward.cli.commands.llm.common import (
    ConcurrencyOption,
    DatasetOption,
    eval_table,
    models,
    rankings_table,
)
from modelward.cli.options import JsonOption
from modelward.cli.output import RichProgress, console, print_json, table
from modelward.errors import CheckFailed
from modelward.present import fmt

if TYPE_CHECKING:
    from rich.table import Table

    from modelward.llm.evaluate import Evaluation


@calls("Workspace.llm.evaluate")
def evaluate_cmd(
    refs: Annotated[str, typer.Option("--models", help="Comma-separated models (name[:ver]).")],
    dataset: DatasetOption,
    concurrency: ConcurrencyOption = 4,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="Call the providers even for cached answers.")
    ] = False,
    judge: Annotated[
        str | None, typer.Option("--judge", help="Endpoint model for the judge scorer.")
    ] = None,
    rate: Annotated[
        float | None, typer.Option("--rate", help="At most this many provider calls a second.")
    ] = None,
    items: Annotated[bool, typer.Option("--items", help="With --json: every item too.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Evaluate models on a dataset: accuracy per category, latency, cost, with CIs."""
    chosen = models(refs)
    fleet = state().workspace().llm
    with RichProgress() as progress:
        results = fleet.evaluate(
            chosen,
            dataset,
            concurrency=concurrency,
            rate=rate,
            use_cache=not no_cache,
            judge=judge,
            progress=progress,
        )
    if as_json:
        print_json([e.to_dict(items=items) for e in results])
    else:
        console.print(eval_table(results))
        console.print(_category_table(results))
    _fail_on(results)


def _category_table(evaluations: list[Evaluation]) -> Table:
    rows = [
        (
            e.ref,
            category,
            m["items"],
            m["accuracy"]["value"],
            m["response_time"]["p95"]["value"],
            m["cost"]["per_query"]["value"],
        )
        for e in evaluations
        for category, m in e.by_category.items()
    ]
    return table(
        ("model", "category", "items", "accuracy", "p95 s", "$/query"), rows, title="per category"
    )


def _fail_on(evaluations: list[Evaluation]) -> None:
    failures = [
        f"{e.ref} {c['check']} {fmt(c['value'])} vs limit {fmt(c['limit'])}"
        for e in evaluations
        for c in e.checks
        if not c["passed"]
    ]
    if failures:
        more = f" (+{len(failures) - 3} more)" if len(failures) > 3 else ""
        raise CheckFailed("; ".join(failures[:3]) + more)


@calls("Workspace.llm.compare")
def compare_cmd(
    refs: Annotated[str, typer.Option("--models", help="Comma-separated, first = baseline.")],
    dataset: DatasetOption,
    concurrency: ConcurrencyOption = 4,
    as_json: JsonOption = False,
) -> None:
    """Models side by side with CIs, paired tests on the same items, ranking per type."""
    chosen = models(refs)
    fleet = state().workspace().llm
    with RichProgress() as progress:
        comparison = fleet.compare(chosen, dataset, concurrency=concurrency, progress=progress)
    if as_json:
        print_json(comparison.to_dict())
        return
    console.print(eval_table(comparison.evaluations))
    paired = comparison.paired
    rows = []
    for pair in paired["pairs"]:
        acc, lat = pair["accuracy"], pair["response_time"] or {}
        rows.append(
            (
                f"{pair['model']} vs {paired['baseline']}",
                acc["b"],
                acc["a"],
                acc["p_value"],
                lat.get("difference"),
                lat.get("p_value"),
            )
        )
    console.print(
        table(
            ("pair", "accuracy", "baseline accuracy", "McNemar p", "Δ mean s", "bootstrap p"),
            rows,
            title="paired on the same items",
        )
    )
    console.print(rankings_table(comparison.rankings))


@calls("Workspace.llm.select")
def select_cmd(
    dataset: DatasetOption,
    refs: Annotated[
        str | None, typer.Option("--models", help="Candidates (default: every endpoint).")
    ] = None,
    apply: Annotated[
        bool, typer.Option("--apply", help="Write the result as a new routing revision.")
    ] = False,
    concurrency: ConcurrencyOption = 4,
    as_json: JsonOption = False,
) -> None:
    """Best eligible model per query type (weights and thresholds from policy)."""
    chosen = models(refs) if refs is not None else None
    fleet = state().workspace().llm
    with RichProgress() as progress:
        selection = fleet.select(
            dataset, refs=chosen, apply=apply, concurrency=concurrency, progress=progress
        )
    if as_json:
        print_json(selection.to_dict())
    else:
        console.print(rankings_table(selection.rankings))
        for query_type, route in selection.routes.items():
            console.print(f"{query_type}: {' → '.join(route['models'])}")
        if selection.applied:
            console.print(
                f"Routing table revision {selection.applied.revision} written "
                f"(selection run #{selection.run_id})."
            )
        elif selection.routes:
            console.print("Not applied: pass --apply to write the routing table.")
    if selection.unserved:
        raise CheckFailed(f"no model meets the thresholds for {', '.join(selection.unserved)}")


@calls("Workspace.llm.tune")
def tune_cmd(
    model: Annotated[str, typer.Argument(help="Endpoint model (name[:version]).")],
    dataset: DatasetOption,
    params: Annotated[
        str, typer.Option("--params", help="Parameters to search: temperature,top_p,…")
    ],
    grid: Annotated[
        list[str] | None, typer.Option("--grid", help="name=v1,v2 to override a default grid.")
    ] = None,
    trials: Annotated[
        int | None, typer.Option("--trials", help="Optuna trials instead of the full grid.")
    ] = None,
    concurrency: ConcurrencyOption = 4,
    as_json: JsonOption = False,
) -> None:
    """Search parameter settings on a dataset; the best becomes a new version."""
    fleet = state().workspace().llm
    with RichProgress() as progress:
        result = fleet.tune(
            model,
            dataset,
            params,
            grid=grid,
            trials=trials,
            concurrency=concurrency,
            progress=progress,
        )
    if as_json:
        print_json(result.to_dict())
        return
    rows = [
        (
            ", ".join(f"{k}={v}" for k, v in t["params"].items()),
            t["accuracy"],
            t["response_time"],
            t["cost"],
        )
        for t in result.trials
    ]
    console.print(table(("params", "accuracy", "mean s", "$/query"), rows))
    best = ", ".join(f"{k}={v}" for k, v in result.best["params"].items())
    if result.version:
        console.print(f"Best: {best} → registered {result.version.ref}")
    else:
        console.print(f"Best: {best} (the current setting; no new version)")


def register(llm_app: typer.Typer) -> None:
    llm_app.command("evaluate")(evaluate_cmd)
    llm_app.command("compare")(compare_cmd)
    llm_app.command("select")(select_cmd)
    llm_app.command("tune")(tune_cmd)
