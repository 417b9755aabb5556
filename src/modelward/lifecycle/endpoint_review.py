"""The retirement criteria of an endpoint model (LLM runbook, section 5.2), for
``lifecycle review``: accuracy below ``retirement.min_accuracy`` (0.80), p95 response time
above ``retirement.endpoint_max_p95_s`` (15 s), cost per query above
``retirement.endpoint_max_cost_per_query`` (0.15), error rate above
``retirement.max_error_rate`` (0.10), users' mean rating below ``llm.min_satisfaction``
(0.60; on the log only, from ``min_labels`` ratings); a newer version ``better_by`` (20 %)
more accurate or ``cheaper_by`` (30 %) cheaper per query.

Each number comes from the prediction log's window when it holds enough evidence (the
rollout's ``min_samples`` calls, ``min_labels`` labelled ones for accuracy), else from the
version's latest ``llm-evaluation`` run. An endpoint's labelled calls are those a person
marked ``correct`` or not through the gateway's feedback. Newer versions are compared on
their latest evaluations of the same dataset.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from modelward.policy import Policy
    from modelward.registry.records import RunInfo, VersionInfo
    from modelward.rollout.ports import WindowStats
    from modelward.workspace import Workspace

__all__ = ["EVALUATION_RUN", "endpoint_evidence"]

EVALUATION_RUN = "llm-evaluation"


@dataclass(frozen=True)
class Measured:
    """One number and where it was measured (``on the log's last 7d``, ``in run #3``)."""

    value: float
    where: str


def endpoint_evidence(
    ws: Workspace,
    effective: Policy,
    info: VersionInfo,
    newer: list[VersionInfo],
    stats: WindowStats,
    window: str,
) -> list[str]:
    policy, rollout = effective.retirement, effective.rollout
    run = latest_evaluation(ws, info)
    log = f"in the log's last {window}"
    calls = stats.requests >= rollout.min_samples
    accuracy = (
        Measured(stats.accuracy, f"on {stats.labelled} labelled calls")
        if stats.labelled >= rollout.min_labels and stats.accuracy is not None
        else _from_run(run, "accuracy")
    )
    p95_s = (
        Measured(stats.p95_latency_ms / 1000, log)
        if calls and stats.p95_latency_ms is not None
        else _from_run(run, "response_time", "p95")
    )
    cost = (
        Measured(stats.cost_per_query, log)
        if stats.cost_rows and stats.cost_per_query is not None
        else _from_run(run, "cost", "per_query")
    )
    errors = (
        Measured(stats.error_rate, log)
        if calls and stats.error_rate is not None
        else _from_run(run, "error_rate")
    )
    reasons = []
    if accuracy and accuracy.value < policy.min_accuracy:
        reasons.append(
            f"accuracy {accuracy.value:.3f} {accuracy.where} is below {policy.min_accuracy:.2f}"
        )
    if p95_s and p95_s.value > policy.endpoint_max_p95_s:
        reasons.append(
            f"p95 response time {p95_s.value:.2f} s {p95_s.where} is above "
            f"{policy.endpoint_max_p95_s:g} s"
        )
    if cost and cost.value > policy.endpoint_max_cost_per_query:
        reasons.append(
            f"cost per query {cost.value:.4f} {cost.where} is above "
            f"{policy.endpoint_max_cost_per_query:g}"
        )
    if errors and errors.value > policy.max_error_rate:
        reasons.append(
            f"error rate {errors.value:.1%} {errors.where} is above {policy.max_error_rate:.0%}"
        )
    floor = effective.llm.min_satisfaction
    if stats.ratings >= rollout.min_labels and stats.satisfaction is not None:
        if stats.satisfaction < floor:
            reasons.append(
                f"user satisfaction {stats.satisfaction:.2f} on {stats.ratings} ratings {log} "
                f"is below {floor:.2f}"
            )
    reasons.extend(_newer(ws, effective, run, newer))
    return reasons


def latest_evaluation(ws: Workspace, info: VersionInfo) -> RunInfo | None:
    runs = ws.registry.list_runs(
        model=info.model, version=info.version, kinds=[EVALUATION_RUN], limit=1
    )
    return runs[0] if runs else None


def _value(run: RunInfo | None, *path: str) -> float | None:
    """A metric of an ``llm-evaluation`` run (``{"value": …, "low": …}`` or a number)."""
    if run is None:
        return None
    found: Any = (run.results or {}).get("metrics") or {}
    for key in path:
        found = found.get(key) if isinstance(found, dict) else None
    if isinstance(found, dict):
        found = found.get("value")
    return float(found) if isinstance(found, int | float) and not isinstance(found, bool) else None


def _from_run(run: RunInfo | None, *path: str) -> Measured | None:
    value = _value(run, *path)
    if value is None or run is None:
        return None
    return Measured(value, f"in evaluation run #{run.id}")


def _newer(
    ws: Workspace, effective: Policy, mine: RunInfo | None, newer: list[VersionInfo]
) -> list[str]:
    """A newer version's evaluation on the same dataset: more accurate by ``better_by``, or
    cheaper per query by ``cheaper_by``."""
    policy = effective.retirement
    if mine is None:
        return []
    my_accuracy, my_cost = _value(mine, "accuracy"), _value(mine, "cost", "per_query")
    dataset = mine.inputs.get("dataset")
    for other in newer:
        theirs = latest_evaluation(ws, other)
        if theirs is None or theirs.inputs.get("dataset") != dataset:
            continue
        on = f"run #{theirs.id} against #{mine.id}" + (f", on {dataset}" if dataset else "")
        accuracy = _value(theirs, "accuracy")
        if my_accuracy and accuracy is not None:
            gain = (accuracy - my_accuracy) / my_accuracy
            if gain >= policy.better_by:
                return [f"version {other.version} is {gain:.0%} more accurate ({on})"]
        cost = _value(theirs, "cost", "per_query")
        if my_cost and cost is not None:
            saving = 1 - cost / my_cost
            if saving >= policy.cheaper_by:
                return [f"version {other.version} is {saving:.0%} cheaper per query ({on})"]
    return []
