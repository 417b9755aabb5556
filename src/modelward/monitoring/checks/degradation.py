"""The degradation check: did accuracy drop, when, which slices lost most, and which
drifted features go with the errors.

- the accuracy in the window against the baseline window (``--compare-to previous`` or
  ``window:7d``), with a one-sided two-proportion z-test
  (:func:`modelward.stats.two_proportion`): degraded when p < ``drift.p_value``; against
  ``reference`` the baseline is the version's recorded accuracy (no test);
- *when*: the accuracy per period (the window cut into ``periods`` equal parts, plus the
  baseline), and the first period below the threshold;
- *where*: every feature's slices (reference quartiles for numbers, categories, missing)
  with counts, accuracy and Wilson 95 % intervals now and before; ranked by the correct
  predictions lost (rows x drop);
- *why*: per feature, whether its values differ between wrong and right predictions
  (KS / chi-squared p-value), crossed with the feature drift of the window.

It reads the labelled predictions of both windows (above :data:`DETAIL_ROWS` requests
a window, a consistent hash sample of about that many).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING, Any, ClassVar

from modelward.errors import ConfigError
from modelward.monitoring.checks.base import Check
from modelward.monitoring.checks.drift import Drift
from modelward.monitoring.error_degradation import (
    ErrorDegradationResult,
    error_degradation,
    error_slices,
    period_rows,
    with_errors,
)
from modelward.monitoring.recorded import recorded_metric
from modelward.monitoring.result import CheckResult, Findings, given, optional
from modelward.monitoring.samples import feature_kinds
from modelward.monitoring.slices import slice_labels, wilson
from modelward.monitoring.window import Window, parse_baseline
from modelward.predlog.reader import frame

if TYPE_CHECKING:
    import pandas as pd

    from modelward.monitoring.context import Context, Reference
    from modelward.stats.tests import TwoProportionResult

__all__ = ["DETAIL_ROWS", "Degradation", "DegradationResult", "Slice"]

#: Requests of a window read for slices and periods (above: a consistent hash sample).
DETAIL_ROWS = 200_000


@dataclass
class Accuracy:
    rows: int
    accuracy: float | None
    ci: tuple[float | None, float | None] | None


@dataclass
class WindowBaseline(Accuracy):
    window: Window | None = None


@dataclass
class RecordedBaseline:
    recorded_accuracy: float | None
    source: str


@dataclass
class Period:
    start: str
    end: str
    rows: int
    accuracy: float
    low: float | None
    high: float | None
    baseline: bool


@dataclass
class Slice:
    feature: str
    slice: str
    rows: int
    accuracy: float
    ci: tuple[float | None, float | None]
    baseline_rows: int | None = optional()
    baseline_ci: tuple[float | None, float | None] | None = optional()
    baseline_accuracy: float | None = None
    drop: float | None = None
    lost: float | None = None


@dataclass
class ErrorFeature:
    feature: str
    p_value: float | None  # do its values differ between wrong and right predictions
    missing_when_right: float
    missing_when_wrong: float
    drifted: bool = False


@dataclass(kw_only=True)
class DegradationResult(CheckResult):
    check: ClassVar[str] = "degradation"
    window: Window = given()
    compare_to: str = given()
    environment: str | None = given()
    periods: int = given()
    p_value: float = given()
    min_slice_rows: int = given()
    metric: str = "accuracy"
    threshold: float = 0.0
    current: Accuracy = field(default_factory=lambda: Accuracy(0, None, None))
    baseline: WindowBaseline | RecordedBaseline | None = None
    drop: float | None = optional()
    test: TwoProportionResult | None = optional()  # baseline window against the window
    first_below_threshold: str | None = None
    timeline: list[Period] = field(default_factory=list)
    slices: list[Slice] = field(default_factory=list)
    error_features: list[ErrorFeature] = field(default_factory=list)
    drifted_with_errors: list[str] = field(default_factory=list)


@dataclass
class Degradation(Check[DegradationResult | ErrorDegradationResult]):
    """When accuracy dropped (a regressor: its absolute error grew), which slices lost
    most, which drifted features go with it."""

    name: ClassVar[str] = "degradation"
    compare_to: str = "previous"
    periods: int = 4
    top: int = 10

    def run(self, context: Context) -> DegradationResult | ErrorDegradationResult:
        assert context.model is not None and context.window is not None
        if self.periods < 1:
            raise ConfigError("--periods must be at least 1", field="periods")
        policy = context.policy
        baseline = parse_baseline(self.compare_to)
        features = context.reference().info.feature_names
        columns = ["version", "ts", "prediction", *(f"in_{f}" for f in features), "label"]
        current = _labelled(context, context.window, columns, context.model.task)
        reference = context.reference(
            int(current["version"].value_counts().index[0]) if len(current) else None
        )
        base_window = baseline.window(context.window)
        before = (
            _labelled(context, base_window, columns, context.model.task) if base_window else None
        )
        if context.model.task == "regression":
            return self._regression(context, current, before, reference, base_window, features)
        result = DegradationResult(
            model=context.name, version=reference.info.version, verdict="pass",
            window=context.window, compare_to=baseline.label(),
            environment=context.environment, periods=self.periods,
            p_value=policy.drift.p_value, min_slice_rows=policy.monitoring.min_slice_rows,
            threshold=policy.thresholds.accuracy,
        )  # fmt: skip
        findings = Findings()
        _compare(context, reference, current, before, base_window, result, findings)
        result.timeline = _timeline(context.window, self.periods, base_window, current, before)
        below = [
            p for p in result.timeline
            if p.accuracy < result.threshold and p.rows >= result.min_slice_rows
        ]  # fmt: skip
        result.first_below_threshold = below[0].start if below else None
        kinds = feature_kinds({"columns": reference.columns}, features)
        result.slices = _slices(current, before, features, kinds, reference, result)[: self.top]
        _why(context, result, current, features, kinds)
        return replace(result, **findings.outcome())

    def _regression(
        self,
        context: Context,
        current: pd.DataFrame,
        before: pd.DataFrame | None,
        reference: Reference,
        base_window: Window | None,
        features: list[str],
    ) -> ErrorDegradationResult:
        assert context.window is not None
        policy = context.policy
        result = ErrorDegradationResult(
            model=context.name, version=reference.info.version, verdict="pass",
            window=context.window, compare_to=parse_baseline(self.compare_to).label(),
            environment=context.environment, periods=self.periods,
            p_value=policy.drift.p_value, min_slice_rows=policy.monitoring.min_slice_rows,
            allowance=policy.rollout.max_abs_error_increase,
        )  # fmt: skip
        findings = error_degradation(context, result, current, before, reference, base_window)
        result.slices = error_slices(current, before, features, reference, result)[: self.top]
        kinds = feature_kinds({"columns": reference.columns}, features)
        _why(context, result, current, features, kinds)
        return replace(result, **findings.outcome())


def _why(
    context: Context,
    result: DegradationResult | ErrorDegradationResult,
    current: pd.DataFrame,
    features: list[str],
    kinds: dict[str, str],
) -> None:
    """Which features differ between wrong and right predictions, and which of them
    drifted in the window."""
    result.error_features = _error_features(current, features, kinds)
    drifted = set(Drift().run(context).drifted)
    for entry in result.error_features:
        entry.drifted = entry.feature in drifted
    result.drifted_with_errors = [
        e.feature for e in result.error_features
        if e.drifted and e.p_value is not None and e.p_value < context.policy.drift.p_value
    ]  # fmt: skip


def _labelled(context: Context, window: Window, columns: list[str], task: str) -> pd.DataFrame:
    """The served, labelled predictions of ``window`` in time order, with ``correct``."""
    scan = context.scan(window, labels=True, status=("ok",), labelled=True)
    rows = frame(context.log.sample(scan, columns, rows=DETAIL_ROWS, order="ts"))
    if task == "regression":
        return with_errors(rows)
    if rows.empty:
        return rows.assign(correct=rows["label"].notna())
    return rows.assign(correct=rows["prediction"].astype(str) == rows["label"].astype(str))


def _accuracy(rows: pd.DataFrame) -> tuple[int, float | None, Any]:
    right, n = int(rows["correct"].sum()), len(rows)
    return n, (right / n if n else None), (wilson(right, n) if n else None)


def _compare(
    context: Context,
    reference: Reference,
    current: pd.DataFrame,
    before: pd.DataFrame | None,
    base_window: Window | None,
    result: DegradationResult,
    findings: Findings,
) -> None:
    """The accuracy now against the baseline window (a z-test) or the recorded one."""
    from modelward.stats import two_proportion

    result.current = Accuracy(*_accuracy(current))
    n_now, acc_now = result.current.rows, result.current.accuracy
    min_labels = context.policy.thresholds.min_labels
    if before is not None:
        baseline = WindowBaseline(*_accuracy(before), window=base_window)
        acc_before: float | None = baseline.accuracy
        result.baseline = baseline
    else:
        acc_before, source = recorded_metric(context.ws, reference.info, "accuracy")
        result.baseline = RecordedBaseline(acc_before, source)
    if n_now < min_labels:
        findings.short(f"too few labelled predictions to judge: {n_now} < {min_labels}")
        return
    if acc_before is None:  # nothing to compare with is not a pass
        findings.short(
            f"no labelled predictions in the comparison window {base_window.label()}; use "
            "--compare-to reference or a window that had labelled traffic"
            if base_window is not None
            else f"{reference.info.ref} has no recorded test accuracy to compare with; evaluate "
            "it (`modelward evaluate`) or use --compare-to previous"
        )
        return
    assert acc_now is not None
    result.drop = acc_before - acc_now
    if before is not None and len(before):
        test = two_proportion(
            int(before["correct"].sum()), len(before), int(current["correct"].sum()), n_now,
            alternative="less",
        )  # fmt: skip
        result.test = test
        if test.p_value < result.p_value:
            findings.breach(
                f"accuracy dropped {acc_before:.3f} -> {acc_now:.3f} ({len(before)} -> {n_now} "
                f"labelled; one-sided p={test.p_value:.3g} < {result.p_value})",
                "accuracy_drop",
            )
    elif result.drop > 0 and acc_now < result.threshold:
        findings.breach(
            f"accuracy {acc_now:.3f} < {result.threshold:.2f}, recorded {acc_before:.3f} at "
            "registration",
            "accuracy_drop",
        )


def _timeline(
    window: Window,
    periods: int,
    base_window: Window | None,
    current: pd.DataFrame,
    before: pd.DataFrame | None,
) -> list[Period]:
    """The accuracy per period: the baseline window, then the window in equal parts."""
    out = []
    for part, rows, first in period_rows(window, periods, base_window, current, before):
        n, value, (low, high) = _accuracy(rows)
        assert value is not None
        out.append(Period(part.start.isoformat(), part.end.isoformat(), n, value, low, high,
                          first))  # fmt: skip
    return out


def _slices(
    current: pd.DataFrame,
    before: pd.DataFrame | None,
    features: list[str],
    kinds: dict[str, str],
    reference: Reference,
    result: DegradationResult,
) -> list[Slice]:
    """Every feature's slices with enough rows, ranked by the correct predictions lost."""
    min_rows, profile = result.min_slice_rows, reference.columns
    baseline = result.baseline
    acc_before = (
        baseline.accuracy if isinstance(baseline, WindowBaseline) else baseline.recorded_accuracy
    ) if baseline is not None else None  # fmt: skip
    out: list[Slice] = []
    for feature in features if len(current) else []:
        now = slice_labels(current, feature, kinds[feature], profile.get(feature))
        then = None
        if before is not None and not before.empty:
            then = slice_labels(before, feature, kinds[feature], profile.get(feature))
        for label, rows in current.groupby(now):
            if len(rows) < min_rows:
                continue
            n, value, ci = _accuracy(rows)
            assert value is not None
            entry = Slice(feature, str(label), n, value, ci, baseline_accuracy=acc_before)
            if then is not None and before is not None:
                prior = before[then == label]
                if len(prior) >= min_rows:
                    entry.baseline_rows, entry.baseline_accuracy, entry.baseline_ci = _accuracy(
                        prior
                    )
            if entry.baseline_accuracy is not None:
                entry.drop = entry.baseline_accuracy - value
                entry.lost = n * entry.drop
            out.append(entry)
    return sorted(out, key=lambda e: -(e.lost if e.lost is not None else e.rows * (1 - e.accuracy)))


def _error_features(
    current: pd.DataFrame, features: list[str], kinds: dict[str, str]
) -> list[ErrorFeature]:
    """Per feature, whether its values differ between wrong and right predictions."""
    from modelward.stats.contingency import chi2_contingency
    from modelward.stats.ks import ks_2samp

    right_count = int(current["correct"].sum()) if len(current) else 0
    if not 0 < right_count < len(current):
        return []
    wrong, right = current[~current["correct"]], current[current["correct"]]
    out = []
    for feature in features:
        a, b = right[f"in_{feature}"], wrong[f"in_{feature}"]
        p_value = None
        if kinds[feature] == "numeric":
            x, y = a.dropna().to_numpy("float64"), b.dropna().to_numpy("float64")
            if len(x) >= 2 and len(y) >= 2:
                p_value = ks_2samp(x, y).p_value
        else:
            table = _contingency(a, b)
            if table.shape[1] >= 2:
                p_value = chi2_contingency(table).p_value
        out.append(ErrorFeature(feature, p_value, float(a.isna().mean()), float(b.isna().mean())))
    return sorted(out, key=lambda e: e.p_value if e.p_value is not None else 2.0)


def _contingency(a: pd.Series, b: pd.Series) -> Any:
    """Counts of each value (missing as its own value) in ``a`` and in ``b``."""
    import numpy as np
    import pandas as pd

    from modelward.data.profile import _key

    # pd.isna covers None, NaN and pd.NA (nullable integer columns hold pd.NA, which has no
    # truth value, so `v != v` would raise on it)
    ka = a.map(lambda v: "missing" if pd.isna(v) else _key(v))
    kb = b.map(lambda v: "missing" if pd.isna(v) else _key(v))
    levels = sorted(set(ka) | set(kb))
    ca, cb = ka.value_counts(), kb.value_counts()
    return np.array([[int(ca.get(k, 0)) for k in levels], [int(cb.get(k, 0)) for k in levels]])
