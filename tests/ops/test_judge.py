"""The canary judgement: too little data waits; its tests agree with SciPy."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from modelward.policy import Policy
from modelward.rollout import WindowStats, judge
from modelward.rollout.plan import make_plan

PLAN = make_plan(Policy().rollout)


@settings(max_examples=200, deadline=None)
@given(
    requests=st.integers(0, PLAN["min_samples"] - 1),
    error_share=st.floats(0, 1),
    latency=st.floats(1, 5000),
)
def test_too_little_data_neither_passes_nor_fails(requests, error_share, latency):
    errors = int(requests * error_share)
    canary = WindowStats(requests=requests, errors=errors, p95_latency_ms=latency,
                         latencies=(latency,) * (requests - errors))  # fmt: skip
    stable = WindowStats(requests=10_000, errors=10, p95_latency_ms=10.0, latencies=(10.0,) * 200)
    judgement = judge(PLAN, canary, stable)
    assert judgement.status == "no-data"
    assert all(c.status == "no-data" for c in judgement.checks)


@settings(max_examples=100, deadline=None)
@given(n=st.integers(PLAN["min_samples"], 5000), share=st.floats(0, 0.025))
def test_error_rate_well_below_the_limit_is_never_a_problem(n, share):
    errors = int(n * share)
    same = WindowStats(requests=n, errors=errors)
    check = judge(PLAN, same, same).checks[0]
    assert check.name == "error_rate" and check.status == "ok"


def test_error_check_p_value_is_scipys_binomial_test():
    from scipy.stats import binomtest

    canary = WindowStats(requests=400, errors=31)
    check = judge(PLAN, canary, WindowStats()).checks[0]
    expected = binomtest(31, 400, PLAN["max_error_rate"], alternative="greater").pvalue
    assert check.p_value == expected
    assert check.status == ("fail" if expected < PLAN["alpha"] else "breach")


def test_latency_uses_mann_whitney_with_an_effect_size_bound():
    import numpy as np
    from scipy.stats import mannwhitneyu

    rng = np.random.default_rng(1)
    stable = tuple(rng.lognormal(np.log(40), 0.3, 400))
    slightly = tuple(x * 1.02 for x in rng.lognormal(np.log(40), 0.3, 400))
    canary = WindowStats(requests=400, p95_latency_ms=70.0, latencies=slightly)
    base = WindowStats(requests=400, p95_latency_ms=70.0, latencies=stable)
    check = judge(PLAN, canary, base).checks[1]
    u = mannwhitneyu(slightly, stable, alternative="greater")
    assert check.p_value == u.pvalue
    # A 2 % shift is below the effect-size bound: not a breach even if significant.
    assert check.status == "ok"


def test_bad_rollout_policy_values_name_the_key(tmp_path, cli):
    bad = tmp_path / "policy.yml"
    for text, key in [
        ("rollout:\n  alpha: 2\n", "rollout.alpha"),
        ("rollout:\n  max_error_rate: 5\n", "rollout.max_error_rate"),
        ("retirement:\n  cheaper_by: 30\n", "retirement.cheaper_by"),
        ("rollout:\n  latency_effect_size: 0.3\n", "rollout.latency_effect_size"),
        ("rollout:\n  min_labels: 0\n", "rollout.min_labels"),
        ("rollout:\n  stages: [{weight: 50}, {weight: 20}]\n", "must increase and end at 100"),
        ("rollout:\n  check_interval: soon\n", "check_interval"),
        ("retention:\n  keep_last: -1\n", "retention.keep_last"),
    ]:
        bad.write_text(text)
        ran = cli("policy", "check", bad)
        assert ran.exit_code == 2 and key in ran.stderr, (text, ran.stderr)


def test_slower_than_stable_but_within_the_limit_is_reported_not_failed():
    import numpy as np

    rng = np.random.default_rng(2)
    fast = tuple(rng.lognormal(np.log(5), 0.2, 400))
    slow = tuple(rng.lognormal(np.log(25), 0.2, 400))
    canary = WindowStats(
        requests=400, p95_latency_ms=float(np.quantile(slow, 0.95)), latencies=slow
    )
    stable = WindowStats(
        requests=400, p95_latency_ms=float(np.quantile(fast, 0.95)), latencies=fast
    )
    check = judge(PLAN, canary, stable).checks[1]
    assert check.status == "ok" and "within the limit" in check.detail
    over = WindowStats(requests=400, p95_latency_ms=900.0, latencies=tuple(x * 40 for x in slow))
    assert judge(PLAN, over, stable).checks[1].status == "fail"
    assert judge(PLAN, over, WindowStats()).checks[1].status == "breach"  # no stable to compare


REGRESSION = make_plan(Policy().rollout, task="regression")


def test_a_regression_canary_is_judged_on_absolute_error_with_welchs_test():
    from scipy.stats import ttest_ind_from_stats

    stable = WindowStats(requests=1000, labelled=400, abs_error_mean=100.0, abs_error_std=80.0)
    canary = WindowStats(requests=1000, labelled=300, abs_error_mean=130.0, abs_error_std=90.0)
    check = judge(REGRESSION, canary, stable).checks[2]
    expected = ttest_ind_from_stats(
        130.0, 90.0, 300, 100.0, 80.0, 400, equal_var=False, alternative="greater"
    ).pvalue
    assert check.name == "abs_error_increase" and check.p_value == pytest.approx(expected)
    assert check.status == "fail"  # 30 % above stable's error, and significantly so
    close = WindowStats(requests=1000, labelled=300, abs_error_mean=101.0, abs_error_std=80.0)
    assert judge(REGRESSION, close, stable).checks[2].status == "ok"
    few = WindowStats(requests=1000, labelled=5, abs_error_mean=500.0, abs_error_std=1.0)
    assert judge(REGRESSION, few, stable).checks[2].status == "no-data"
    # a classifier is judged on accuracy, whatever the absolute error says
    assert judge(PLAN, canary, stable).checks[2].name == "accuracy"


LLM_PLAN = make_plan(Policy().rollout, task="text-generation", llm=Policy().llm)


def _ratings(values) -> dict:
    import numpy as np

    array = np.asarray(values, dtype=float)
    return {"ratings": len(array), "satisfaction_mean": float(array.mean()),
            "satisfaction_std": float(array.std(ddof=1))}  # fmt: skip


def test_an_endpoint_plan_takes_the_llm_policys_limits():
    assert LLM_PLAN["max_p95_latency_ms"] == 15000.0  # the runbook's 15 s, not 500 ms
    assert LLM_PLAN["min_satisfaction"] == Policy().llm.min_satisfaction
    assert (LLM_PLAN["latency_warning_factor"], LLM_PLAN["latency_critical_factor"]) == (1.5, 2)
    assert "min_satisfaction" not in make_plan(Policy().rollout)  # tabular plans unchanged


def test_satisfaction_below_the_floor_agrees_with_scipys_t_tests():
    from scipy.stats import ttest_1samp, ttest_ind

    rng = __import__("numpy").random.default_rng(7)
    canary_values = rng.choice([0.0, 0.5, 1.0], size=60, p=[0.5, 0.2, 0.3])
    stable_values = rng.choice([0.0, 0.5, 1.0], size=200, p=[0.1, 0.2, 0.7])
    canary = WindowStats(requests=500, **_ratings(canary_values))
    stable = WindowStats(requests=2000, **_ratings(stable_values))
    check = next(c for c in judge(LLM_PLAN, canary, stable).checks if c.name == "satisfaction")
    floor = ttest_1samp(canary_values, LLM_PLAN["min_satisfaction"], alternative="less").pvalue
    versus = ttest_ind(canary_values, stable_values, equal_var=False, alternative="less").pvalue
    assert check.p_value == pytest.approx(min(floor, versus), rel=1e-6)
    assert check.status == "fail" and "user satisfaction" in check.detail


def test_a_few_unhappy_ratings_do_not_fail_a_canary():
    canary = WindowStats(requests=500, **_ratings([1.0] * 27 + [0.0] * 3))
    stable = WindowStats(requests=2000, **_ratings([1.0] * 180 + [0.0] * 20))
    check = next(c for c in judge(LLM_PLAN, canary, stable).checks if c.name == "satisfaction")
    assert check.status == "ok"


def test_cost_above_the_limit_fails_only_when_welchs_test_says_so():
    from scipy.stats import ttest_ind_from_stats

    stable = WindowStats(requests=400, cost_rows=400, cost_per_query=0.010, cost_std=0.002)
    clear = WindowStats(requests=400, cost_rows=400, cost_per_query=0.015, cost_std=0.002)
    check = next(c for c in judge(LLM_PLAN, clear, stable).checks if c.name == "cost_increase")
    expected = ttest_ind_from_stats(0.015, 0.002, 400, 0.012, 0.002, 400, equal_var=False,
                                    alternative="greater").pvalue  # fmt: skip
    assert check.p_value == pytest.approx(expected) and check.status == "fail"
    noisy = WindowStats(requests=400, cost_rows=400, cost_per_query=0.0125, cost_std=0.05)
    check = next(c for c in judge(LLM_PLAN, noisy, stable).checks if c.name == "cost_increase")
    assert check.status == "breach"  # above the limit, but not surely: counts, never fails


def test_each_query_type_is_judged_at_a_corrected_level():
    good = WindowStats(requests=400, errors=4)
    bad = WindowStats(requests=400, errors=80)
    canary = WindowStats(requests=800, errors=84, by_query_type={"factual": good, "code": bad})
    stable = WindowStats(requests=800, errors=8, by_query_type={
        "factual": WindowStats(requests=400, errors=4), "code": WindowStats(requests=400, errors=4)
    })  # fmt: skip
    checks = {c.name: c for c in judge(LLM_PLAN, canary, stable).checks}
    assert checks["error_rate[code]"].status == "fail"
    assert checks["error_rate[code]"].detail.startswith("code: ")
    assert checks["error_rate[factual]"].status == "ok"


def test_a_ratio_of_a_few_milliseconds_is_not_a_slower_endpoint():
    fast = tuple(float(x) for x in range(5, 15))
    canary = WindowStats(
        requests=400, p95_latency_ms=16.0, latencies=tuple(x + 6 for x in fast) * 20
    )
    stable = WindowStats(requests=400, p95_latency_ms=7.0, latencies=fast * 20)
    check = next(c for c in judge(LLM_PLAN, canary, stable).checks if c.name == "p95_latency_ratio")
    assert check.canary > 2 and check.status == "ok"  # 9 ms slower: under the 100 ms gap
    slow = WindowStats(
        requests=400, p95_latency_ms=700.0, latencies=tuple(x * 50 for x in fast) * 20
    )
    check = next(c for c in judge(LLM_PLAN, slow, stable).checks if c.name == "p95_latency_ratio")
    assert check.status == "fail"
