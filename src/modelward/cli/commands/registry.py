"""``modelward register``, ``models`` and ``versions``: what the registry holds."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption, parse_pairs
from modelward.cli.output import console, print_json, table
from modelward.present import fmt_time

if TYPE_CHECKING:
    from modelward.registry import VersionInfo

models_app = new_typer("List and show registered models.")
versions_app = new_typer("List and show model versions.")


@calls("Workspace.register_file")
def register_cmd(
    name: Annotated[str, typer.Argument(help="Model name (lowercase letters, digits, -_.).")],
    model: Annotated[Path, typer.Option("--model", help="A .skops or .onnx model file.")],
    data: Annotated[
        str, typer.Option("--data", help="Training data: CSV, Parquet or a dataset spec (.yml).")
    ],
    target: Annotated[
        str | None, typer.Option("--target", help="The label column in --data.")
    ] = None,
    task: Annotated[
        str | None,
        typer.Option(help="binary-classification, multiclass-classification, regression."),
    ] = None,
    description: Annotated[str, typer.Option(help="What the model is for.")] = "",
    tag: Annotated[list[str] | None, typer.Option(help="key=value, repeatable.")] = None,
    positive_class: Annotated[
        str | None,
        typer.Option(
            "--positive-class",
            help="Binary classifiers: the class metrics, thresholds and serving's score "
            "are about (default: the second of the sorted classes).",
        ),
    ] = None,
    nullable: Annotated[
        list[str] | None,
        typer.Option(
            "--nullable",
            help="An input that may be missing in requests (the model imputes it); "
            "repeatable. Inputs the model accepts as missing when tried are found anyway.",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Register a model file as a new version (in development) with its schema and profile."""
    tags = parse_pairs(tag)
    if positive_class is not None:
        tags["positive_class"] = positive_class
    info = (
        state()
        .workspace()
        .register_file(
            name,
            model,
            data=data,
            target=target,
            task=task,
            tags=tags,
            description=description,
            accepts_missing=nullable,
        )
    )
    if as_json:
        print_json(info.to_dict())
        return
    console.print(
        f"Registered {info.ref} ({info.flavor}, sha256 {info.sha256 and info.sha256[:12]}…) "
        f"in {info.stage}"
    )


@models_app.command("list")
@calls("Workspace.catalog.list_models")
def models_list(as_json: JsonOption = False) -> None:
    """Every model with its latest and production versions and aliases."""
    models = state().catalog().list_models()
    if as_json:
        print_json([m.to_dict() for m in models])
        return
    rows = [
        (
            m.name,
            m.task,
            m.latest_version,
            m.production_version,
            ", ".join(f"{a}→{v}" for a, v in m.aliases.items()),
            fmt_time(m.created_at),
        )
        for m in models
    ]
    console.print(
        table(("model", "task", "latest", "production", "aliases", "created"), rows)
        if rows
        else "No models yet: `modelward register` or `modelward train` adds one."
    )


@models_app.command("show")
@calls("Workspace.catalog.get_model", "Workspace.catalog.list_versions")
def models_show(
    name: Annotated[str, typer.Argument(help="Model name.")],
    as_json: JsonOption = False,
) -> None:
    """One model and all its versions."""
    catalog = state().catalog()
    model = catalog.get_model(name)
    versions = catalog.list_versions(name)
    if as_json:
        print_json({**model.to_dict(), "versions": [v.to_dict() for v in versions]})
        return
    console.print(f"[bold]{model.name}[/bold] ({model.task}) {model.description}".rstrip())
    console.print(f"created {fmt_time(model.created_at)} by {model.created_by}")
    console.print(_versions_table(versions))


def _versions_table(versions: list[VersionInfo]) -> Any:
    rows = [
        (
            v.version,
            v.stage,
            v.flavor,
            ", ".join(v.aliases),
            _headline(v.metrics),
            fmt_time(v.created_at),
            v.created_by,
        )
        for v in versions
    ]
    return table(("version", "stage", "flavor", "aliases", "metrics", "created", "by"), rows)


def _headline(metrics: dict[str, Any]) -> str:
    """A few metrics for a table cell: held-out ones first."""
    flat = metrics.get("test", metrics)
    shown = [f"{k}={v:.3f}" for k, v in flat.items() if isinstance(v, int | float) and k != "n"]
    return " ".join(shown[:3])


@versions_app.command("list")
@calls("Workspace.catalog.list_versions")
def versions_list(
    name: Annotated[str, typer.Argument(help="Model name.")],
    stage: Annotated[str | None, typer.Option(help="Only versions in this stage.")] = None,
    as_json: JsonOption = False,
) -> None:
    """The versions of a model, oldest first."""
    versions = state().catalog().list_versions(name, stage=stage)
    if as_json:
        print_json([v.to_dict() for v in versions])
        return
    console.print(_versions_table(versions))


@versions_app.command("show")
@calls(
    "Workspace.catalog.get_version", "Workspace.catalog.integrity",
    "Workspace.catalog.get_model", "Workspace.catalog.approvals",
)  # fmt: skip
def versions_show(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number, alias, or 'latest'.")],
    as_json: JsonOption = False,
) -> None:
    """Everything recorded about one version: artifact, schema, params, metrics, lineage."""
    catalog = state().catalog()
    info = catalog.get_version(name, version)
    integrity = catalog.integrity(info)
    task = catalog.get_model(name).task
    positive = info.tags.get("positive_class")
    approvals = catalog.approvals(name, info.version)
    if as_json:
        print_json({**info.to_dict(), "task": task, "integrity": integrity,
                    "approvals": approvals})  # fmt: skip
        return
    console.print(f"[bold]{info.ref}[/bold]  stage {info.stage}  flavor {info.flavor}")
    console.print(f"task {task}" + (f", positive class {positive}" if positive else ""))
    if info.sha256:
        console.print(f"artifact sha256 {info.sha256} ({info.size} bytes)")
        if integrity["status"] == "ok":
            console.print("integrity ok (sha256 verified)")
        else:
            detail = _escape(integrity["detail"])
            console.print(f"[red]integrity {integrity['status']}[/red]: {detail}")
    if info.spec:
        console.print(f"endpoint {info.spec}")
    console.print(f"created {fmt_time(info.created_at)} by {info.created_by}")
    if info.aliases:
        console.print(f"aliases: {', '.join(info.aliases)}")
    _print_approvals(approvals)
    if info.data_fingerprint:
        console.print(f"training data fingerprint {info.data_fingerprint[:16]}…")
    for key, value in info.source.items():
        console.print(f"source {key}: {value}")
    columns = info.input_schema.get("columns", [])
    if columns:
        rows = [
            (
                c["name"],
                c["kind"],
                "yes" if c.get("nullable") else "no",
                _range(c),
            )
            for c in columns
        ]
        console.print(table(("input", "kind", "nullable", "observed"), rows, title="Input schema"))
    if info.params:
        params = sorted(info.params.items())
        console.print(table(("param", "value"), params, title="Params"))
    if info.metrics:
        console.print(table(("metric", "value"), _flatten(info.metrics), title="Metrics"))


def _print_approvals(approvals: dict[str, Any]) -> None:
    people, required = approvals["approvers"], approvals["required"]
    if not approvals["approvals"] and not required:
        return
    count = f"{len(people)} of {required} required" if required else f"{len(people)}, none required"
    console.print(
        f"approvals for production: {count}" + (f" ({', '.join(people)})" if people else "")
    )
    for a in approvals["approvals"]:
        when = a["created_at"][:16].replace("T", " ")
        console.print(f"  {when} {_escape(a['actor'])}: {_escape(a['reason'])}")


def _range(column: dict[str, Any]) -> str:
    if "min" in column:
        return f"{column['min']} … {column['max']}"
    if "categories" in column:
        return ", ".join(map(str, column["categories"][:8]))
    return ""


def _flatten(metrics: dict[str, Any], prefix: str = "") -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = []
    for key, value in metrics.items():
        if isinstance(value, dict):
            rows.extend(_flatten(value, f"{prefix}{key}."))
        else:
            rows.append((f"{prefix}{key}", value))
    return rows


def register(app: typer.Typer) -> None:
    app.command("register")(register_cmd)
    app.add_typer(models_app, name="models")
    app.add_typer(versions_app, name="versions")


def _escape(text: str) -> str:
    """``text`` as Rich markup prints it verbatim (Rich is imported when printing)."""
    from rich.markup import escape

    return escape(text)
