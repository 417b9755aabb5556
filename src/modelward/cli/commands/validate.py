"""``modelward validate``: performance, bias, robustness and security gates; exit 1 on any
failure. The result is stored and is what ``transition --to staging`` checks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, state
from modelward.cli.options import JsonOption
from modelward.cli.output import RichProgress, console, print_json, table
from modelward.errors import CheckFailed


@calls("modelward.validate_version")
def validate(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    data: Annotated[str, typer.Option("--data", help="Labelled data: CSV, Parquet or spec.")],
    target: Annotated[str | None, typer.Option(help="Label column.")] = None,
    positive_class: Annotated[
        str | None,
        typer.Option(
            "--positive-class",
            help="Binary classifiers: the positive class (default: the one recorded with the "
            "version, else the second of the sorted classes).",
        ),
    ] = None,
    check_performance: Annotated[
        bool, typer.Option("--check-performance", help="Policy thresholds on metrics.")
    ] = False,
    check_bias: Annotated[
        bool, typer.Option("--check-bias", help="Parity over the policy's protected groups.")
    ] = False,
    check_robustness: Annotated[
        bool, typer.Option("--check-robustness", help="Noise, missing and out-of-range inputs.")
    ] = False,
    check_security: Annotated[
        bool, typer.Option("--check-security", help="Checksum, trusted types, no network.")
    ] = False,
    lower_ci: Annotated[
        bool | None,
        typer.Option(
            "--lower-ci/--point-estimate",
            help="Hold the 95 % lower bound (not the point estimate) to the thresholds.",
            show_default=False,
        ),
    ] = None,
    report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Validate a version against the policy (all checks unless some --check-* are given)."""
    flags = {
        "performance": check_performance,
        "bias": check_bias,
        "robustness": check_robustness,
        "security": check_security,
    }
    chosen = tuple(check for check, on in flags.items() if on)
    workspace = state().workspace()
    with RichProgress() as progress:
        result = modelward.validate_version(
            workspace,
            name,
            version,
            data,
            target=target,
            positive_class=positive_class,
            checks=chosen or None,
            lower_ci=lower_ci,
            report=report,
            progress=progress,
        )
    if as_json:
        print_json({**result.results, "verdict": result.verdict})
    else:
        console.print(
            table(
                ("check", "", "value", "threshold", "result", "detail"),
                result.rows(),
                title=f"validation of {name}:{result.results['version']} on {data} "
                f"({result.results['rows']} rows) · run #{result.run_id}: {result.verdict}",
            )
        )
        if report is not None:
            console.print(f"Report: {report}")
    if result.failed:
        raise CheckFailed(
            f"{name}:{result.results['version']} failed {len(result.failed)} check(s): "
            + result.failures()
        )
    if result.verdict == "incomplete":
        missing = "; ".join(f"{c.name}: {c.detail}" for c in result.not_run if c.required)
        raise CheckFailed(
            f"{name}:{result.results['version']} validation is incomplete (a required check "
            f"did not run; the staging gate will not accept it): {missing}"
        )


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
