"""``modelward lifecycle review``: the retirement criteria of the policy, applied.

For each version in production, maintenance or deprecated, the evidence is gathered —
labelled accuracy, p95 latency, error rate and cost per query from the prediction log
over a window (falling back to the version's recorded metrics), newer versions that are
significantly better or cheaper, and failed ``bias``/``security`` runs — and a move is
proposed: production → maintenance, maintenance → deprecated, deprecated → retired.
Endpoint models are judged on their own criteria (:mod:`.endpoint_review`: response time
in seconds, cost per query, and their ``llm-evaluation`` runs).
``apply`` performs them; a version leaves every deployment before it is retired. Moving
to deprecated sends the deprecation notice, and retiring passes the retirement gates
(no traffic for ``lifecycle.migration_days``, log rows archived): the registry does both.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from modelward.lifecycle.endpoint_review import endpoint_evidence
from modelward.lifecycle.protection import direction
from modelward.registry.actor import default_actor
from modelward.registry.gates import run_gates
from modelward.registry.records import metric_value
from modelward.registry.stages import Stage
from modelward.rollout.metrics import PredictionLogMetrics
from modelward.rollout.traffic import default_traffic
from modelward.timeutil import parse_duration, utcnow

if TYPE_CHECKING:
    from modelward.policy import Policy
    from modelward.registry.records import VersionInfo
    from modelward.rollout.ports import MetricsPort, TrafficPort, WindowStats
    from modelward.workspace import Workspace

__all__ = ["FINDING_KINDS", "Proposal", "apply_review", "review"]

FINDING_KINDS = ("bias", "security")
NEXT = {"production": "maintenance", "maintenance": "deprecated", "deprecated": "retired"}


@dataclass(frozen=True)
class Proposal:
    model: str
    version: int
    stage: str
    to: str | None
    reasons: tuple[str, ...]
    blocked: str | None = None
    applied: bool = False

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["reasons"] = list(self.reasons)
        return out


def _evidence(
    ws: Workspace,
    info: VersionInfo,
    newer: list[VersionInfo],
    metrics: MetricsPort,
    window: str,
) -> list[str]:
    effective = ws.policy_for(info.model)
    now = utcnow()
    span = parse_duration(window, what="--window")
    stats = metrics.window(info.model, "production", info.version, now - span, now)
    if info.kind == "endpoint":
        reasons = endpoint_evidence(ws, effective, info, newer, stats, window)
    else:
        reasons = _tabular_evidence(ws, effective, info, newer, stats)
    for kind in FINDING_KINDS:
        runs = ws.registry.list_runs(model=info.model, version=info.version, kinds=[kind], limit=1)
        if runs and runs[0].verdict == "fail":
            reasons.append(f"{kind} finding in run #{runs[0].id}")
    return reasons


def _tabular_evidence(
    ws: Workspace,
    effective: Policy,
    info: VersionInfo,
    newer: list[VersionInfo],
    stats: WindowStats,
) -> list[str]:
    policy, rollout = effective.retirement, effective.rollout
    task = ws.registry.get_model(info.model).task
    quality = _error_evidence if task == "regression" else _accuracy_evidence
    reasons = quality(effective, info, stats)
    if stats.requests >= rollout.min_samples:
        if stats.error_rate is not None and stats.error_rate > policy.max_error_rate:
            reasons.append(
                f"error rate {stats.error_rate:.1%} is above {policy.max_error_rate:.0%}"
            )
        if stats.p95_latency_ms is not None and stats.p95_latency_ms > policy.max_p95_latency_ms:
            reasons.append(
                f"p95 latency {stats.p95_latency_ms:.0f} ms is above "
                f"{policy.max_p95_latency_ms:g} ms"
            )
    cost = stats.cost_per_query if stats.cost_rows else metric_value(info.metrics, "cost_per_query")
    if isinstance(cost, int | float) and cost > policy.max_cost_per_query:
        reasons.append(f"cost per query {cost:.4g} is above {policy.max_cost_per_query:g}")
    metric = effective.retention.metric
    if metric_value(info.metrics, metric) is None:
        metric = TASK_METRIC.get(task, metric)
    mine = metric_value(info.metrics, metric)
    for other in newer:
        theirs = metric_value(other.metrics, metric)
        if isinstance(mine, int | float) and isinstance(theirs, int | float) and mine:
            gain = (theirs - mine) / abs(mine) * direction(metric)
            if gain >= policy.better_by:
                reasons.append(f"version {other.version} is {gain:.0%} better by {metric}")
                break
        my_cost, their_cost = (
            metric_value(info.metrics, "cost_per_query"),
            metric_value(other.metrics, "cost_per_query"),
        )
        if isinstance(my_cost, int | float) and isinstance(their_cost, int | float) and my_cost:
            saving = 1 - their_cost / my_cost
            if saving >= policy.cheaper_by:
                reasons.append(f"version {other.version} is {saving:.0%} cheaper per query")
                break
    return reasons


#: The metric newer versions are compared on when the version lacks ``retention.metric``
#: (its default, roc_auc, is a binary classifier's).
TASK_METRIC = {"regression": "mae", "multiclass-classification": "balanced_accuracy"}


def _accuracy_evidence(effective: Policy, info: VersionInfo, stats: WindowStats) -> list[str]:
    policy, rollout = effective.retirement, effective.rollout
    labelled = stats.labelled >= rollout.min_labels
    accuracy = stats.accuracy if labelled else metric_value(info.metrics, "accuracy")
    where = "on labelled traffic" if labelled else "recorded"
    if isinstance(accuracy, int | float) and accuracy < policy.min_accuracy:
        return [f"accuracy {accuracy:.3f} {where} is below {policy.min_accuracy:.2f}"]
    return []


def _error_evidence(effective: Policy, info: VersionInfo, stats: WindowStats) -> list[str]:
    """A regressor: its mean absolute error on labelled traffic against the one recorded
    at evaluation, with the rollout's allowance (``max_abs_error_increase``)."""
    rollout = effective.rollout
    recorded = metric_value(info.metrics, "mae")
    now = stats.abs_error_mean
    if stats.labelled < rollout.min_labels or now is None or not recorded:
        return []
    if now > recorded * (1 + rollout.max_abs_error_increase):
        return [
            f"mean absolute error {now:.4g} on labelled traffic is more than "
            f"{rollout.max_abs_error_increase:.0%} above the recorded {recorded:.4g}"
        ]
    return []


def review(
    ws: Workspace,
    name: str | None = None,
    *,
    window: str = "7d",
    metrics: MetricsPort | None = None,
    traffic: TrafficPort | None = None,
) -> list[Proposal]:
    """Proposed moves (with reasons) for every version past development; changes nothing."""
    parse_duration(window, what="--window")  # a bad window is an error before any work
    metrics = metrics or PredictionLogMetrics(ws.logs_url, wal=ws.layout.wal)
    traffic = traffic or default_traffic(ws)
    names = [name] if name else [m.name for m in ws.registry.list_models()]
    proposals: list[Proposal] = []
    for model in names:
        versions = ws.registry.list_versions(model)
        live = {v.version for v in versions if v.stage not in ("deprecated", "retired")}
        for info in versions:
            if info.stage not in NEXT:
                continue
            newer = [v for v in versions if v.version > info.version and v.version in live]
            reasons = _evidence(ws, info, newer, metrics, window)
            if info.stage == "deprecated":
                reasons = reasons or ["deprecated: due for retirement"]
            blocked = (
                _blocker(ws, info, traffic) if reasons and NEXT[info.stage] == "retired" else None
            )
            proposals.append(
                Proposal(
                    model,
                    info.version,
                    info.stage,
                    NEXT[info.stage] if reasons else None,
                    tuple(reasons),
                    blocked,
                )  # fmt: skip
            )
    return proposals


def _blocker(ws: Workspace, info: VersionInfo, traffic: TrafficPort) -> str | None:
    if info.aliases:
        return f"alias {', '.join(info.aliases)} points at it; move the alias first"
    for env in ("production", "staging"):
        state = traffic.current(info.model, env)
        if state.versions == {info.version}:
            return f"it is the only version serving {env}; deploy a replacement first"
    # the retirement gates (migration, archive): told here, before any traffic moves
    failed = [g for g in run_gates(ws.registry, info, Stage.RETIRED) if not g.passed]
    return f"gate {failed[0].name}: {failed[0].detail}" if failed else None


def apply_review(
    ws: Workspace,
    name: str | None = None,
    *,
    window: str = "7d",
    actor: str | None = None,
    metrics: MetricsPort | None = None,
    traffic: TrafficPort | None = None,
) -> list[Proposal]:
    """Perform the proposed moves; a retiring version is first removed from deployments."""
    actor = actor or default_actor()
    traffic = traffic or default_traffic(ws)
    done: list[Proposal] = []
    for p in review(ws, name, window=window, metrics=metrics, traffic=traffic):
        if p.to is None or p.blocked:
            done.append(p)
            continue
        reason = "lifecycle review: " + "; ".join(p.reasons)
        if p.to == "retired":
            for env in ("production", "staging"):
                state = traffic.current(p.model, env)
                if p.version in state.versions:
                    rest = [(v, w) for v, w in state.targets if v != p.version and w > 0]
                    total = sum(w for _, w in rest)
                    traffic.set_targets(
                        p.model, env, [(v, w * 100 / total) for v, w in rest],
                        reason=f"{p.model}:{p.version} retiring", actor=actor,
                        expected_revision=state.revision,
                    )  # fmt: skip
        ws.registry.transition(p.model, p.version, p.to, reason=reason, actor=actor)
        done.append(Proposal(p.model, p.version, p.stage, p.to, p.reasons, None, True))
    for model in sorted({p.model for p in done}):
        ws.registry.record_run(
            "lifecycle-review", model=model, version=None, inputs={"window": window},
            results={"proposals": [p.to_dict() for p in done if p.model == model]},
            verdict="info", actor=actor,
        )  # fmt: skip
    return done
