"""``modelward data validate``: a table against the policy, and against a version's schema and
reference profile (``against="name:version"``), as one call."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data.io import read_source, split_target
from modelward.data.quality import validate_frame
from modelward.data.report import data_document
from modelward.data.spec import spec_target
from modelward.errors import ConfigError
from modelward.policy import Policy
from modelward.reports.document import check_report_path, write_html

if TYPE_CHECKING:
    import pandas as pd

    from modelward.workspace import Workspace

__all__ = ["OPTIONAL_CHECKS", "validate_data"]

#: The checks one may choose; the schema checks (types, implausible zeros, ranges against
#: the reference) always run.
OPTIONAL_CHECKS = ("missing", "balance", "distributions", "correlations")


def validate_data(
    data: pd.DataFrame | Path | str,
    *,
    workspace: Workspace | None = None,
    against: str | None = None,
    target: str | None = None,
    checks: tuple[str, ...] | None = None,
    report: Path | str | None = None,
) -> dict[str, Any]:
    """Findings, distribution summaries and a verdict (``fail`` when a finding fails).

    ``data`` is a DataFrame, or a file or dataset spec to read. The thresholds are the
    ``workspace``'s policy (the runbook defaults without one); ``against`` (``NAME:VERSION``,
    needs the workspace) compares with that version's schema and reference profile. The
    label column is ``target``, else the reference's, else the one a spec derives, else
    ``target`` when there is one. ``report`` also writes the HTML report there."""
    if report is not None:
        check_report_path(report)
    chosen = tuple(checks) if checks else OPTIONAL_CHECKS
    unknown = [c for c in chosen if c not in OPTIONAL_CHECKS]
    if unknown:
        raise ConfigError(
            f"unknown data check {unknown[0]!r}; choose among {', '.join(OPTIONAL_CHECKS)}",
            field="checks",
        )
    frame, ref = read_source(data)
    schema = profile = None
    reference_target = None
    if against:
        schema, profile, reference_target = _reference(workspace, against)
    if target:
        split_target(frame, target, source=ref or "the data")
    column = (
        target
        or reference_target
        or spec_target(ref)
        or ("target" if "target" in frame.columns else None)
    )
    if workspace is None:
        policy = Policy()
    elif against:  # the version's model: its own policy
        policy = workspace.policy_for(against.partition(":")[0])
    else:
        policy = workspace.policy
    result = validate_frame(
        frame,
        policy=policy.data,
        target=column,
        checks=("schema", *chosen),
        reference_schema=schema,
        reference_profile=profile,
        p_value=policy.drift.p_value,
    )
    result["data"] = ref
    result["against"] = against
    if report is not None:
        write_html(report, data_document(result))
    return result


def _reference(
    workspace: Workspace | None, ref: str
) -> tuple[dict[str, Any], dict[str, Any] | None, str | None]:
    """A version's input schema, reference profile and label column."""
    name, sep, version = ref.partition(":")
    if not sep or not name or not version:
        raise ConfigError(
            f"--against {ref!r} is not NAME:VERSION; write e.g. --against heart-disease:1",
            field="against",
        )
    if workspace is None:
        raise ConfigError(
            f"--against {ref} compares with a registered version: open a workspace "
            "(--workspace or MODELWARD_HOME)",
            field="against",
        )
    registry = workspace.registry
    info = registry.get_version(name, version)
    profile = registry.reference_profile(name, info.version)
    target = (profile or {}).get("target") or info.tags.get("target")
    return info.input_schema, profile, target
