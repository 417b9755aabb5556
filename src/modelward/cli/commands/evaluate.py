"""``modelward evaluate``: metrics with 95 % bootstrap intervals, per group, and a paired
comparison with a baseline version; stored as an evaluation run."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Any

import typer

import modelward
from modelward.cli.app import calls, state
from modelward.cli.options import JsonOption
from modelward.cli.output import RichProgress, console, print_json, table
from modelward.errors import ConfigError

TABLE_METRICS = ("accuracy", "roc_auc", "f1", "precision", "recall")
#: per-group columns by task (as in the HTML report)
GROUP_METRICS = {
    "multiclass-classification": ("accuracy", "balanced_accuracy", "f1_macro", "log_loss"),
    "regression": ("mae", "rmse", "r2", "median_absolute_error"),
}


@calls("modelward.evaluate_version")
def evaluate(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    data: Annotated[str, typer.Option("--data", help="Labelled data: CSV, Parquet or spec.")],
    target: Annotated[
        str | None, typer.Option(help="Label column (default: the one the model was trained on).")
    ] = None,
    positive_class: Annotated[
        str | None,
        typer.Option(
            "--positive-class",
            help="Binary classifiers: the positive class (default: the one recorded with the "
            "version, else the second of the sorted classes; the output says which).",
        ),
    ] = None,
    by: Annotated[
        str | None, typer.Option("--by", help="Also report metrics per value of this column.")
    ] = None,
    compare_baseline: Annotated[
        str | None,
        typer.Option(
            "--compare-baseline",
            help="Paired comparison with a baseline: champion (or any alias), production, or a "
            "version number.",
        ),
    ] = None,
    resamples: Annotated[int, typer.Option(help="Bootstrap resamples.")] = 1000,
    seed: Annotated[int, typer.Option(help="Bootstrap seed.")] = 0,
    report: Annotated[Path | None, typer.Option("--report", help="Write an HTML report.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Evaluate a version on labelled data; exit 0 (the comparison verdict is reported)."""
    if compare_baseline is not None and compare_baseline.startswith("-"):
        raise ConfigError(
            f"--compare-baseline needs a value before {compare_baseline}: champion, an alias, "
            "production or a version number",
            field="compare_baseline",
        )
    workspace = state().workspace()
    with RichProgress() as progress:
        evaluation = modelward.evaluate_version(
            workspace,
            name,
            version,
            data,
            target=target,
            positive_class=positive_class,
            by=by,
            baseline=compare_baseline,
            resamples=resamples,
            seed=seed,
            report=report,
            progress=progress,
        )
    r = evaluation.results
    if as_json:
        print_json(r)
        return
    _print(r)
    if report is not None:
        console.print(f"Report: {report}")


def _ci(m: dict[str, Any]) -> tuple[Any, Any, Any]:
    return m.get("value"), m.get("low"), m.get("high")


def _cell(m: dict[str, Any]) -> str:
    value = m.get("value")
    if value is None:
        return ""
    return f"{value:.3f}" + (
        f" [{m['low']:.3f}, {m['high']:.3f}]" if m.get("low") is not None else ""
    )


def _print(r: dict[str, Any]) -> None:
    task = r.get("task", "binary-classification")
    rows = [(n, *_ci(m)) for n, m in r["metrics"].items()]
    what = f"{r['positives']} positive" if "positives" in r else task
    console.print(
        table(
            ("metric", "value", "95 % low", "95 % high"),
            rows,
            title=f"{r['model']}:{r['version']} on {r['data']}: {r['rows']} rows "
            f"({what}) · run #{r.get('run')}",
        )
    )
    for note in r.get("notes", []):
        console.print(note)
    if "positive_class" in r:
        console.print(
            f"positive class: {r['positive_class']} ({r.get('positive_class_source', '')})"
        )
    c = r.get("confusion", {})
    if "tn" in c:
        console.print(f"confusion: tn={c['tn']} fp={c['fp']} fn={c['fn']} tp={c['tp']}")
    elif "matrix" in c:
        console.print(
            table(
                ("actual \\ predicted", *c["labels"]),
                [(label, *row) for label, row in zip(c["labels"], c["matrix"], strict=True)],
                title="confusion matrix",
            )
        )
    if "per_class" in r:
        console.print(
            table(
                ("class", "support", "precision", "recall", "f1"),
                [
                    (label, row["support"], *(_cell(row[n]) for n in ("precision", "recall", "f1")))
                    for label, row in r["per_class"].items()
                ],
                title="per class (95 % intervals)",
            )
        )
    if "groups" in r:
        names = GROUP_METRICS.get(task, TABLE_METRICS)
        rows = []
        for group, g in r["groups"].items():
            cells = [_cell(g["metrics"].get(metric, {})) for metric in names]
            counts = (g["rows"], g["positives"]) if "positives" in g else (g["rows"],)
            rows.append((group, *counts, *cells))
        heads = ("rows", "positives") if task == "binary-classification" else ("rows",)
        console.print(table((r["by"], *heads, *names), rows))
    _print_comparison(r)


def _print_comparison(r: dict[str, Any]) -> None:
    if "comparison" in r:
        comp = r["comparison"]
        base = comp["baseline"]["version"]
        pairs: list[tuple[Any, ...]] = [
            (m, d["baseline"], d["candidate"], d["difference"], d["low"], d["high"], d["p_value"])
            for m, d in comp["differences"].items()
        ]
        console.print(
            table(
                (
                    "metric",
                    f"v{base}",
                    f"v{r['version']}",
                    "difference",
                    "95 % low",
                    "95 % high",
                    "bootstrap p",
                ),
                pairs,
                title=f"paired comparison with v{base} on the same {r['rows']} rows",
            )
        )
        mc = comp["tests"].get("mcnemar_accuracy")
        if mc:
            console.print(
                f"McNemar (accuracy): {mc['only_a_correct']} rows only v{base} right, "
                f"{mc['only_b_correct']} only v{r['version']} right, p = {mc['p_value']:.4g}"
            )
        wx = comp["tests"].get("wilcoxon_absolute_error")
        if wx:
            console.print(
                f"Wilcoxon (absolute error): {wx['rows_better']} rows closer with "
                f"v{r['version']}, {wx['rows_worse']} with v{base}, "
                f"median change {wx['median_difference']:+.4g}, p = {wx['p_value']:.4g}"
            )
        if "delong_roc_auc" in comp["tests"]:
            dl = comp["tests"]["delong_roc_auc"]
            console.print(
                f"DeLong (ROC-AUC): difference {dl['difference']:+.4f}, p = {dl['p_value']:.4g}"
            )
        console.print(f"[bold]verdict: v{r['version']} vs v{base}: {comp['verdict']}[/bold]")


def register(app: typer.Typer) -> None:
    app.command("evaluate")(evaluate)
