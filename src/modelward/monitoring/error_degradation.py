"""The degradation check of a regression model: did the absolute error grow, when, and in
which slices (the classifier's version, in :mod:`.checks.degradation`, follows accuracy).

- the mean absolute error (MAE) of the window against the baseline window
  (``--compare-to previous`` or ``window:7d``) with Welch's one-sided t-test on the
  per-row absolute errors (degraded when p < ``drift.p_value``), or against the MAE the
  version's evaluation recorded (``reference``: degraded when more than
  ``rollout.max_abs_error_increase`` above it);
- *when*: the MAE per period, with 95 % t-intervals;
- *where*: every feature's slices with their MAE now and before, ranked by the absolute
  error added (rows x increase);
- *why*: per feature, whether its values differ between the largest errors (the top
  decile) and the rest, crossed with the window's feature drift.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from modelward.monitoring.recorded import recorded_metric
from modelward.monitoring.result import CheckResult, Findings, given, optional
from modelward.monitoring.samples import feature_kinds
from modelward.monitoring.slices import slice_labels
from modelward.monitoring.window import Window

if TYPE_CHECKING:
    from collections.abc import Iterator

    import pandas as pd

    from modelward.monitoring.context import Context, Reference

__all__ = [
    "ErrorDegradationResult", "ErrorLevel", "ErrorSlice", "error_degradation", "period_rows",
]  # fmt: skip

#: The largest errors, for "which features go with them": this quantile and above.
LARGE_ERROR_QUANTILE = 0.9


@dataclass
class ErrorLevel:
    rows: int
    mae: float | None
    ci: tuple[float | None, float | None] | None
    source: str = "window"  # window | recorded


@dataclass
class ErrorPeriod:
    start: str
    end: str
    rows: int
    mae: float
    low: float | None
    high: float | None
    baseline: bool


@dataclass
class ErrorSlice:
    feature: str
    slice: str
    rows: int
    mae: float
    baseline_rows: int | None = optional()
    baseline_mae: float | None = None
    increase: float | None = None
    added: float | None = None  # rows x increase: the absolute error this slice added


@dataclass(kw_only=True)
class ErrorDegradationResult(CheckResult):
    check: ClassVar[str] = "degradation"
    window: Window = given()
    compare_to: str = given()
    environment: str | None = given()
    periods: int = given()
    p_value: float = given()
    min_slice_rows: int = given()
    metric: str = "mae"
    allowance: float = 0.0
    current: ErrorLevel = field(default_factory=lambda: ErrorLevel(0, None, None))
    baseline: ErrorLevel | None = None
    increase: float | None = optional()
    test_p_value: float | None = optional()
    timeline: list[ErrorPeriod] = field(default_factory=list)
    slices: list[ErrorSlice] = field(default_factory=list)
    error_features: list[Any] = field(default_factory=list)
    drifted_with_errors: list[str] = field(default_factory=list)


def level(errors: Any) -> tuple[int, float | None, tuple[float | None, float | None] | None]:
    """Rows, MAE and its 95 % t-interval of a series of absolute errors."""
    from scipy.stats import t

    n = len(errors)
    if n == 0:
        return 0, None, None
    mean = float(errors.mean())
    if n < 2:
        return n, mean, (None, None)
    half = float(t.ppf(0.975, n - 1)) * float(errors.std(ddof=1)) / math.sqrt(n)
    return n, mean, (max(0.0, mean - half), mean + half)


def with_errors(rows: pd.DataFrame) -> pd.DataFrame:
    """``rows`` with ``abs_error`` (|prediction - label|) and ``correct`` (not among the
    largest errors), for the checks that split right from wrong."""
    import pandas as pd

    gap = (
        pd.to_numeric(rows["prediction"], errors="coerce")
        - pd.to_numeric(rows["label"], errors="coerce")
    ).abs()
    cut = float(gap.quantile(LARGE_ERROR_QUANTILE)) if len(gap) else 0.0
    return rows.assign(abs_error=gap, correct=gap < cut if len(gap) > 1 else True)


def error_degradation(
    context: Context,
    result: ErrorDegradationResult,
    current: pd.DataFrame,
    before: pd.DataFrame | None,
    reference: Reference,
    base_window: Window | None,
) -> Findings:
    """Fill ``result`` (current and baseline MAE, test, timeline, slices); the findings."""
    findings = Findings()
    result.current = ErrorLevel(*level(current["abs_error"]))
    if before is not None:
        result.baseline = ErrorLevel(*level(before["abs_error"]))
    else:
        recorded, source = recorded_metric(context.ws, reference.info, "mae")
        result.baseline = ErrorLevel(0, recorded, None, source=source)
    _judge(context, result, current, before, base_window, findings)
    result.timeline = _timeline(context.window, result.periods, base_window, current, before)
    return findings


def _judge(
    context: Context,
    result: ErrorDegradationResult,
    current: pd.DataFrame,
    before: pd.DataFrame | None,
    base_window: Window | None,
    findings: Findings,
) -> None:
    from scipy.stats import ttest_ind

    now, then = result.current.mae, result.baseline.mae if result.baseline else None
    min_labels = context.policy.thresholds.min_labels
    if result.current.rows < min_labels:
        findings.short(
            f"too few labelled predictions to judge: {result.current.rows} < {min_labels}"
        )
        return
    if then is None:
        findings.short(
            f"no labelled predictions in the comparison window {base_window.label()}; use "
            "--compare-to reference or a window that had labelled traffic"
            if base_window is not None
            else "the version has no recorded mae to compare with; evaluate it "
            "(`modelward evaluate`) or use --compare-to previous"
        )
        return
    assert now is not None
    result.increase = now / then - 1 if then > 0 else (0.0 if now == 0 else math.inf)
    if before is not None and len(before) >= 2:
        test = ttest_ind(
            current["abs_error"], before["abs_error"], equal_var=False, alternative="greater"
        )
        result.test_p_value = float(test.pvalue)
        if result.test_p_value < result.p_value:
            findings.breach(
                f"mean absolute error rose {then:.4g} -> {now:.4g} ({len(before)} -> "
                f"{len(current)} labelled; Welch one-sided p={result.test_p_value:.3g} < "
                f"{result.p_value})",
                "error_increase",
            )
    elif result.increase > result.allowance:
        findings.breach(
            f"mean absolute error {now:.4g} is {result.increase:.0%} above the recorded "
            f"{then:.4g} (allowance {result.allowance:.0%})",
            "error_increase",
        )


def period_rows(
    window: Window | None,
    periods: int,
    base_window: Window | None,
    current: pd.DataFrame,
    before: pd.DataFrame | None,
) -> Iterator[tuple[Window, pd.DataFrame, bool]]:
    """``(period, its rows, is the baseline)`` for the baseline window, then the window cut
    into ``periods`` equal parts; periods without rows are left out."""
    import pandas as pd

    assert window is not None
    step = window.length / periods
    parts = [Window(window.start + step * i, window.start + step * (i + 1)) for i in range(periods)]
    if base_window is not None:
        parts.insert(0, base_window)
    both = current if before is None or before.empty else pd.concat([before, current])
    for i, part in enumerate(parts if len(both) else []):
        rows = both[(both["ts"] >= part.start) & (both["ts"] < part.end)]
        if len(rows):
            yield part, rows, base_window is not None and i == 0


def _timeline(
    window: Window | None,
    periods: int,
    base_window: Window | None,
    current: pd.DataFrame,
    before: pd.DataFrame | None,
) -> list[ErrorPeriod]:
    """The MAE per period, with its 95 % t-interval."""
    out = []
    for part, rows, first in period_rows(window, periods, base_window, current, before):
        n, mae, ci = level(rows["abs_error"])
        assert mae is not None
        low, high = ci or (None, None)
        out.append(ErrorPeriod(part.start.isoformat(), part.end.isoformat(), n, mae, low, high,
                               first))  # fmt: skip
    return out


def error_slices(
    current: pd.DataFrame,
    before: pd.DataFrame | None,
    features: list[str],
    reference: Reference,
    result: ErrorDegradationResult,
) -> list[ErrorSlice]:
    """Every feature's slices with enough rows, ranked by the absolute error they added."""
    kinds = feature_kinds({"columns": reference.columns}, features)
    base = result.baseline.mae if result.baseline else None
    out: list[ErrorSlice] = []
    for feature in features if len(current) else []:
        profile = reference.columns.get(feature)
        now = slice_labels(current, feature, kinds[feature], profile)
        then = None
        if before is not None and not before.empty:
            then = slice_labels(before, feature, kinds[feature], profile)
        for label, rows in current.groupby(now):
            if len(rows) < result.min_slice_rows:
                continue
            entry = ErrorSlice(feature, str(label), len(rows), float(rows["abs_error"].mean()),
                               baseline_mae=base)  # fmt: skip
            if then is not None and before is not None:
                prior = before[then == label]
                if len(prior) >= result.min_slice_rows:
                    entry.baseline_rows = len(prior)
                    entry.baseline_mae = float(prior["abs_error"].mean())
            if entry.baseline_mae is not None:
                entry.increase = entry.mae - entry.baseline_mae
                entry.added = entry.rows * entry.increase
            out.append(entry)
    return sorted(out, key=lambda e: -(e.added if e.added is not None else e.rows * e.mae))
