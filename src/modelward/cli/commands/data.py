"""``modelward data profile`` and ``data validate``: what a table holds, and whether it
meets the policy (missing values, balance, ranges, distributions, correlations)."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelward.cli.app import new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table

if TYPE_CHECKING:
    from modelward.policy import Policy

data_app = new_typer("Profile and validate data files (CSV, Parquet, dataset specs).")

DataArg = Annotated[
    str, typer.Argument(help="CSV, Parquet, or a dataset spec (heart.yml, heart.yml#cleveland).")
]


def _policy() -> Policy:
    """The workspace's policy, or the runbook defaults when there is no workspace."""
    from modelward.errors import WorkspaceError
    from modelward.policy import Policy

    try:
        return state().workspace().policy
    except WorkspaceError as exc:
        if "no modelward workspace" in exc.message:
            return Policy()
        raise


@data_app.command("profile")
def profile(
    file: DataArg,
    target: Annotated[str | None, typer.Option(help="The label column, if any.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Columns, types, missing values, zeros, ranges and categories of a data file."""
    from modelward.data import read_data, split_target
    from modelward.data.profile import profile_frame

    frame = read_data(file)
    if target:
        split_target(frame, target, source=file)
    target = target or _spec_target(file)
    result = profile_frame(frame, target=target)
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


def _spec_target(ref: str) -> str | None:
    """The label column a dataset spec derives (``target: {name: …}``), if any."""
    from modelward.data.spec import SPEC_SUFFIXES, load_spec

    path = Path(ref.partition("#")[0])
    if path.suffix.lower() not in SPEC_SUFFIXES or not path.exists():
        return None
    spec = load_spec(path)
    return spec.target.name if spec.target is not None else None


def _against(ref: str) -> tuple[dict[str, Any], dict[str, Any] | None, str | None]:
    from modelward.errors import ConfigError

    name, sep, version = ref.partition(":")
    if not sep or not name or not version:
        raise ConfigError(
            f"--against {ref!r} is not NAME:VERSION; write e.g. --against heart-disease:1",
            field="against",
        )
    registry = state().workspace().registry
    info = registry.get_version(name, version)
    profile = registry.reference_profile(name, info.version)
    target = (profile or {}).get("target") or info.tags.get("target")
    return info.input_schema, profile, target


@data_app.command("validate")
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
    from modelward.data import read_data
    from modelward.data.quality import validate_frame
    from modelward.errors import CheckFailed

    if report is not None:
        from modelward.reports.document import check_report_path

        check_report_path(report)
    chosen = [
        name
        for name, on in (
            ("balance", check_balance),
            ("correlations", check_correlations),
            ("distributions", check_distributions),
            ("missing", check_missing),
        )
        if on
    ]
    checks = ("schema", *(chosen or ("missing", "balance", "distributions", "correlations")))
    frame = read_data(file)
    schema = profile = None
    ref_target = None
    if against:
        schema, profile, ref_target = _against(against)
    column = (
        target
        or ref_target
        or _spec_target(file)
        or ("target" if "target" in frame.columns else None)
    )
    if target:
        from modelward.data import split_target

        split_target(frame, target, source=file)
    policy = _policy()
    result = validate_frame(
        frame,
        policy=policy.data,
        target=column,
        checks=checks,
        reference_schema=schema,
        reference_profile=profile,
        p_value=policy.drift.p_value,
    )
    result["data"] = file
    result["against"] = against
    if report is not None:
        from modelward.reports import write_html

        write_html(report, data_document(result))
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


def _rows(result: dict[str, Any], *, everything: bool) -> list[tuple[Any, ...]]:
    return [
        (f["status"], f["check"], f["column"], f["value"], f["threshold"], f["detail"])
        for f in result["findings"]
        if everything or f["status"] != "pass" or f["check"] in ("balance",)
    ]


def _print(result: dict[str, Any]) -> None:
    rows = _rows(result, everything=False)
    passed = sum(1 for f in result["findings"] if f["status"] == "pass")
    console.print(
        table(
            ("status", "check", "column", "value", "threshold", "detail"),
            rows,
            title=f"{result['data']}: {result['rows']} rows, {result['columns']} columns · "
            f"verdict {result['verdict']} ({passed} checks passed, not shown)",
        )
    )


def data_document(result: dict[str, Any]) -> Any:
    from modelward.reports import Document

    doc = Document(
        f"Data validation of {result['data']}",
        f"{result['rows']} rows · {result['columns']} columns · verdict {result['verdict']}"
        + (f" · against {result['against']}" if result.get("against") else ""),
    )
    doc.section("Findings").table(
        ["status", "check", "column", "value", "threshold", "detail"],
        [list(r) for r in _rows(result, everything=True)],
    )
    summaries = result.get("summaries") or {}
    numeric = {k: v for k, v in summaries.items() if "mean" in v}
    if numeric:
        cols = ["mean", "std", "min", "p50", "max", "skew"]
        doc.section("Distributions").table(
            ["column", *cols], [[k, *(v[c] for c in cols)] for k, v in numeric.items()]
        )
    return doc


def register(app: typer.Typer) -> None:
    app.add_typer(data_app, name="data")
