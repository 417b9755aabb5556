"""The metrics check: the model's metrics on the window's labelled predictions, per
version, with label coverage and 95 % intervals, against thresholds.

The window's predictions and their latest labels are read once (above
``metrics.SAMPLE_ROWS`` predictions: a consistent hash sample of the requests, both sides
of the join; every request when the sample would hold fewer than ``metrics.CI_SAMPLE``
labels of some version). Predictions and labelled predictions per version (label
coverage) are exact counts over every request either way: the labelled ones by a
semi-join with the feedback files. Binary values and intervals above ``metrics.CI_ROWS``
labels come from the engine's counts over every labelled row (confusion counts; rows and
positives per distinct score for ROC-AUC: :mod:`..confusion`); below, and for other tasks,
from the rows themselves (:mod:`..metrics`).
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

import modelward.monitoring.metrics as measures
from modelward.errors import ConfigError
from modelward.monitoring.checks.base import Check
from modelward.monitoring.confusion import auc_entry, cells, ratio_entries
from modelward.monitoring.result import CheckResult, Findings, given, optional
from modelward.monitoring.window import Window
from modelward.predlog.engine import Scan, count_where, literal

if TYPE_CHECKING:
    from modelward.monitoring.context import Context
    from modelward.policy import Policy

__all__ = [
    "MetricValue",
    "Metrics",
    "MetricsResult",
    "VersionMetrics",
    "labelled_window",
    "positive_class",
]

#: what the window holds of each prediction (and its label)
HELD = ["ts", "version", "status", "prediction", "score"]
ROWS = ["ts", "version", "prediction", "score", "label"]
OK = ("ok",)


@dataclass
class MetricValue:
    value: float | None
    low: float | None
    high: float | None
    note: str | None = optional()
    status: str | None = optional()  # pass | fail, when the metric has a threshold


@dataclass
class Sampled:
    """The share of requests a large window's metrics are computed on."""

    rate: float
    labelled: int  # labels in the sample


@dataclass
class VersionMetrics:
    predictions: int
    labelled: int
    label_coverage: float
    status: str = "pass"  # pass | fail | insufficient
    sample: Sampled | None = optional()
    reason: str | None = optional()  # why it is insufficient
    metrics: dict[str, MetricValue] | None = optional()


@dataclass(kw_only=True)
class MetricsResult(CheckResult):
    check: ClassVar[str] = "metrics"
    window: Window = given()
    environment: str | None = given()
    metrics: list[str] = given()
    thresholds: dict[str, float] = given()
    min_labels: int = given()
    use_lower_ci: bool = given()
    versions: dict[str, VersionMetrics] = field(default_factory=dict)
    positive_label: str | None = None
    insufficient: list[str] = field(default_factory=list)


@dataclass
class Metrics(Check[MetricsResult]):
    """Metrics on the labelled predictions of the window, per version (with label
    coverage and CIs) against thresholds (default: ``policy.thresholds``)."""

    name: ClassVar[str] = "metrics"
    metrics: list[str] | None = None
    thresholds: list[float] | None = None

    def run(self, context: Context) -> MetricsResult:
        assert context.model is not None and context.window is not None
        names = measures.resolve_metrics(context.model.task, self.metrics)
        limits = thresholds_for(names, self.thresholds, context.policy, context.model.task)
        findings = Findings()
        with labelled_window(context) as (held, rate):
            counts = sorted(
                context.log.aggregate(
                    held.only(status=OK),
                    ["version", "count(*)", "count(label)"],
                    group_by="version",
                )
            )
            positive = None
            if context.model.task == "binary-classification":
                positive = positive_class(context, [int(v) for v, *_ in counts])
            totals = context.served() if rate < 1.0 else {}
            answered = labelled_counts(context) if rate < 1.0 else {}
            versions = {
                f"v{int(v)}": _version(
                    context,
                    held,
                    int(v),
                    (totals.get(int(v), n), answered.get(int(v), k), k, rate),
                    positive,
                    names,
                    limits,
                    findings,
                )  # fmt: skip
                for v, n, k in counts
            }
            census = {} if counts else context.log.census(held)
        if not counts:
            findings.short(_nothing_answered(context, census))
        policy = context.policy.thresholds
        return MetricsResult(
            model=context.name, **findings.outcome(), window=context.window,
            environment=context.environment, metrics=names, thresholds=limits,
            min_labels=policy.min_labels, use_lower_ci=policy.use_lower_ci,
            versions=versions, positive_label=positive, insufficient=findings.lacking,
        )  # fmt: skip


def _nothing_answered(context: Context, census: dict[tuple[int | None, str | None], int]) -> str:
    """Why a window has no answered predictions: none arrived, or every one failed."""
    assert context.window is not None
    window = context.window.label()
    failed = {status: 0 for _, status in census}
    for (_, status), n in census.items():
        failed[status] += n
    if not failed:
        return f"no predictions in {window}"
    ordered = sorted(failed.items(), key=str)
    counts = ", ".join(f"{n} {status or 'unknown'}" for status, n in ordered)
    return (
        f"every request failed in {window} ({counts}); see `modelward monitor predictions "
        f"{context.name}` and the server's log"
    )


@contextmanager
def labelled_window(context: Context) -> Iterator[tuple[Scan, float]]:
    """The window's predictions with their labels, read and joined once: above
    ``SAMPLE_ROWS`` predictions a consistent hash sample of the requests, unless it would
    hold fewer than ``CI_SAMPLE`` labels of some version (sparse labels, a version with
    little traffic): then every request. Columns :data:`HELD` and ``label``; within the
    reader's ``sharing`` scope the report's series reads the same table."""
    scan = context.scan(labels=True)
    rate = context.log.rate(scan, measures.SAMPLE_ROWS)
    if rate < 1.0:
        with context.log.materialise(scan.only(rate=rate), HELD) as held:
            labels = context.log.aggregate(
                held.only(status=OK), ["count(label)"], group_by="version"
            )
            if not labels or min(k for (k,) in labels) >= measures.CI_SAMPLE:
                yield held, rate
                return
    with context.log.materialise(scan, HELD) as held:
        yield held, 1.0


def _version(
    context: Context,
    held: Scan,
    version: int,
    counted: tuple[int, int, int, float],
    positive: str | None,
    names: list[str],
    limits: dict[str, float],
    findings: Findings,
) -> VersionMetrics:
    """One version's coverage and metrics, judged against ``limits``: ``counted`` is its
    predictions and labelled predictions in the window (exact counts), the labelled ones
    in the sample the metrics are computed on, and the sample's rate."""
    total, labelled, sampled, rate = counted
    coverage = labelled / total if total else 0.0
    entry = VersionMetrics(int(total), int(labelled), coverage)
    if rate < 1.0:
        entry.sample = Sampled(rate, int(sampled))
    tag, policy = f"v{version}", context.policy.thresholds
    if labelled < policy.min_labels:
        entry.status = "insufficient"
        entry.reason = (
            f"{tag}: too few labels to judge: {labelled} labelled of {total} "
            f"predictions (coverage {coverage:.1%}), need {policy.min_labels}"
        )
        findings.short(entry.reason)
        return entry
    scan = held.only(version=version, status=OK, labelled=True)
    assert context.model is not None
    values = _values(context, scan, context.model.task, names, positive, sampled)
    entry.metrics = {name: MetricValue(**found) for name, found in values.items()}
    if _judge(entry.metrics, limits, policy, tag, labelled, findings):
        entry.status = "fail"
    return entry


def _values(
    context: Context,
    scan: Scan,
    task: str,
    names: list[str],
    positive: str | None,
    labelled: int,
) -> dict[str, dict[str, Any]]:
    """The metrics of a version's labelled rows, with their intervals. Rows in time order
    (ties by request): the bootstrap's draws must not depend on the order a parallel scan
    returns them in."""
    if positive is not None and labelled > measures.CI_ROWS:
        return binary_values(context, scan, positive, names)
    rows = context.log.rows(scan, ROWS, order="ts", limit=labelled)
    return measures.compute_metrics(rows, task, names, positive=positive)


def labelled_counts(context: Context) -> dict[int, int]:
    """version -> answered predictions of the window that have a label, every request
    counted (a semi-join with the feedback files, no label read): label coverage is an
    exact count even when the metrics are computed on a hash sample."""
    joined = context.scan(labels=True)
    scan = joined.only(labels=None, answered=joined.labels or (), status=OK)
    found = context.log.aggregate(scan, ["version", "count(*)"], group_by="version")
    return {int(v): int(n) for v, n in found if v is not None}


def binary_values(
    context: Context, scan: Scan, positive: str, names: list[str]
) -> dict[str, dict[str, Any]]:
    """``name -> {value, low, high}`` over every labelled row of ``scan``, from counts:
    accuracy, precision, recall and F1 from the confusion counts, their interval the
    bootstrap of those counts; ROC-AUC and DeLong's interval from the rows and positives
    at each distinct score (:mod:`..confusion`). Two grouped passes, and no row leaves
    the engine."""

    pos, log = literal(positive), context.log
    judged = scan.only(where=["prediction IS NOT NULL"])
    ((n, same, hit, said, tp, scored),) = log.aggregate(
        judged,
        [
            "count(*)",
            count_where("label = prediction"),
            count_where(f"label = {pos}"),
            count_where(f"prediction = {pos}"),
            count_where(f"label = {pos} AND prediction = {pos}"),
            "count(score)",
        ],
    )
    out = ratio_entries(cells(n, same, hit, said, tp), names)
    if "roc_auc" in names:
        out["roc_auc"] = (  # from the scores, when every judged row has one
            _auc(context, judged, pos, n) if scored == n else measures.unknown(measures.NO_SCORES)
        )
    return {name: out[name] for name in names}


def _auc(context: Context, judged: Scan, pos: str, n: int) -> dict[str, Any]:
    """ROC-AUC with DeLong's interval from the rows and positives at each distinct score."""
    import numpy as np

    groups = context.log.aggregate_columns(
        judged, ["score", f"{count_where(f'label = {pos}')} AS hits", "count(*) AS rows"],
        group_by="score",
    )  # fmt: skip
    scores = np.asarray(groups.get("score", []), dtype="float64")
    hits = np.asarray(groups.get("hits", []), dtype="int64")
    rows = np.asarray(groups.get("rows", []), dtype="int64")
    if n > measures.AUC_ROUND_ROWS and len(scores):  # ties at 1e-6 share a rank
        scores, inverse = np.unique(np.round(scores, 6), return_inverse=True)
        hits, rows = np.bincount(inverse, hits), np.bincount(inverse, rows)
    return auc_entry(scores, hits, rows)


def _judge(
    values: dict[str, MetricValue],
    limits: dict[str, float],
    policy: Any,
    tag: str,
    labelled: int,
    findings: Findings,
) -> bool:
    """Each metric with a threshold against it (with ``use_lower_ci`` its interval's
    bound on the wrong side); True when one breached. Critical when a whole interval is
    on the wrong side."""
    breached = False
    for metric, limit in limits.items():
        found = values[metric]
        if found.value is None:
            continue
        lower = metric in measures.LOWER_IS_BETTER
        judged = found.value
        if policy.use_lower_ci and found.low is not None and not lower:
            judged = found.low
        if policy.use_lower_ci and found.high is not None and lower:
            judged = found.high
        bad = judged > limit if lower else judged < limit
        found.status = "fail" if bad else "pass"
        if not bad:
            continue
        breached = True
        ci = f" [95% CI {found.low:.3f}, {found.high:.3f}]" if found.low is not None else ""
        whole = found.low if lower else found.high
        findings.breach(
            f"{tag} {metric} {found.value:.3f}{ci} {'>' if lower else '<'} {limit:.2f} "
            f"(n={labelled} labelled)",
            f"{tag}:{metric}",
            critical=whole is not None and (whole > limit if lower else whole < limit),
        )
    return breached


def thresholds_for(
    names: list[str], given: list[float] | None, policy: Policy, task: str
) -> dict[str, float]:
    """One threshold per metric: those given (checked: rates and AUC in 0..1, r2 up to 1,
    errors >= 0), else the policy's for the model's task (``thresholds``,
    ``thresholds.multiclass``, ``thresholds.regression``; an unset error limit: none)."""
    if not given:
        defaults = {limit.metric: limit.value for limit in policy.thresholds.limits(task)}
        return {n: defaults[n] for n in names if n in defaults}
    if len(given) != len(names):
        raise ConfigError(
            f"--thresholds has {len(given)} value(s) for {len(names)} metric(s) "
            f"({', '.join(names)}); give one threshold per metric, in the same order",
            field="thresholds",
        )
    for metric, value in zip(names, given, strict=True):
        value = float(value)
        top = math.inf if metric in measures.LOWER_IS_BETTER else 1.0
        bottom = -math.inf if metric == "r2" else 0.0
        if not (math.isfinite(value) and bottom <= value <= top):
            span = "a number >= 0" if top == math.inf else f"a number up to {top:g}"
            if bottom == 0.0 and top == 1.0:
                span = "a number from 0 to 1"
            raise ConfigError(
                f"--thresholds {value:g} for {metric} is not {span}; e.g. "
                "--metrics accuracy,auc --thresholds 0.80,0.85",
                field="thresholds",
            )
    return dict(zip(names, (float(v) for v in given), strict=True))


def positive_class(context: Context, versions: list[int]) -> str | None:
    """The positive class of the newest version that served: the one it declares (its
    ``positive_class`` tag, else the model's policy), else scikit-learn's (the last sorted
    label of its training labels) — the class serving's ``score`` is the probability of."""
    reference = context.reference(max(versions) if versions else None)
    declared = reference.info.tags.get("positive_class", context.policy.positive_class)
    if declared is not None:
        return str(declared)
    labels = list(reference.profile.get("target_counts", {}))
    return measures.positive_label(labels) if labels else None
