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

An LLM endpoint (a plan with ``latency_warning_factor``) is judged besides on its p95
response time as a multiple of stable's (a warning factor is a breach, a critical one with
a significant U test a failure), its cost per query (Welch's t-test for a failure), and
users' satisfaction: below the policy's floor (a one-sample t-test against it) or
significantly below stable's (Welch). With ``per_query_type``, every query type with enough
canary requests is judged as well, at a Bonferroni-corrected level.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
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


def _welch_greater(a_mean: float, a_std: float | None, a_n: int, b_mean: float,
                   b_std: float | None, b_n: int) -> float:  # fmt: skip
    """One-sided p-value that mean a > mean b (Welch's t-test from summary figures)."""
    from scipy.stats import ttest_ind_from_stats

    test = ttest_ind_from_stats(
        a_mean, a_std or 0.0, a_n, b_mean, b_std or 0.0, b_n, equal_var=False,
        alternative="greater",
    )  # fmt: skip
    p_value = float(test.pvalue)
    return p_value if p_value == p_value else (0.0 if a_mean > b_mean else 1.0)


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
    p_value = _welch_greater(
        canary.cost_per_query, canary.cost_std, canary.cost_rows,
        stable.cost_per_query * (1 + limit), stable.cost_std, stable.cost_rows,
    )  # fmt: skip
    above = increase > limit
    status = "fail" if above and p_value < plan["alpha"] else ("breach" if above else "ok")
    detail = (
        f"cost per query {canary.cost_per_query:.4g} vs stable {stable.cost_per_query:.4g} "
        f"({increase:+.0%}, limit +{limit:.0%})"
    )
    return Check("cost_increase", status, increase, None, limit, p_value, detail)


def _latency_ratio(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> Check:
    """p95 response time as a multiple of stable's: a warning factor is a breach, a critical
    one a failure, when the U test says the canary is really slower."""
    warning, critical = plan["latency_warning_factor"], plan["latency_critical_factor"]
    need = plan["min_samples"]
    if (
        canary.requests < need or stable.requests < need or not canary.p95_latency_ms
        or not stable.p95_latency_ms
    ):  # fmt: skip
        return Check("p95_latency_ratio", "no-data", None, stable.p95_latency_ms, warning, None,
                     "too few stable and canary requests to compare response times")  # fmt: skip
    ratio = canary.p95_latency_ms / stable.p95_latency_ms
    gap = canary.p95_latency_ms - stable.p95_latency_ms
    p_value, slower = None, False
    if canary.latencies and stable.latencies:
        test = mann_whitney(stable.latencies, canary.latencies, alternative="greater")
        p_value = test.p_value
        slower = (
            p_value < plan["alpha"]
            and test.effect_size >= plan["latency_effect_size"]
            and gap >= plan.get("latency_min_gap_ms", 0.0)
        )
    # a p95 from a few calls is noisy: the ratio counts only when the canary's calls are
    # really slower than stable's (the U test, as for the latency limit) and by a gap that
    # matters (``latency_min_gap_ms``)
    status = "ok"
    if ratio >= critical and slower:
        status = "fail"
    elif ratio >= warning and slower:
        status = "breach"
    detail = (
        f"p95 response time {ratio:.2f}x stable's ({canary.p95_latency_ms:.0f} vs "
        f"{stable.p95_latency_ms:.0f} ms; warning {warning:g}x, critical {critical:g}x)"
    )
    return Check("p95_latency_ratio", status, ratio, 1.0, warning, p_value, detail)


def _satisfaction(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> Check:
    """Users' mean satisfaction: at least the floor (one-sample t-test against it) and not
    significantly below stable's (Welch's t-test)."""
    from scipy.stats import t as student_t

    floor, n, alpha = plan["min_satisfaction"], canary.ratings, plan["alpha"]
    mean = canary.satisfaction
    if n < plan["min_labels"] or mean is None:
        return Check("satisfaction", "no-data", mean, stable.satisfaction, floor, None,
                     f"{n} of {plan['min_labels']} rated canary answers")  # fmt: skip
    spread = canary.satisfaction_std or 0.0
    if spread > 0:
        p_floor = float(student_t.cdf((mean - floor) / (spread / n**0.5), n - 1))
    else:
        p_floor = 0.0 if mean < floor else 1.0
    worse, p_stable = False, None
    if stable.ratings >= plan["min_labels"] and stable.satisfaction is not None:
        p_stable = _welch_greater(
            stable.satisfaction, stable.satisfaction_std, stable.ratings, mean, spread, n
        )
        worse = p_stable < alpha
    below = mean < floor
    status = "ok"
    if p_floor < alpha or (below and worse):
        status = "fail"
    elif below or worse:
        status = "breach"
    detail = f"user satisfaction {mean:.2f} on {n} ratings (floor {floor:.2f}"
    detail += f", stable {stable.satisfaction:.2f})" if stable.satisfaction is not None else ")"
    p_value = min(p_floor, p_stable) if p_stable is not None else p_floor
    return Check("satisfaction", status, mean, stable.satisfaction, floor, p_value, detail)


def _checks(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> list[Check]:
    quality = _abs_error if plan.get("task") == "regression" else _accuracy
    checks = [
        _errors(plan, canary, stable),
        _latency(plan, canary, stable),
        quality(plan, canary, stable),
        _cost(plan, canary, stable),
    ]
    if "latency_warning_factor" in plan:
        checks += [_latency_ratio(plan, canary, stable), _satisfaction(plan, canary, stable)]
    return checks


def _per_query_type(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> list[Check]:
    """The checks again for every query type with enough canary requests, each at
    ``alpha / types`` so more types do not mean more false alarms; only those that could
    judge something are kept."""
    judged = {q: s for q, s in canary.by_query_type.items() if s.requests >= plan["min_samples"]}
    if len(canary.by_query_type) < 2 or not judged:
        return []
    strict = {**plan, "alpha": plan["alpha"] / len(judged)}
    out = []
    for query_type, one in sorted(judged.items()):
        other = stable.by_query_type.get(query_type, WindowStats())
        for check in _checks(strict, one, other):
            if check.status != "no-data":
                out.append(replace(check, name=f"{check.name}[{query_type}]",
                                   detail=f"{query_type}: {check.detail}"))  # fmt: skip
    return out


def judge(plan: dict[str, Any], canary: WindowStats, stable: WindowStats) -> Judgement:
    """Judge one check interval of a stage."""
    checks = _checks(plan, canary, stable)
    if plan.get("per_query_type"):
        checks += _per_query_type(plan, canary, stable)
    return Judgement(tuple(checks), enough_data=canary.requests >= plan["min_samples"])
