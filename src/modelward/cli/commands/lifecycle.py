"""``modelward clean`` and ``modelward lifecycle review``: retention and retirement."""

from __future__ import annotations

from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table

lifecycle_app = new_typer("Review versions against the retirement criteria of the policy.")


@calls("modelward.plan_clean", "modelward.apply_clean")
def clean(
    name: Annotated[str | None, typer.Argument(help="Only this model (default: all).")] = None,
    keep_last: Annotated[
        int | None, typer.Option("--keep-last", help="Keep the newest N (policy: retention).")
    ] = None,
    keep_best: Annotated[
        int | None, typer.Option("--keep-best", help="Keep the best K by --metric.")
    ] = None,
    metric: Annotated[
        str | None, typer.Option("--metric", help="Metric ranking --keep-best (e.g. auc).")
    ] = None,
    orphans: Annotated[
        bool, typer.Option("--orphans", help="Also delete artifacts no version references.")
    ] = False,
    yes: Annotated[bool, typer.Option("--yes", help="Delete; without it, a dry run.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Delete old versions beyond the retention rules and their artifacts (dry run by default).

    Never touches versions in staging, production or maintenance, aliased versions,
    deployed versions, rollback targets or versions in a live rollout.
    """
    workspace = state().workspace()
    if yes:
        plan = modelward.apply_clean(
            workspace, name, keep_last=keep_last, keep_best=keep_best, metric=metric,
            orphans=orphans,
        )  # fmt: skip
    else:
        plan = modelward.plan_clean(
            workspace, name, keep_last=keep_last, keep_best=keep_best, metric=metric
        )
    if as_json:
        print_json(plan.to_dict())
        return
    rows = [
        (d.model, d.version, d.stage, d.action.upper() if d.action == "delete" else d.action,
         d.metric, "; ".join(d.reasons))
        for d in plan.decisions
    ]  # fmt: skip
    console.print(table(("model", "version", "stage", "action", plan.metric, "why"), rows))
    count = len(plan.to_delete)
    if plan.applied:
        console.print(
            f"Deleted {count} versions and {len(plan.deleted_artifacts)} artifacts "
            "(recorded in history)"
        )
    else:
        console.print(f"Dry run: {count} versions would be deleted; pass --yes to delete them")


@lifecycle_app.command("review")
@calls("modelward.review_lifecycle", "modelward.apply_review")
def lifecycle_review(
    name: Annotated[str | None, typer.Argument(help="Only this model (default: all).")] = None,
    window: Annotated[
        str, typer.Option("--window", help="Prediction-log window to judge, e.g. 7d.")
    ] = "7d",
    apply: Annotated[bool, typer.Option("--apply", help="Perform the proposed moves.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Propose maintenance, deprecated or retired moves from the retirement criteria."""
    workspace = state().workspace()
    proposals = (
        modelward.apply_review(workspace, name, window=window)
        if apply
        else modelward.review_lifecycle(workspace, name, window=window)
    )
    if as_json:
        print_json([p.to_dict() for p in proposals])
        return
    rows = [
        (p.model, p.version, p.stage,
         (f"→ {p.to}" + (" (done)" if p.applied else "")) if p.to else "keep",
         "; ".join(p.reasons), p.blocked or "")
        for p in proposals
    ]  # fmt: skip
    console.print(table(("model", "version", "stage", "move", "why", "blocked"), rows))
    pending = [p for p in proposals if p.to and not p.blocked and not p.applied]
    if pending and not apply:
        console.print(f"{len(pending)} moves proposed; pass --apply to perform them")


def register(app: typer.Typer) -> None:
    app.command("clean")(clean)
    app.add_typer(lifecycle_app, name="lifecycle")
