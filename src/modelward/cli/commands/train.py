"""``modelward train``: a config file in, a registered version (development) out."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, state
from modelward.cli.options import JsonOption
from modelward.cli.output import RichProgress, console, print_json, table
from modelward.errors import CheckFailed


@calls("modelward.train_model")
def train(
    config: Annotated[Path, typer.Option("--config", help="Training config (.yml).")],
    tune: Annotated[
        int | None,
        typer.Option("--tune", help="Run N Optuna trials over the config's tune.space first."),
    ] = None,
    validate: Annotated[
        bool,
        typer.Option("--validate", help="Validate the new version on the held-out split."),
    ] = False,
    as_json: JsonOption = False,
) -> None:
    """Train from a config (seeded split, CV, optional tuning) and register in development."""
    workspace = state().workspace()
    with RichProgress() as progress:
        result = modelward.train_model(
            workspace, config, tune=tune, validate=validate, progress=progress
        )
    info = result.version
    if as_json:
        print_json(
            {
                "version": info.to_dict(),
                "metrics": result.metrics,
                "tuning": result.tuning,
                "validation": result.validation,
            }
        )
    else:
        console.print(
            f"Registered {info.ref} ({result.params['estimator'].rsplit('.', 1)[-1]}, "
            f"{result.task}, sha256 {(info.sha256 or '')[:12]}…) in {info.stage}"
        )
        if "positive_class" in info.tags:
            console.print(f"positive class: {info.tags['positive_class']}")
        if result.tuning:
            t = result.tuning
            console.print(
                f"tuning: best CV {t['metric']} {t['best_value']:.4f} after {t['trials']} trials "
                f"with {t['best_params']}"
            )
        cv, test, ci = result.metrics["cv"], result.metrics["test"], result.metrics["test_ci"]
        rows = [
            (
                name,
                cv[name]["mean"],
                cv[name]["std"],
                test.get(name),
                *(ci.get(name) or [None, None]),
            )
            for name in cv
            if isinstance(cv[name], dict)
        ]
        console.print(
            table(
                (
                    "metric",
                    f"CV mean ({cv['folds']} folds)",
                    "CV std",
                    "held-out",
                    "95 % low",
                    "95 % high",
                ),
                rows,
                title=f"{result.metrics['test_rows']} held-out rows",
            )
        )
        if result.validation:
            v = result.validation
            verdict = "pass" if not v["failed"] else "fail"
            console.print(
                f"validation run #{v.get('run')}: {verdict}"
                + (f" (failed: {', '.join(v['failed'])})" if v["failed"] else "")
            )
    if result.validation and result.validation["failed"]:
        raise CheckFailed(
            f"{info.ref} was registered but failed validation: "
            + ", ".join(result.validation["failed"])
        )


def register(app: typer.Typer) -> None:
    app.command("train")(train)
