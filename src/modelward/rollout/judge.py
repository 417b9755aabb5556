"""The canary judgement: hard limits with a failure counter, plus statistical tests.

Each check compares the canary with the limits of the plan and with the stable version
over the same window, and ends in one status:

- ``no-data``: too few requests (or labels) to judge; the stage waits, it never passes;
- ``ok``;
- ``breach``: a point estimate crossed a limit, or the canary's errors or accuracy are
  significantly worse than stable's; counts towards ``failure_limit`` (Argo Rollouts' /
  Flagger's failure counter). Latency slower than stable but within its limit is reported
  only;
- ``fail``: the evidence is strong — the limit is crossed *with significance* (a one-sided
  binomial test against the limit, or above the limit and significantly worse than stable);
  the rollout rolls back at once.

Tests: a binomial test against the limit and a two-proportion z-test against stable for
errors and accuracy; Mann-Whitney U with a common-language effect size bound for latency
(Kayenta's approach), so a handful of slow or failed requests neither passes nor fails.
A regression model is judged on its mean absolute error instead of accuracy: at most
``max_abs_error_increase`` above stable's, and not significantly above it (Welch's t-test).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from modelward.rollout.ports import WindowStats
from modelward.stats import mann_whitney, two_proportion

__all__ = ["Check", "Judgement", "judge"]


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # no-data | ok | breach | fail
    canary: float | None
    stable: float | None
    limit: float | None
    p_value: float | None
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Judgement:
    checks: tuple[Check, ...]
    enough_data: bool

    @property
    def status(self) -> str:
        statuses = {c.status for c in self.checks}
        for status in ("fail", "breach"):
            if status in statuses:
                return status
        return "ok" if self.enough_data else "no-data"

    def problems(self) -> list[Check]:
        return [c for c in self.checks if c.status in ("fail", "breach")]

    def describe(self) -> str:
        bad = self.problems()
        if bad:
            return "; ".join(c.detail for c in bad)
        if not self.enough_data:
            return next(c.detail for c in self.checks if c.name == "error_rate")
        return "all checks within limits"


def _binom_p(successes: int, n: int, p: float, alternative: str) -> float:
    from scipy.stats import binomtest

    return float(binomtest(successes, n, p, alternative=alternative).pvalue)


def _errors(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> Check:
    limit, n, alpha = plan["max_error_rate"], canary.requests, plan["alpha"]
    if n < plan["min_samples"]:
        return Check("error_rate", "no-data", canary.error_rate, stable.error_rate, limit, None,
                     f"waiting for data: {n} of {plan['min_samples']} canary requests")  # fmt: skip
    rate = canary.errors / n
    p_limit = _binom_p(canary.errors, n, limit, "greater")
    p_stable = None
    worse = False
    if stable.requests >= plan["min_samples"]:
        test = two_proportion(
            stable.errors, stable.requests, canary.errors, n, alternative="greater"
        )
        p_stable, worse = test.p_value, test.p_value < alpha
    status = "ok"
    if p_limit < alpha or (rate > limit and worse):
        status = "fail"
    elif rate > limit or worse:
        status = "breach"
    detail = f"error rate {rate:.2%} (limit {limit:.0%}"
    detail += f", stable {stable.error_rate:.2%})" if stable.error_rate is not None else ")"
    p_value = min(p_limit, p_stable) if p_stable is not None else p_limit
    return Check("error_rate", status, rate, stable.error_rate, limit, p_value, detail)


def _latency(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> Check:
    limit = plan["max_p95_latency_ms"]
    if canary.requests < plan["min_samples"] or canary.p95_latency_ms is None:
        return Check("p95_latency_ms", "no-data", canary.p95_latency_ms, stable.p95_latency_ms,
                     limit, None, "waiting for latency data")  # fmt: skip
    above = canary.p95_latency_ms > limit
    slower, p_value, effect = False, None, None
    if len(stable.latencies) >= plan["min_samples"] and canary.latencies:
        test = mann_whitney(stable.latencies, canary.latencies, alternative="greater")
        p_value, effect = test.p_value, test.effect_size
        slower = test.p_value < plan["alpha"] and effect >= plan["latency_effect_size"]
    # Slower than stable but within the limit is reported, not held against the canary:
    # the limit is the team's promise; the comparison only confirms a crossing is real.
    status = "fail" if above and slower else ("breach" if above else "ok")
    detail = f"p95 latency {canary.p95_latency_ms:.1f} ms (limit {limit:g} ms"
    if effect is not None:
        detail += f", P(canary slower than stable) {effect:.2f}"
        if slower and not above:
            detail += ", slower than stable but within the limit"
    return Check("p95_latency_ms", status, canary.p95_latency_ms, stable.p95_latency_ms, limit,
                 p_value, detail + ")")  # fmt: skip


def _accuracy(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> Check:
    limit, n, alpha = plan["min_accuracy"], canary.labelled, plan["alpha"]
    if n < plan["min_labels"]:
        return Check("accuracy", "no-data", canary.accuracy, stable.accuracy, limit, None,
                     f"{n} of {plan['min_labels']} labelled canary requests")  # fmt: skip
    accuracy = canary.correct / n
    p_limit = _binom_p(canary.correct, n, limit, "less")
    worse, p_stable = False, None
    if stable.labelled >= plan["min_labels"]:
        test = two_proportion(
            stable.correct, stable.labelled, canary.correct, n, alternative="less"
        )
        p_stable, worse = test.p_value, test.p_value < alpha
    status = "ok"
    if p_limit < alpha or (accuracy < limit and worse):
        status = "fail"
    elif accuracy < limit or worse:
        status = "breach"
    detail = f"accuracy {accuracy:.3f} on {n} labels (minimum {limit:.2f}"
    detail += f", stable {stable.accuracy:.3f})" if stable.accuracy is not None else ")"
    p_value = min(p_limit, p_stable) if p_stable is not None else p_limit
    return Check("accuracy", status, accuracy, stable.accuracy, limit, p_value, detail)


def _abs_error(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> Check:
    """Regression: the canary's mean absolute error against stable's over the same window
    (at most ``max_abs_error_increase`` more, and not significantly more: Welch's t-test)."""
    from scipy.stats import ttest_ind_from_stats

    limit, n, alpha = plan.get("max_abs_error_increase", 0.10), canary.labelled, plan["alpha"]
    mae, before = canary.abs_error_mean, stable.abs_error_mean
    if n < plan["min_labels"] or mae is None:
        return Check("abs_error_increase", "no-data", mae, before, limit, None,
                     f"{n} of {plan['min_labels']} labelled canary requests")  # fmt: skip
    if stable.labelled < plan["min_labels"] or before is None:
        return Check("abs_error_increase", "ok", mae, before, limit, None,
                     f"mean absolute error {mae:.4g} on {n} labels; no labelled stable "
                     "traffic to compare with")  # fmt: skip
    test = ttest_ind_from_stats(
        mae, canary.abs_error_std or 0.0, n, before, stable.abs_error_std or 0.0,
        stable.labelled, equal_var=False, alternative="greater",
    )  # fmt: skip
    p_value = float(test.pvalue) if test.pvalue == test.pvalue else 1.0
    worse = p_value < alpha
    increase = mae / before - 1 if before > 0 else (0.0 if mae == 0 else float("inf"))
    above = increase > limit
    status = "fail" if above and worse else ("breach" if above or worse else "ok")
    detail = (
        f"mean absolute error {mae:.4g} on {n} labels vs stable {before:.4g} "
        f"({increase:+.0%}, limit +{limit:.0%})"
    )
    return Check("abs_error_increase", status, mae, before, limit, p_value, detail)


def _cost(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> Check:
    limit = plan["max_cost_increase"]
    need = plan["min_samples"]
    if (
        canary.cost_rows < need
        or stable.cost_rows < need
        or canary.cost_per_query is None
        or not stable.cost_per_query
    ):
        return Check("cost_increase", "no-data", canary.cost_per_query, stable.cost_per_query,
                     limit, None, "no cost data (tabular model, or too few requests)")  # fmt: skip
    increase = canary.cost_per_query / stable.cost_per_query - 1
    status = "breach" if increase > limit else "ok"
    detail = (
        f"cost per query {canary.cost_per_query:.4g} vs stable {stable.cost_per_query:.4g} "
        f"({increase:+.0%}, limit +{limit:.0%})"
    )
    return Check("cost_increase", status, increase, None, limit, None, detail)


def judge(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> Judgement:
    """Judge one check interval of a stage."""
    checks = (
        _errors(plan, canary, stable),
        _latency(plan, canary, stable),
        (_abs_error if plan.get("task") == "regression" else _accuracy)(plan, canary, stable),
        _cost(plan, canary, stable),
    )
    return Judgement(checks, enough_data=canary.requests >= plan["min_samples"])
