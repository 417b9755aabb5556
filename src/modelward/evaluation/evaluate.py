"""``evaluate``: every metric with a bootstrap interval, per group, against a baseline."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data.io import read_source
from modelward.data.profile import CATEGORICAL_MAX_LEVELS, _key
from modelward.errors import DataError, NotFound
from modelward.evaluation.compare import compare_classes, compare_paired, compare_regression
from modelward.evaluation.metrics import (
    BinaryData,
    bootstrap_metrics,
    calibration_table,
    confusion,
    threshold_table,
)
from modelward.evaluation.multiclass import ClassData, multiclass_summary
from modelward.evaluation.regression import RegressionData, regression_summary
from modelward.evaluation.report import evaluation_document
from modelward.evaluation.result import Evaluation
from modelward.evaluation.scoring import Scored, score_version, target_for
from modelward.evaluation.tasks import BINARY, MULTICLASS, REGRESSION, TABULAR_TASKS
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
    """The task's metrics with intervals and the tables that go with them."""
    if scored.task == MULTICLASS:
        return multiclass_summary(scored.data, resamples=resamples, seed=seed)
    if scored.task == REGRESSION:
        return regression_summary(scored.data, resamples=resamples, seed=seed)
    return _binary_summary(scored.data, resamples, seed)


def _binary_summary(data: BinaryData, resamples: int, seed: int) -> dict[str, Any]:
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
    for value in values.dropna().unique():
        mask = (values == value).to_numpy()
        if mask.sum() < MIN_GROUP_ROWS:
            continue
        out[_key(value)] = _group_summary(scored, mask, resamples, seed)
    return dict(sorted(out.items()))


def _group_summary(scored: Scored, mask: Any, resamples: int, seed: int) -> dict[str, Any]:
    data = scored.data
    if scored.task == REGRESSION:
        part = RegressionData.of(data.y_true[mask], data.y_pred[mask])
        return {
            "rows": part.n,
            **_metrics_only(regression_summary(part, resamples=resamples, seed=seed)),
        }
    if scored.task == MULTICLASS:
        proba = None if data.proba is None else data.proba[mask]
        sub = ClassData(data.classes, data.y_true[mask], data.y_pred[mask], proba)
        found = multiclass_summary(sub, resamples=resamples, seed=seed)
        return {"rows": sub.n, "metrics": found["metrics"], "confusion": found["confusion"]}
    binary = BinaryData.of(
        data.y_true[mask],
        data.y_pred[mask],
        None if data.y_score is None else data.y_score[mask],
    )
    return {
        "rows": binary.n,
        "positives": int(binary.y_true.sum()),
        "metrics": bootstrap_metrics(binary, resamples=resamples, seed=seed),
        "confusion": confusion(binary),
    }


def _metrics_only(summary: dict[str, Any]) -> dict[str, Any]:
    return {"metrics": summary["metrics"]}


def _compare(scored: Scored, base: Scored, resamples: int, seed: int) -> dict[str, Any]:
    if scored.task != base.task:
        raise DataError(
            f"{scored.version.ref} and the baseline {base.version.ref} do different tasks "
            f"({scored.task}, {base.task}); compare versions of one task",
            field="compare_baseline",
        )
    if scored.task == MULTICLASS:
        if [_key(c) for c in scored.data.classes] != [_key(c) for c in base.data.classes]:
            raise DataError(
                f"{scored.version.ref} and the baseline {base.version.ref} know different "
                "classes; a paired comparison needs the same ones",
                field="compare_baseline",
            )
        return compare_classes(base.data, scored.data, resamples=resamples, seed=seed)
    if scored.task == REGRESSION:
        return compare_regression(base.data, scored.data, resamples=resamples, seed=seed)
    return compare_paired(
        scored.data.y_true, base.data, scored.data, resamples=resamples, seed=seed
    )


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
    positive_class: str | None = None,
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
    (the path is checked before any work). The metrics follow the model's task (binary,
    multiclass or regression); a binary classifier's positive class is ``positive_class``,
    else the one recorded with the version, else the second of the sorted classes (the
    results say which, and how it was chosen)."""
    if report is not None:
        check_report_path(report)
    if resamples < 100:
        raise DataError(
            f"--resamples {resamples} is too few for a 95 % interval; use at least 100",
            field="resamples",
        )
    frame, data_ref = read_source(data, data_ref)
    with progress.task("scoring", total=1) as advance:
        scored = score_version(
            ws,
            name,
            version,
            frame,
            target=target,
            positive_class=positive_class,
            tasks=TABULAR_TASKS,
        )
        advance()
    info = scored.version
    base_scored = None
    base_version = None
    if baseline is not None:
        base_version = resolve_baseline(ws, name, info.version, baseline)
        base_scored = score_version(
            ws,
            name,
            base_version,
            frame,
            target=target,
            positive_class=scored.positive,
            tasks=TABULAR_TASKS,
        )
    with progress.task("bootstrap", total=1) as advance:
        results: dict[str, Any] = {
            "model": name,
            "version": info.version,
            "data": data_ref,
            "target": target_for(ws, info, target),
            "task": scored.task,
            "dropped_unlabelled": scored.dropped_unlabelled,
            **_summary(scored, resamples, seed),
        }
        if scored.task == BINARY:
            results["positive_class"] = str(scored.positive)
            results["positive_class_source"] = scored.positive_source
        advance()
    if by:
        results["by"] = by
        results["groups"] = _groups(scored, by, resamples, seed)
    verdict = "info"
    if base_scored is not None:
        with progress.task("paired comparison", total=1) as advance:
            comparison = _compare(scored, base_scored, resamples, seed)
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
                "positive_class": results.get("positive_class"),
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
