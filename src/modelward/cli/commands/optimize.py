"""``modelward optimize``: ONNX conversion with agreement, metric loss and latency checks."""

from __future__ import annotations

from typing import Annotated

import typer

import modelward
from modelward.cli.app import calls, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table
from modelward.errors import CheckFailed


@calls("modelward.optimize_version")
def optimize(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    data: Annotated[
        str, typer.Option("--data", help="Validation data (labelled): CSV, Parquet or spec.")
    ],
    target: Annotated[str, typer.Option("--target", help="What to optimize for.")] = "latency",
    max_loss: Annotated[
        float,
        typer.Option(
            "--max-loss",
            help="Largest allowed loss in any of the task's metrics (a drop in a score, "
            "a relative rise in an error).",
        ),
    ] = 0.01,
    label: Annotated[str | None, typer.Option("--label", help="Label column.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Convert to ONNX; register the result only when the metric loss is within --max-loss."""
    r = modelward.optimize_version(
        state().workspace(),
        name,
        version,
        data,
        target=label,
        goal=target,
        max_loss=max_loss,
    )
    if as_json:
        print_json(r)
    else:
        b, a = r["latency_before"], r["latency_after"]
        rows = [
            (
                "per-row latency (median ms)",
                b["per_row_ms"],
                a["per_row_ms"],
                f"{r['speedup_per_row']:.1f}×",
            ),
            ("per-row latency (p95 ms)", b["per_row_p95_ms"], a["per_row_p95_ms"], ""),
            (
                f"batch of {b['batch_rows']} rows (ms)",
                b["batch_ms"],
                a["batch_ms"],
                f"{r['speedup_batch']:.1f}×",
            ),
            ("artifact bytes", r["bytes_before"], r["bytes_after"], ""),
        ]
        for metric, loss in r["metric_loss"].items():
            rows.append(
                (
                    metric,
                    r["metrics_before"][metric],
                    r["metrics_after"][metric],
                    f"loss {loss:+.4f}",
                )
            )
        rows.append(("prediction agreement", "", r["agreement"], ""))
        console.print(
            table(
                ("", "scikit-learn", "ONNX", "change"),
                rows,
                title=f"{name}:{r['version']} → ONNX on {r['rows']} rows · run #{r['run']}",
            )
        )
        if r["passed"]:
            console.print(f"Registered {name}:{r['registered']} (onnx) in development")
    if not r["passed"]:
        worst = max(r["metric_loss"], key=lambda m: r["metric_loss"][m])
        raise CheckFailed(
            f"ONNX conversion loses {r['metric_loss'][worst]:.4f} {worst} (allowed "
            f"{r['max_loss']}); nothing was registered"
        )


def register(app: typer.Typer) -> None:
    app.command("optimize")(optimize)
