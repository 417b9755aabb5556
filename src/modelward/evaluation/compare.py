"""Paired comparison of two versions scored on the same rows, with a verdict.

Binary classifiers below; multiclass (McNemar on correctness, paired bootstrap) and
regression (Wilcoxon on per-row absolute errors, paired bootstrap) at the end.

Point estimates alone cannot tell a real improvement from noise. On the same rows we run
McNemar's exact test on the per-row correctness (accuracy), DeLong's test on ROC-AUC, and a
paired bootstrap of every metric's difference. The verdict is ``better`` when at least one
test finds a significant improvement and none a significant loss, ``worse`` in the mirror
case, ``mixed`` when both happen, else ``no significant difference``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.evaluation.directions import higher_is_better
from modelward.evaluation.metrics import CHUNK_CELLS, _weighted, point_metrics, resample_weights
from modelward.evaluation.resampling import paired_differences
from modelward.stats import delong, mcnemar
from modelward.stats.bootstrap import _indices, _percentiles, two_sided_p

if TYPE_CHECKING:
    from modelward.evaluation.metrics import BinaryData
    from modelward.evaluation.multiclass import ClassData
    from modelward.evaluation.regression import RegressionData

__all__ = [
    "ALPHA",
    "compare_classes",
    "compare_paired",
    "compare_regression",
    "paired_metric_differences",
]

ALPHA = 0.05


def paired_metric_differences(
    base: BinaryData,
    cand: BinaryData,
    *,
    resamples: int = 1000,
    confidence: float = 0.95,
    seed: int = 0,
) -> dict[str, dict[str, Any]]:
    """``candidate - baseline`` for every metric, resampled on shared rows (vectorised).

    Same resamples and p-value rule as :func:`modelward.stats.paired_bootstrap`.
    """
    import numpy as np

    a, b = point_metrics(base), point_metrics(cand)
    indices = _indices(base.n, resamples, seed)
    chunk = max(1, min(250, CHUNK_CELLS // max(base.n, 1)))
    parts: dict[str, list[Any]] = {name: [] for name in a if name in b}
    for start in range(0, resamples, chunk):
        w = resample_weights(indices[start : start + chunk], base.n)
        da, db = _weighted(base, w), _weighted(cand, w)
        for name in parts:
            parts[name].append(db[name] - da[name])
    out: dict[str, dict[str, Any]] = {}
    for name in parts:
        draws = np.concatenate(parts[name])
        low, high = _percentiles(draws, confidence)
        p_value = two_sided_p(draws) if low is not None else None
        out[name] = {
            "baseline": a[name],
            "candidate": b[name],
            "difference": b[name] - a[name],
            "low": low,
            "high": high,
            "p_value": p_value,
        }
    return out


def compare_paired(
    y_true: Any, base: BinaryData, cand: BinaryData, *, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Tests and verdict for a candidate against a baseline on the same labelled rows."""
    tests: dict[str, Any] = {}
    correct_a = base.y_pred == base.y_true
    correct_b = cand.y_pred == cand.y_true
    mc = mcnemar(correct_a, correct_b)
    acc_diff = float(correct_b.mean() - correct_a.mean())
    tests["mcnemar_accuracy"] = {**mc.to_dict(), "difference": acc_diff}
    if base.y_score is not None and cand.y_score is not None and 0 < base.y_true.sum() < base.n:
        dl = delong(base.y_true, base.y_score, cand.y_score)
        tests["delong_roc_auc"] = dl.to_dict()
    differences = paired_metric_differences(base, cand, resamples=resamples, seed=seed)
    signals: list[tuple[str, int]] = []
    if mc.p_value < ALPHA and acc_diff != 0:
        signals.append(("McNemar accuracy", 1 if acc_diff > 0 else -1))
    if "delong_roc_auc" in tests:
        dl_result = tests["delong_roc_auc"]
        if dl_result["p_value"] < ALPHA and dl_result["difference"] != 0:
            signals.append(("DeLong ROC-AUC", 1 if dl_result["difference"] > 0 else -1))
    signals += _bootstrap_signals(differences, ("roc_auc", "accuracy"))
    return _outcome(signals, tests, differences)


def _outcome(
    signals: list[tuple[str, int]], tests: dict[str, Any], differences: dict[str, Any]
) -> dict[str, Any]:
    """The comparison: better / worse / mixed / no significant difference, from the
    significant signals (name, +1 better or -1 worse), with the tests and differences."""
    ups = [name for name, sign in signals if sign > 0]
    downs = [name for name, sign in signals if sign < 0]
    verdict = "no significant difference"
    if ups or downs:
        verdict = "mixed" if ups and downs else ("better" if ups else "worse")
    return {
        "verdict": verdict,
        "alpha": ALPHA,
        "significant": {"better": ups, "worse": downs},
        "tests": tests,
        "differences": differences,
    }


def _bootstrap_signals(
    differences: dict[str, dict[str, Any]], metrics: tuple[str, ...]
) -> list[tuple[str, int]]:
    signals = []
    for metric in metrics:
        diff = differences.get(metric)
        if not diff or diff["p_value"] is None or diff["difference"] is None:
            continue
        if diff["p_value"] < ALPHA and diff["difference"] != 0:
            sign = 1 if diff["difference"] > 0 else -1
            signals.append(
                (f"paired bootstrap {metric}", sign if higher_is_better(metric) else -sign)
            )
    return signals


def compare_classes(
    base: ClassData, cand: ClassData, *, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Multiclass: McNemar's exact test on per-row correctness, paired bootstrap of the rest."""
    from modelward.evaluation.multiclass import class_metrics

    correct_a, correct_b = base.correct(), cand.correct()
    mc = mcnemar(correct_a, correct_b)
    acc_diff = float(correct_b.mean() - correct_a.mean())
    tests = {"mcnemar_accuracy": {**mc.to_dict(), "difference": acc_diff}}
    differences = paired_differences(
        class_metrics(base), class_metrics(cand), base.n, resamples=resamples, seed=seed
    )
    differences = {k: v for k, v in differences.items() if not k.startswith("class:")}
    signals: list[tuple[str, int]] = []
    if mc.p_value < ALPHA and acc_diff != 0:
        signals.append(("McNemar accuracy", 1 if acc_diff > 0 else -1))
    signals += _bootstrap_signals(differences, ("accuracy", "f1_macro"))
    return _outcome(signals, tests, differences)


def compare_regression(
    base: RegressionData, cand: RegressionData, *, resamples: int = 1000, seed: int = 0
) -> dict[str, Any]:
    """Regression: Wilcoxon's signed-rank test on the per-row absolute errors (SciPy,
    two-sided) and a paired bootstrap of every metric's difference."""
    import numpy as np
    from scipy.stats import wilcoxon

    from modelward.evaluation.regression import regression_metrics

    err_a, err_b = base.abs_errors(), cand.abs_errors()
    delta = err_b - err_a  # negative: the candidate is closer
    tests: dict[str, Any] = {}
    if np.any(delta != 0):
        result = wilcoxon(err_b, err_a)
        tests["wilcoxon_absolute_error"] = {
            "statistic": float(result.statistic),
            "p_value": float(result.pvalue),
            "mean_difference": float(delta.mean()),
            "median_difference": float(np.median(delta)),
            "rows_better": int((delta < 0).sum()),
            "rows_worse": int((delta > 0).sum()),
        }
    differences = paired_differences(
        regression_metrics(base), regression_metrics(cand), base.n, resamples=resamples, seed=seed
    )
    signals: list[tuple[str, int]] = []
    w = tests.get("wilcoxon_absolute_error")
    if w and w["p_value"] < ALPHA:
        shift = w["median_difference"] or w["mean_difference"]
        if shift:
            signals.append(("Wilcoxon absolute error", 1 if shift < 0 else -1))
    signals += _bootstrap_signals(differences, ("mae", "rmse"))
    return _outcome(signals, tests, differences)
