"""``modelward validate``: performance, bias, robustness and security gates; exit 1 on any
failure. The result is stored and is what ``transition --to staging`` checks."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

from modelward.cli.app import state
from modelward.cli.options import JsonOption
from modelward.cli.output import RichProgress, console, print_json, table


def validate(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    data: Annotated[str, typer.Option("--data", help="Labelled data: CSV, Parquet or spec.")],
    target: Annotated[str | None, typer.Option(help="Label column.")] = None,
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
    from modelward.data import read_data
    from modelward.errors import CheckFailed
    from modelward.validation import ALL_CHECKS, validate_version

    if report is not None:
        from modelward.reports.document import check_report_path

        check_report_path(report)
    chosen = tuple(
        c
        for c, on in zip(
            ALL_CHECKS,
            (check_performance, check_bias, check_robustness, check_security),
            strict=True,
        )
        if on
    )
    frame = read_data(data)
    workspace = state().workspace()
    with RichProgress() as progress:
        result = validate_version(
            workspace,
            name,
            version,
            frame,
            data_ref=data,
            target=target,
            checks=chosen or ALL_CHECKS,
            lower_ci=lower_ci,
            progress=progress,
        )
    if report is not None:
        from modelward.reports import write_html

        write_html(report, validation_document(result.results, result.verdict))
    if as_json:
        print_json({**result.results, "verdict": result.verdict})
    else:
        console.print(
            table(
                ("check", "", "value", "threshold", "result", "detail"),
                _rows(result.results),
                title=f"validation of {name}:{result.results['version']} on {data} "
                f"({result.results['rows']} rows) · run #{result.run_id}: {result.verdict}",
            )
        )
        if report is not None:
            console.print(f"Report: {report}")
    if result.failed:
        raise CheckFailed(
            f"{name}:{result.results['version']} failed {len(result.failed)} check(s): "
            + "; ".join(
                f"{c.name} = {_short(c.value)} (needs {c.op} {_short(c.threshold)})"
                for c in result.failed
            )
        )


def _short(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _rows(results: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            c["group"],
            c["name"],
            c["value"],
            f"{c['op']} {_short(c['threshold'])}".strip(),
            "pass" if c["passed"] else "FAIL",
            c["detail"],
        )
        for c in results["checks"]
    ]


def validation_document(results: dict[str, Any], verdict: str) -> Any:
    from modelward.reports import Document

    doc = Document(
        f"Validation of {results['model']}:{results['version']}: {verdict}",
        f"data {results['data']} · {results['rows']} labelled rows · run #{results.get('run')}",
    )
    doc.section("Checks").table(
        ["check", "name", "value", "threshold", "result", "detail"],
        [list(r) for r in _rows(results)],
    )
    bias = results.get("details", {}).get("bias", {})
    for attribute, detail in bias.items():
        if "groups" not in detail:
            continue
        cols = [
            "rows",
            "positives",
            "selection_rate",
            "true_positive_rate",
            "false_positive_rate",
            "accuracy",
        ]
        doc.section(f"Groups by {attribute}").table(
            ["group", *cols], [[g, *(v[c] for c in cols)] for g, v in detail["groups"].items()]
        )
    return doc


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)
