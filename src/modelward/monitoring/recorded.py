"""A version's recorded value of a metric: what its latest ``modelward evaluate`` run
measured, else what it was registered with (``train``'s held-out figures) — the baseline
the degradation check compares a window with under ``--compare-to reference``."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelward.registry.records import metric_value

if TYPE_CHECKING:
    from modelward.registry.records import VersionInfo
    from modelward.workspace import Workspace

__all__ = ["recorded_metric"]


def recorded_metric(ws: Workspace, info: VersionInfo, name: str) -> tuple[float | None, str]:
    """``(value, where it came from)``; ``(None, …)`` when nothing recorded it."""
    runs = ws.catalog.list_runs(
        model=info.model, version=info.version, kinds=["evaluation"], limit=1
    )
    if runs:
        measured = ((runs[0].results.get("metrics") or {}).get(name) or {}).get("value")
        if isinstance(measured, int | float) and not isinstance(measured, bool):
            return float(measured), f"evaluation run #{runs[0].id} of {info.ref}"
    return metric_value(info.metrics, name), f"{info.ref} metrics"
