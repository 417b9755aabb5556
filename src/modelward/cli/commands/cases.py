"""``modelward test-predictions``: a regression suite of chosen inputs for a version."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table
from modelward.errors import CheckFailed


@calls("modelward.run_cases")
def test_predictions(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    cases: Annotated[Path, typer.Option("--cases", help="cases.yml: inputs and expected outputs.")],
    as_json: JsonOption = False,
) -> None:
    """Check a version's predictions on chosen inputs (an LLM endpoint's: prompts and
    checks on the answers); failures shown as a diff, exit 1."""
    result = modelward.run_cases(state().workspace(), name, version, cases)
    if as_json:
        print_json(result)
    elif result.get("kind") == "endpoint":
        _prompt_table(result, name, cases)
    else:
        rows = [
            (
                r["case"],
                f"{r['expected']:g} ± {r['tolerance']:g}" if "tolerance" in r else r["expected"],
                r["got"],
                r.get("probability"),
                "pass" if r["passed"] else "FAIL",
            )
            for r in result["cases"]
        ]
        console.print(
            table(
                ("case", "expected", "got", "probability", "result"),
                rows,
                title=f"{name}:{result['version']} on {cases} · run #{result['run']}",
            )
        )
        _diffs(result)
    if result["failed"]:
        raise CheckFailed(
            f"{len(result['failed'])} of {len(result['cases'])} prediction case(s) failed: "
            + ", ".join(result["failed"])
        )


def _prompt_table(result: dict, name: str, cases: Path) -> None:
    """An endpoint's prompt tests: each case's checks and the answer it got."""
    rows = [
        (r["case"], r["expected"], r["got"], "pass" if r["passed"] else "FAIL")
        for r in result["cases"]
    ]
    console.print(
        table(
            ("case", "expected", "answer", "result"),
            rows,
            title=f"{name}:{result['version']} on {cases} · run #{result['run']}",
        )
    )
    _diffs(result)


def _diffs(result: dict) -> None:
    """What each failing case expected against what it got."""
    for r in result["cases"]:
        if r["diff"]:
            console.print(f"case {r['case']!r}:", markup=False)
            console.print("\n".join(r["diff"]), markup=False, highlight=False)


def register(app: typer.Typer) -> None:
    app.command("test-predictions")(test_predictions)
