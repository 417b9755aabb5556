"""The predictions check: volume, errors, latency and the distribution of what the model
predicted, from every prediction of the window (aggregates); for endpoint (LLM) models
also tokens, cost and response time per query type, and the users' ratings of the
window's answers per version and query type
(:func:`~modelward.llm.satisfaction.satisfaction_stats`).

The predicted-class distribution is compared (Jensen-Shannon) with the training labels
of the reference profile or with an earlier window, and against a window the scores too
(normalized Wasserstein between every served score of the two windows: above
``drift.MAX_ROWS`` predictions counted by the engine, rounded to 1/2000 of the earlier
window's spread, within the ``error_bound`` the result reports).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from modelward.errors import ConfigError
from modelward.llm.satisfaction import Satisfaction, satisfaction_stats
from modelward.monitoring.checks.base import Check
from modelward.monitoring.checks.drift import MAX_ROWS, ROUNDING
from modelward.monitoring.drift import DriftScore, JensenShannon, NormalizedWasserstein, Sample
from modelward.monitoring.drift.base import Distribution
from modelward.monitoring.drift.wasserstein import MIN_SPREAD
from modelward.monitoring.result import CheckResult, Findings, flat, given, optional
from modelward.monitoring.samples import category_key
from modelward.monitoring.window import Baseline, Window, parse_baseline
from modelward.predlog.engine import Scan, count_where
from modelward.predlog.reader import arrays

if TYPE_CHECKING:
    from modelward.monitoring.context import Context

__all__ = ["ClassDrift", "LLMFigures", "Predictions", "PredictionsResult", "QueryType"]

OK = ("ok",)


@dataclass
class QueryType:
    requests: int
    errors: int
    p95_s: float | None
    limit_s: float | None = optional()  # llm.max_response_time_s of the query type
    factor: float | None = optional()  # p95 / limit


@dataclass
class LLMFigures:
    input_tokens: int
    output_tokens: int
    cost: float
    cost_per_query: float | None
    previous_cost: float = 0.0
    cost_change: float | None = optional()
    query_types: dict[str, QueryType] = field(default_factory=dict)
    #: ratings of the window's answers, per version and query type
    satisfaction: list[Satisfaction] = field(default_factory=list)


@dataclass
class ClassDrift:
    score: DriftScore = flat()
    reference: str = ""  # what the classes were compared with
    reference_counts: dict[str, int] = field(default_factory=dict)
    current_counts: dict[str, int] = field(default_factory=dict)


@dataclass(kw_only=True)
class PredictionsResult(CheckResult):
    check: ClassVar[str] = "predictions"
    window: Window = given()
    compare_to: str = given()
    environment: str | None = given()
    distribution_check: bool = given()
    drift_threshold: float = given()
    max_error_rate: float = given()
    p95_limit_ms: float = given(key="latency_p95_ms")
    predictions: int = 0
    errors: int = 0
    rejected: int = 0
    error_rate: float | None = None
    latency_p50_ms: float | None = None
    latency_p95_ms: float | None = None
    mean_score: float | None = None
    llm: LLMFigures | None = optional()
    class_shares: dict[str, float] = field(default_factory=dict)
    class_drift: ClassDrift | None = optional()
    score_drift: DriftScore | None = optional()


@dataclass
class Predictions(Check[PredictionsResult]):
    """Prediction volume, errors, latency and prediction-distribution drift."""

    name: ClassVar[str] = "predictions"
    compare_to: str = "reference"
    distribution_check: bool = True
    drift_threshold: float | None = None

    def run(self, context: Context) -> PredictionsResult:
        assert context.model is not None and context.window is not None
        policy = context.policy
        threshold = (
            policy.drift.prediction_threshold
            if self.drift_threshold is None
            else self.drift_threshold
        )
        if not 0 < threshold <= 1:
            raise ConfigError(
                f"--drift-threshold {threshold} must be between 0 and 1, e.g. 0.1",
                field="drift_threshold",
            )
        baseline = parse_baseline(self.compare_to)
        llm = context.model.task == "text-generation"
        scan = context.scan()
        findings = Findings()
        result = PredictionsResult(
            model=context.name, verdict="pass", window=context.window,
            compare_to=baseline.label(), environment=context.environment,
            distribution_check=self.distribution_check, drift_threshold=threshold,
            max_error_rate=policy.rollout.max_error_rate,
            p95_limit_ms=policy.serving.latency.p95_ms,
        )  # fmt: skip
        _traffic(context, scan, result, findings, llm=llm)
        if llm:
            result.llm = _llm(context, scan, result.predictions, findings)
        counts = _classes(context, scan)
        result.class_shares = {k: v / max(sum(counts.values()), 1) for k, v in counts.items()}
        if self.distribution_check and not llm and context.model.task != "regression" and counts:
            _distribution(context, baseline, threshold, counts, result, findings)
        if result.predictions == 0:
            findings.short(f"no predictions in {context.window.label()}")
        return replace(result, **findings.outcome())


def _column(scan: Scan, name: str) -> str:
    return name if scan.has(name) else "NULL"


def _traffic(
    context: Context, scan: Scan, result: PredictionsResult, findings: Findings, *, llm: bool
) -> None:
    """Counts per status, latency percentiles (every status) and the mean score, judged
    against ``rollout.max_error_rate`` and (tabular models) ``serving.latency.p95_ms``."""
    log, latency = context.log, _column(scan, "latency_ms")
    found = log.aggregate(
        scan,
        [
            "count(*)",
            count_where("status = 'error'"),
            count_where("status = 'rejected'"),
            log.quantile(latency, 0.5),
            log.quantile(latency, 0.95),
            f"avg({_column(scan, 'score')}) FILTER (WHERE status = 'ok')",
        ],
    )
    total, errors, rejected, p50, p95, mean = found[0] if found else (0, 0, 0, None, None, None)
    result.predictions, result.errors, result.rejected = int(total), int(errors), int(rejected)
    result.error_rate = errors / total if total else None
    result.latency_p50_ms, result.latency_p95_ms = _float(p50), _float(p95)
    result.mean_score = _float(mean)
    policy, max_error = context.policy, result.max_error_rate
    if total and errors / total > max_error:
        rate = errors / total
        findings.breach(
            f"error rate {rate:.1%} > {max_error:.0%} ({errors} of {total})",
            "error_rate",
            critical=rate > 2 * max_error,
        )
    limit, factors = result.p95_limit_ms, policy.llm
    if not llm and p95 is not None and p95 > limit * factors.latency_warning_factor:
        factor = p95 / limit
        findings.breach(
            f"latency p95 {p95:.1f} ms is {factor:.1f}x the {limit:.0f} ms target "
            f"(warning at {factors.latency_warning_factor}x, critical at "
            f"{factors.latency_critical_factor}x)",
            "latency_p95",
            critical=factor >= factors.latency_critical_factor,
        )


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _classes(context: Context, scan: Scan) -> dict[str, int]:
    """Served predictions per predicted class (the profile's keys: ``1.0`` is ``1``)."""
    counts: dict[str, int] = {}
    served = scan.only(status=OK, where=["prediction IS NOT NULL"])
    found = context.log.aggregate(served, ["prediction", "count(*)"], group_by="prediction")
    for value, n in found:
        key = category_key(str(value))
        counts[key] = counts.get(key, 0) + int(n)
    return counts


def _scores(context: Context, scan: Scan) -> Any:
    """The served scores of (a hash sample of about ``MAX_ROWS`` of) the scan."""
    import numpy as np

    if scan.empty or not scan.has("score"):
        return np.array([], "float64")
    served = scan.only(status=OK, where=["score IS NOT NULL"])
    return arrays(context.log.sample(served, ["score"], rows=MAX_ROWS))["score"]


def _whole(context: Context, scan: Scan, scores: Any, unit: float) -> Sample:
    """The scores as a sample for the Wasserstein distance: when they are a hash sample
    of the scan, with the distribution of every served score (counted by the engine,
    rounded to ``unit``: within ``unit / 2`` of exact)."""
    import numpy as np

    sample = Sample(values=scores, rows=len(scores))
    if context.log.rate(scan, MAX_ROWS) >= 1.0:
        return sample
    served = scan.only(status=OK, where=["score IS NOT NULL"])
    found = context.log.aggregate_columns(
        served, [f"round(score / {unit!r}) AS k", "count(*) AS c"], group_by="k"
    )
    keys = np.asarray(np.ma.getdata(found.get("k", [])), dtype="float64")
    counts = np.asarray(found.get("c", []), dtype="float64")
    finite = np.isfinite(keys) & ~np.ma.getmaskarray(found.get("k", np.array([])))
    points, weights = keys[finite] * unit, counts[finite]
    if weights.sum():
        mean = np.average(points, weights=weights)
        std = float(np.sqrt(np.average((points - mean) ** 2, weights=weights)))
        sample.distribution = Distribution(points, weights, std, unit / 2)
    return sample


def _distribution(
    context: Context,
    baseline: Baseline,
    threshold: float,
    counts: dict[str, int],
    result: PredictionsResult,
    findings: Findings,
) -> None:
    """The predicted classes against the training labels or an earlier window, and
    against a window the scores too."""
    assert context.window is not None
    base_window = baseline.window(context.window)
    ref_scores = None
    if base_window is None:
        reference = dict(context.reference().profile.get("target_counts", {}))
        source = "training labels of the reference profile"
    else:
        earlier = context.scan(base_window)
        reference = _classes(context, earlier)
        source = f"predictions of {base_window.label()}"
        ref_scores = _scores(context, earlier)
    if reference:
        score = JensenShannon(threshold).score(Sample(counts=reference), Sample(counts=counts))
        result.class_drift = ClassDrift(score, source, reference, counts)
        if score.drifted:
            findings.breach(
                f"predicted-class distribution drifted: Jensen-Shannon "
                f"{score.statistic:.3f} >= {threshold} against the {source}",
                "prediction_drift",
            )
    if ref_scores is not None and len(ref_scores):
        current = _scores(context, context.scan())
        if len(current):
            unit = max(float(ref_scores.std()), MIN_SPREAD) / ROUNDING
            moved = NormalizedWasserstein(threshold).score(
                _whole(context, earlier, ref_scores, unit),
                _whole(context, context.scan(), current, unit),
            )
            result.score_drift = moved
            if moved.drifted:
                findings.breach(
                    f"score distribution drifted: normalized Wasserstein "
                    f"{moved.statistic:.3f} >= {threshold}",
                    "score_drift",
                )


def _llm(context: Context, scan: Scan, n: int, findings: Findings) -> LLMFigures:
    """Endpoint traffic: tokens and cost (per query, and against the previous window), and
    response time per query type against ``llm.max_response_time_s`` with the LLM
    runbook's warning (1.5x) and critical (2x) factors."""
    assert context.window is not None
    policy, log = context.policy.llm, context.log
    sums = log.aggregate(
        scan, [f"sum({_column(scan, c)})" for c in ("input_tokens", "output_tokens", "cost")]
    )
    tokens_in, tokens_out, cost = sums[0] if sums else (0, 0, 0.0)
    total = float(cost or 0.0)
    figures = LLMFigures(int(tokens_in or 0), int(tokens_out or 0), total, total / n if n else None)
    if n and total / n > policy.max_cost_per_query:
        findings.breach(
            f"cost per query {total / n:.4f} > {policy.max_cost_per_query} "
            "(llm.max_cost_per_query)",
            "cost_per_query",
        )
    before = context.scan(context.window.before(context.window.length))
    previous = log.aggregate(before, ["sum(cost)"]) if before.has("cost") else []
    figures.previous_cost = float(previous[0][0] or 0.0) if previous else 0.0
    if figures.previous_cost > 0:
        growth = total / figures.previous_cost - 1
        figures.cost_change = growth
        if growth > policy.cost_increase_alert:
            findings.breach(
                f"cost up {growth:.0%} on the previous window ({figures.previous_cost:.2f} -> "
                f"{total:.2f}; alert above {policy.cost_increase_alert:.0%})",
                "cost_increase",
            )
    figures.query_types = _query_types(context, scan, findings)
    figures.satisfaction = satisfaction_stats(
        log, context.window, model=context.name, environment=context.environment
    )
    return figures


def _query_types(context: Context, scan: Scan, findings: Findings) -> dict[str, QueryType]:
    policy, log = context.policy.llm, context.log
    kind = "coalesce(query_type, 'unknown')"
    found = log.aggregate(
        scan,
        [kind, "count(*)", count_where("status = 'error'"), log.quantile("latency_ms", 0.95)],
        group_by=kind,
    )
    out: dict[str, QueryType] = {}
    for query_type, requests, errors, p95_ms in sorted(found):
        p95 = None if p95_ms is None else float(p95_ms) / 1000
        entry = QueryType(int(requests), int(errors), p95)
        limit = policy.max_response_time_s.get(str(query_type))
        if limit is not None and p95 is not None:
            entry.limit_s, entry.factor = limit, p95 / limit
            if entry.factor >= policy.latency_warning_factor:
                severe = entry.factor >= policy.latency_critical_factor
                findings.breach(
                    f"{query_type} p95 response time {p95:.2f} s is {entry.factor:.1f}x the "
                    f"{limit:g} s target ({'critical' if severe else 'warning'}: warning at "
                    f"{policy.latency_warning_factor}x, critical at "
                    f"{policy.latency_critical_factor}x)",
                    f"latency:{query_type}",
                    critical=severe,
                )
        out[str(query_type)] = entry
    return out
