"""``evaluate``: every metric with a bootstrap interval, per group, against a baseline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data.io import read_source
from modelward.data.profile import CATEGORICAL_MAX_LEVELS, _key
from modelward.errors import DataError, NotFound
from modelward.evaluation.compare import compare_paired
from modelward.evaluation.metrics import (
    BinaryData,
    bootstrap_metrics,
    calibration_table,
    confusion,
    threshold_table,
)
from modelward.evaluation.report import evaluation_document
from modelward.evaluation.result import Evaluation
from modelward.evaluation.scoring import Scored, score_version, target_for
from modelward.progress import NO_PROGRESS, Progress
from modelward.reports.document import check_report_path, write_html

if TYPE_CHECKING:
    import pandas as pd

    from modelward.workspace import Workspace

__all__ = ["Evaluation", "evaluate_version", "resolve_baseline"]

MIN_GROUP_ROWS = 2


def resolve_baseline(ws: Workspace, name: str, version: int, baseline: str) -> int:
    """``champion`` (or any alias), ``production``, or a version number -> a version."""
    if baseline == "production":
        found = ws.registry.get_model(name).production_version
        if found is None:
            raise NotFound(
                f"model {name!r} has no version in production to compare with; pass "
                "--compare-baseline VERSION",
                field="compare_baseline",
            )
        return found
    try:
        info = ws.registry.get_version(name, baseline)
    except NotFound as exc:
        raise NotFound(
            f"model {name!r} has no version or alias {baseline!r} to compare with; set one with "
            f"`modelward alias set {name} {baseline} VERSION` or pass a version number",
            field="compare_baseline",
        ) from exc
    if info.version == version:
        raise DataError(
            f"{name}:{version} is itself the baseline {baseline!r}; pick another version",
            field="compare_baseline",
        )
    return info.version


def _summary(scored: Scored, resamples: int, seed: int) -> dict[str, Any]:
    data = scored.data
    out: dict[str, Any] = {
        "rows": data.n,
        "positives": int(data.y_true.sum()),
        "metrics": bootstrap_metrics(data, resamples=resamples, seed=seed),
        "confusion": confusion(data),
    }
    if data.y_score is not None:
        out["calibration"] = calibration_table(data.y_true, data.y_score)
        out["thresholds"] = threshold_table(
            data.y_true, data.y_score, resamples=resamples, seed=seed
        )
    return out


def _groups(scored: Scored, column: str, resamples: int, seed: int) -> dict[str, Any]:
    if column not in scored.frame.columns:
        shown = ", ".join(map(str, scored.frame.columns[:15]))
        raise DataError(
            f"--by {column!r}: the data has no such column; its columns are {shown}",
            field="by",
        )
    values = _grouping(scored.frame[column])
    out: dict[str, Any] = {}
    data = scored.data
    for value in values.dropna().unique():
        mask = (values == value).to_numpy()
        if mask.sum() < MIN_GROUP_ROWS:
            continue
        part = BinaryData.of(
            data.y_true[mask],
            data.y_pred[mask],
            None if data.y_score is None else data.y_score[mask],
        )
        out[_key(value)] = {
            "rows": part.n,
            "positives": int(part.y_true.sum()),
            "metrics": bootstrap_metrics(part, resamples=resamples, seed=seed),
            "confusion": confusion(part),
        }
    return dict(sorted(out.items()))


def _grouping(series: Any) -> Any:
    """Codes and categories as they are; a many-valued number cut at its quartiles."""
    import pandas as pd

    numeric = pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)
    if not numeric or series.nunique() <= CATEGORICAL_MAX_LEVELS:
        return series
    edges = sorted(set(series.quantile([0, 0.25, 0.5, 0.75, 1]).tolist()))
    labels = [f"{_key(a)}-{_key(b)}" for a, b in zip(edges, edges[1:], strict=False)]
    return pd.cut(series, edges, labels=labels, include_lowest=True).astype("string")


def evaluate_version(
    ws: Workspace,
    name: str,
    version: int | str,
    data: pd.DataFrame | Path | str,
    *,
    data_ref: str | None = None,
    target: str | None = None,
    by: str | None = None,
    baseline: str | None = None,
    resamples: int = 1000,
    seed: int = 0,
    report: Path | str | None = None,
    progress: Progress = NO_PROGRESS,
    record: bool = True,
) -> Evaluation:
    """Evaluate a version on labelled data and (by default) store an ``evaluation`` run.

    ``data`` is a DataFrame, or a file or dataset spec to read (``data_ref`` names it in
    the run; a file is named by its path). ``report`` also writes the HTML report there
    (the path is checked before any work)."""
    if report is not None:
        check_report_path(report)
    if resamples < 100:
        raise DataError(
            f"--resamples {resamples} is too few for a 95 % interval; use at least 100",
            field="resamples",
        )
    frame, data_ref = read_source(data, data_ref)
    with progress.task("scoring", total=1) as advance:
        scored = score_version(ws, name, version, frame, target=target)
        advance()
    info = scored.version
    base_scored = None
    base_version = None
    if baseline is not None:
        base_version = resolve_baseline(ws, name, info.version, baseline)
        base_scored = score_version(ws, name, base_version, frame, target=target)
    with progress.task("bootstrap", total=1) as advance:
        results: dict[str, Any] = {
            "model": name,
            "version": info.version,
            "data": data_ref,
            "target": target_for(ws, info, target),
            "positive_class": str(scored.positive),
            "dropped_unlabelled": scored.dropped_unlabelled,
            **_summary(scored, resamples, seed),
        }
        advance()
    if by:
        results["by"] = by
        results["groups"] = _groups(scored, by, resamples, seed)
    verdict = "info"
    if base_scored is not None:
        with progress.task("paired comparison", total=1) as advance:
            comparison = compare_paired(
                scored.data.y_true, base_scored.data, scored.data, resamples=resamples, seed=seed
            )
            advance()
        comparison["baseline"] = {"version": base_version, "requested": baseline}
        results["comparison"] = comparison
        verdict = "warn" if comparison["verdict"] in ("worse", "mixed") else "pass"
    evaluation = Evaluation(results, scored, base_scored)
    if record:
        evaluation.run_id = ws.registry.record(
            "evaluation",
            results,
            model=name,
            version=info.version,
            inputs={
                "data": data_ref,
                "rows": scored.data.n,
                "target": results["target"],
                "by": by,
                "baseline": baseline,
                "resamples": resamples,
                "seed": seed,
            },
            verdict=verdict,
        )
    if report is not None:
        write_html(report, evaluation_document(evaluation))
    return evaluation
