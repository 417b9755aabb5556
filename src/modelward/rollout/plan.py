"""A rollout's plan: stages and limits, frozen from the policy when the rollout starts."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.timeutil import parse_duration

if TYPE_CHECKING:
    from modelward.policy.model import LLMPolicy, RolloutPolicy

__all__ = ["make_plan", "parse_stages"]


def parse_stages(text: str) -> list[dict[str, float]]:
    """``"5:30m,25:1h,50:2h,100"`` -> stages (weight %, seconds)."""
    stages = []
    for part in text.split(","):
        weight, _, duration = part.strip().partition(":")
        try:
            value = float(weight)
        except ValueError as exc:
            raise ConfigError(
                f"--stages item {part.strip()!r} is not WEIGHT[:DURATION]; write e.g. "
                "5:30m,25:1h,50:2h,100",
                field="stages",
            ) from exc
        seconds = parse_duration(duration or "0s", what="--stages duration").total_seconds()
        stages.append({"weight": value, "seconds": seconds})
    _check(stages, "--stages")
    return stages


def _check(stages: list[dict[str, float]], where: str) -> None:
    weights = [s["weight"] for s in stages]
    if (
        not weights
        or any(not 0 < w <= 100 for w in weights)
        or weights != sorted(set(weights))
        or weights[-1] != 100
    ):
        raise ConfigError(
            f"{where} weights must rise strictly from above 0 and end at 100, got "
            f"{', '.join(f'{w:g}' for w in weights)}; write e.g. 5:30m,25:1h,50:2h,100",
            field="stages",
        )


def make_plan(
    policy: RolloutPolicy,
    stages: str | None = None,
    *,
    task: str = "binary-classification",
    llm: LLMPolicy | None = None,
) -> dict[str, Any]:
    """The stages and limits a rollout keeps for its life; ``task`` (the model's) picks the
    quality check: accuracy for classifiers, absolute error for regression. An LLM
    endpoint (``text-generation``) is judged on the ``llm`` policy's limits: error rate,
    p95 response time (against the limit and as a multiple of stable's), user
    satisfaction, and accuracy from people's feedback and the online evaluation."""
    if stages is not None:
        steps = parse_stages(stages)
    else:
        steps = [
            {"weight": s.weight, "seconds": parse_duration(s.duration).total_seconds()}
            for s in policy.stages
        ]
        _check(steps, "policy rollout.stages")
    plan = {
        "stages": steps,
        "check_interval_s": parse_duration(policy.check_interval).total_seconds(),
        "min_samples": policy.min_samples,
        "min_labels": policy.min_labels,
        "max_error_rate": policy.max_error_rate,
        "min_accuracy": policy.min_accuracy,
        "max_abs_error_increase": policy.max_abs_error_increase,
        "task": task,
        "max_cost_increase": policy.max_cost_increase,
        "max_p95_latency_ms": policy.max_p95_latency_ms,
        "failure_limit": policy.failure_limit,
        "alpha": policy.alpha,
        "latency_effect_size": policy.latency_effect_size,
    }
    if task == "text-generation" and llm is not None:
        plan.update(_endpoint_limits(llm))
    return plan


def _endpoint_limits(llm: LLMPolicy) -> dict[str, Any]:
    limits: dict[str, Any] = {
        "max_error_rate": llm.max_error_rate,
        "max_p95_latency_ms": llm.max_p95_latency_ms,
        "latency_warning_factor": llm.latency_warning_factor,
        "latency_critical_factor": llm.latency_critical_factor,
        "latency_min_gap_ms": llm.latency_min_gap_ms,
        "min_satisfaction": llm.min_satisfaction,
        "per_query_type": True,
    }
    if llm.online_evaluation_dataset:
        limits["online_evaluation"] = {
            "dataset": llm.online_evaluation_dataset,
            "sample": llm.online_evaluation_sample,
        }
    return limits
