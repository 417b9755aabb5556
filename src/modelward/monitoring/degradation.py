"""The degradation check: did a metric drop, when, which slices lost most, and which
drifted features go with the errors.

- the metric (accuracy by default) in the window against the baseline window
  (``--compare-to previous`` or ``window:7d``), with a one-sided two-proportion z-test
  (:func:`modelward.stats.two_proportion`): degraded when p < ``drift.p_value``;
  against ``reference`` the baseline is the version's recorded metric (no test);
- *when*: the metric per period (the window cut into ``periods`` equal parts, plus the
  baseline), and the first period below the threshold;
- *where*: every feature's slices (reference quartiles for numbers, categories, missing)
  with counts, accuracy and Wilson 95 % intervals now and before; ranked by the correct
  predictions lost (rows x drop);
- *why*: per feature, whether its values differ between wrong and right predictions
  (KS / chi-squared p-value), crossed with the feature drift of the window.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.monitoring.result import CheckResult, verdict_of
from modelward.monitoring.window import Window, parse_baseline, window_for

if TYPE_CHECKING:
    import pandas as pd

    from modelward.monitoring.monitor import Monitor

__all__ = ["degradation_check"]


def _correct(frame: pd.DataFrame, task: str) -> Any:
    if task == "regression":
        raise ConfigError(
            "degradation slices need a classifier; use `monitor metrics` for regression models"
        )
    return frame["prediction"].astype(str) == frame["label"].astype(str)


def degradation_check(
    monitor: Monitor,
    name: str,
    *,
    last: str = "24h",
    until: str | None = None,
    compare_to: str = "previous",
    periods: int = 4,
    top: int = 10,
    environment: str | None = "production",
    record: bool = True,
) -> CheckResult:
    from scipy.stats import chi2_contingency, ks_2samp

    from modelward.monitoring.samples import feature_kinds
    from modelward.monitoring.slices import slice_labels, wilson
    from modelward.stats import two_proportion

    if periods < 1:
        raise ConfigError("--periods must be at least 1", field="periods")
    model = monitor._model(name)
    policy = monitor.ws.policy
    window = window_for(last, until=until)
    baseline = parse_baseline(compare_to)
    threshold = policy.thresholds.accuracy
    min_rows = policy.monitoring.min_slice_rows
    info = monitor.ws.registry.get_version(name, "latest")
    features = info.feature_names
    columns = ["version", "ts", "prediction", *(f"in_{f}" for f in features)]
    current = monitor._ok_rows(name, window, environment, columns, labelled_only=True)
    if not current.empty:
        top_version = int(current["version"].value_counts().index[0])
        info = monitor.ws.registry.get_version(name, top_version)
    profile = (monitor.ws.registry.reference_profile(name, info.version) or {}).get("columns", {})
    kinds = feature_kinds({"columns": profile}, features)
    base_window = baseline.window(window)
    before = (
        monitor._ok_rows(name, base_window, environment, columns, labelled_only=True)
        if base_window is not None
        else None
    )
    results: dict[str, Any] = {"metric": "accuracy", "threshold": threshold}
    breaches: list[str] = []
    keys: list[str] = []
    n_now = len(current)
    insufficient = n_now < policy.thresholds.min_labels
    if not current.empty:
        current = current.assign(correct=_correct(current, model.task))
    acc_now = float(current["correct"].mean()) if n_now else None
    results["current"] = {
        "rows": n_now,
        "accuracy": acc_now,
        "ci": wilson(int(current["correct"].sum()), n_now) if n_now else None,
    }
    acc_before = None
    if before is not None:
        if not before.empty:
            before = before.assign(correct=_correct(before, model.task))
            acc_before = float(before["correct"].mean())
        results["baseline"] = {
            "rows": len(before),
            "accuracy": acc_before,
            "ci": wilson(int(before["correct"].sum()), len(before)) if len(before) else None,
            "window": base_window.to_dict() if base_window else None,
        }
    else:
        # evaluation stores {"test": {"accuracy": …}, "cv": …}; a flat key where logged so
        recorded = info.metrics.get("accuracy", (info.metrics.get("test") or {}).get("accuracy"))
        acc_before = float(recorded) if isinstance(recorded, int | float) else None
        results["baseline"] = {"recorded_accuracy": acc_before, "source": f"{info.ref} metrics"}
    if insufficient:
        breaches_text = [
            f"too few labelled predictions to judge: {n_now} < {policy.thresholds.min_labels}"
        ]
    elif acc_before is None:  # nothing to compare with is not a pass
        insufficient = True
        breaches_text = [
            f"no labelled predictions in the comparison window {base_window.label()}; use "
            "--compare-to reference or a window that had labelled traffic"
            if base_window is not None
            else f"{info.ref} has no recorded test accuracy to compare with; evaluate it "
            "(`modelward evaluate`) or use --compare-to previous"
        ]
    else:
        breaches_text = []
    if acc_now is not None and acc_before is not None and not insufficient:
        drop = acc_before - acc_now
        results["drop"] = drop
        if before is not None and len(before):
            test = two_proportion(
                int(before["correct"].sum()),
                len(before),
                int(current["correct"].sum()),
                n_now,
                alternative="less",
            )
            results["test"] = test.to_dict()
            if test.p_value < policy.drift.p_value:
                breaches.append(
                    f"accuracy dropped {acc_before:.3f} -> {acc_now:.3f} "
                    f"({len(before)} -> {n_now} labelled; one-sided p={test.p_value:.3g} < "
                    f"{policy.drift.p_value})"
                )
                keys.append("accuracy_drop")
        elif drop > 0 and acc_now < threshold:
            breaches.append(
                f"accuracy {acc_now:.3f} < {threshold:.2f}, recorded {acc_before:.3f} at "
                "registration"
            )
            keys.append("accuracy_drop")
    # when: the metric per period
    timeline: list[dict[str, Any]] = []
    step = window.length / periods
    parts = [Window(window.start + step * i, window.start + step * (i + 1)) for i in range(periods)]
    if base_window is not None:
        parts.insert(0, base_window)
    both = current if before is None or before.empty else _concat(before, current)
    if not both.empty:
        for i, part in enumerate(parts):
            rows = both[(both["ts"] >= part.start) & (both["ts"] < part.end)]
            if not len(rows):
                continue
            value = float(rows["correct"].mean())
            low, high = wilson(int(rows["correct"].sum()), len(rows))
            timeline.append(
                {
                    "start": part.start.isoformat(),
                    "end": part.end.isoformat(),
                    "rows": len(rows),
                    "accuracy": value,
                    "low": low,
                    "high": high,
                    "baseline": base_window is not None and i == 0,
                }
            )
        below = [p for p in timeline if p["accuracy"] < threshold and p["rows"] >= min_rows]
        results["first_below_threshold"] = below[0]["start"] if below else None
    results["timeline"] = timeline
    # where: slices
    slices = []
    if n_now:
        for feature in features:
            now_labels = slice_labels(current, feature, kinds[feature], profile.get(feature))
            before_labels = (
                slice_labels(before, feature, kinds[feature], profile.get(feature))
                if before is not None and not before.empty
                else None
            )
            for label, rows in current.groupby(now_labels):
                n = len(rows)
                if n < min_rows:
                    continue
                ok = int(rows["correct"].sum())
                entry: dict[str, Any] = {
                    "feature": feature,
                    "slice": str(label),
                    "rows": n,
                    "accuracy": ok / n,
                    "ci": wilson(ok, n),
                }
                base_acc = acc_before
                if before_labels is not None and before is not None:
                    prior = before[before_labels == label]
                    if len(prior) >= min_rows:
                        base_acc = float(prior["correct"].mean())
                        entry["baseline_rows"] = len(prior)
                        entry["baseline_ci"] = wilson(int(prior["correct"].sum()), len(prior))
                entry["baseline_accuracy"] = base_acc
                entry["drop"] = None if base_acc is None else base_acc - ok / n
                entry["lost"] = None if base_acc is None else n * (base_acc - ok / n)
                slices.append(entry)
        slices.sort(
            key=lambda e: -(e["lost"] if e["lost"] is not None else e["rows"] * (1 - e["accuracy"]))
        )
    results["slices"] = slices[:top]
    # why: features that differ between wrong and right predictions, and drift
    associated = []
    if n_now and 0 < int(current["correct"].sum()) < n_now:
        wrong = current[~current["correct"]]
        right = current[current["correct"]]
        for feature in features:
            column = f"in_{feature}"
            a, b = right[column], wrong[column]
            miss_a, miss_b = float(a.isna().mean()), float(b.isna().mean())
            p_value = None
            if kinds[feature] == "numeric":
                x = a.dropna().to_numpy("float64")
                y = b.dropna().to_numpy("float64")
                if len(x) >= 2 and len(y) >= 2:
                    p_value = float(ks_2samp(x, y).pvalue)
            else:
                table = _contingency(a, b)
                if table.shape[1] >= 2:
                    p_value = float(chi2_contingency(table).pvalue)
            associated.append(
                {
                    "feature": feature,
                    "p_value": p_value,
                    "missing_when_right": miss_a,
                    "missing_when_wrong": miss_b,
                }
            )
    drifted = _drifted(monitor, name, last, until, environment)
    for entry in associated:
        entry["drifted"] = entry["feature"] in drifted
    results["error_features"] = sorted(
        associated, key=lambda e: e["p_value"] if e["p_value"] is not None else 2.0
    )
    results["drifted_with_errors"] = [
        e["feature"]
        for e in results["error_features"]
        if e["drifted"] and e["p_value"] is not None and e["p_value"] < policy.drift.p_value
    ]
    return monitor.finish(
        CheckResult(
            check="degradation",
            model=name,
            version=info.version,
            verdict=verdict_of(breaches, insufficient),
            inputs={
                "window": window.to_dict(),
                "compare_to": baseline.label(),
                "environment": environment,
                "periods": periods,
                "p_value": policy.drift.p_value,
                "min_slice_rows": min_rows,
            },
            results=results,
            breaches=breaches or breaches_text,
            keys=keys or (["insufficient"] if insufficient else []),
        ),
        record=record,
    )


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


def _concat(a: pd.DataFrame, b: pd.DataFrame) -> pd.DataFrame:
    import pandas as pd

    return pd.concat([a, b], ignore_index=True)


def _drifted(
    monitor: Monitor, name: str, last: str, until: str | None, environment: str | None
) -> set[str]:
    alert, monitor.alert = monitor.alert, False
    try:
        result = monitor.drift(name, last=last, until=until, environment=environment, record=False)
    finally:
        monitor.alert = alert
    return set(result.results.get("drifted", []))
