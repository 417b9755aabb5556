"""``modelward data profile`` and ``data validate``: what a table holds, and whether it
meets the policy (missing values, balance, ranges, distributions, correlations)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

import modelward
from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table
from modelward.errors import CheckFailed

data_app = new_typer("Profile and validate data files (CSV, Parquet, dataset specs).")

DataArg = Annotated[
    str, typer.Argument(help="CSV, Parquet, or a dataset spec (heart.yml, heart.yml#cleveland).")
]


@data_app.command("profile")
@calls("modelward.profile_data")
def profile(
    file: DataArg,
    target: Annotated[str | None, typer.Option(help="The label column, if any.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Columns, types, missing values, zeros, ranges and categories of a data file."""
    result = modelward.profile_data(file, target=target)
    if as_json:
        print_json(result)
        return
    rows = []
    for name, col in result["columns"].items():
        cats = col.get("categories")
        rows.append(
            (
                name,
                col["kind"],
                col["dtype"],
                col["missing"],
                f"{col['missing_rate']:.1%}",
                col.get("zeros"),
                col.get("min"),
                col.get("mean"),
                col.get("max"),
                ", ".join(list(cats)[:6]) if cats else "",
            )
        )
    title = f"{file}: {result['rows']} rows"
    if "target_counts" in result:
        title += " · target " + ", ".join(f"{k}: {v}" for k, v in result["target_counts"].items())
    console.print(
        table(
            (
                "column",
                "kind",
                "dtype",
                "missing",
                "rate",
                "zeros",
                "min",
                "mean",
                "max",
                "categories",
            ),
            rows,
            title=title,
        )
    )


@data_app.command("validate")
@calls("modelward.validate_data")
def validate(
    file: DataArg,
    against: Annotated[
        str | None,
        typer.Option(help="NAME:VERSION whose schema and reference profile to compare with."),
    ] = None,
    target: Annotated[str | None, typer.Option(help="The label column (default: target).")] = None,
    check_balance: Annotated[bool, typer.Option("--check-balance", help="Class balance.")] = False,
    check_correlations: Annotated[
        bool, typer.Option("--check-correlations", help="Correlated pairs and leaky features.")
    ] = False,
    check_distributions: Annotated[
        bool, typer.Option("--check-distributions", help="Summaries; KS vs the reference.")
    ] = False,
    check_missing: Annotated[
        bool, typer.Option("--check-missing", help="Missing rate per column vs the policy.")
    ] = False,
    report: Annotated[
        Path | None, typer.Option("--report", help="Also write an HTML report here.")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Check a data file against the policy (and a version's schema); exit 1 on failure.

    Without --check-* flags every check runs. Schema checks (types, implausible zeros,
    ranges against --against) always run.
    """
    chosen = {
        "balance": check_balance,
        "correlations": check_correlations,
        "distributions": check_distributions,
        "missing": check_missing,
    }
    result = modelward.validate_data(
        file,
        workspace=state().workspace_if_any(),
        against=against,
        target=target,
        checks=tuple(check for check, on in chosen.items() if on) or None,
        report=report,
    )
    if as_json:
        print_json(result)
    else:
        _print(result)
        if report is not None:
            console.print(f"Report: {report}")
    if result["verdict"] == "fail":
        raise CheckFailed(
            f"{file}: {len(result['failed'])} data check(s) failed: "
            + "; ".join(_failure(f) for f in result["findings"] if f["status"] == "fail")[:600]
        )


def _failure(finding: dict[str, Any]) -> str:
    f = finding
    return f"{f['check']} {f['column']} = {f['value']} (limit {f['threshold']})"


def _print(result: dict[str, Any]) -> None:
    """The findings that did not pass (and the class balance); the HTML report has all."""
    rows = [
        (f["status"], f["check"], f["column"], f["value"], f["threshold"], f["detail"])
        for f in result["findings"]
        if f["status"] != "pass" or f["check"] == "balance"
    ]
    passed = sum(1 for f in result["findings"] if f["status"] == "pass")
    console.print(
        table(
            ("status", "check", "column", "value", "threshold", "detail"),
            rows,
            title=f"{result['data']}: {result['rows']} rows, {result['columns']} columns · "
            f"verdict {result['verdict']} ({passed} checks passed, not shown)",
        )
    )


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
