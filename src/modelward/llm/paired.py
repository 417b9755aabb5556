"""Is a new endpoint version worse than the one in production on the same dataset items?

Two ``llm-evaluation`` runs of the same dataset (equal ``dataset_sha256``) are paired item by
item (by id). McNemar's exact test on the per-item correctness decides accuracy; when the
scores are graded (a judge's 0.7, not only 0 or 1), Wilcoxon's signed-rank test on the
per-item scores decides too. The verdict is ``worse`` when a test finds a significant
loss (two-sided, α = 0.05), ``better`` for a significant gain and none lost, else ``no
significant difference``: a couple of unlucky items do not fail a version, a clearly worse
one does.
"""

from __future__ import annotations

from typing import Any

from modelward.stats import mcnemar

__all__ = ["ALPHA", "paired_items"]

ALPHA = 0.05


def _graded(scores: list[float]) -> bool:
    return any(s not in (0.0, 1.0) for s in scores)


def _wilcoxon(base: list[float], cand: list[float]) -> dict[str, Any] | None:
    import numpy as np
    from scipy.stats import wilcoxon

    delta = np.asarray(cand) - np.asarray(base)
    if not np.any(delta != 0):
        return None
    result = wilcoxon(cand, base)
    return {
        "statistic": float(result.statistic),
        "p_value": float(result.pvalue),
        "mean_difference": float(delta.mean()),
        "items_better": int((delta > 0).sum()),
        "items_worse": int((delta < 0).sum()),
    }


def paired_items(baseline: list[dict[str, Any]], candidate: list[dict[str, Any]]) -> dict[str, Any]:
    """Pair two evaluations' stored items (``id``, ``correct``, ``score``) by id and test
    the candidate against the baseline."""
    by_id = {str(row["id"]): row for row in candidate}
    pairs = [(row, by_id[str(row["id"])]) for row in baseline if str(row["id"]) in by_id]
    a_ok = [bool(a.get("correct")) for a, _ in pairs]
    b_ok = [bool(b.get("correct")) for _, b in pairs]
    signals: list[tuple[str, int]] = []
    tests: dict[str, Any] = {}
    if pairs:
        mc = mcnemar(a_ok, b_ok)
        diff = (sum(b_ok) - sum(a_ok)) / len(pairs)
        tests["mcnemar_accuracy"] = {**mc.to_dict(), "difference": diff}
        if mc.p_value < ALPHA and diff != 0:
            signals.append(("McNemar accuracy", 1 if diff > 0 else -1))
    scores = [(float(a.get("score") or 0.0), float(b.get("score") or 0.0)) for a, b in pairs]
    if scores and _graded([s for pair in scores for s in pair]):
        w = _wilcoxon([a for a, _ in scores], [b for _, b in scores])
        if w is not None:
            tests["wilcoxon_score"] = w
            if w["p_value"] < ALPHA and w["mean_difference"] != 0:
                signals.append(("Wilcoxon score", 1 if w["mean_difference"] > 0 else -1))
    ups = [name for name, sign in signals if sign > 0]
    downs = [name for name, sign in signals if sign < 0]
    verdict = "worse" if downs else ("better" if ups else "no significant difference")
    return {
        "verdict": verdict,
        "alpha": ALPHA,
        "items": len(pairs),
        "accuracy": {
            "baseline": sum(a_ok) / len(pairs) if pairs else None,
            "candidate": sum(b_ok) / len(pairs) if pairs else None,
        },
        "significant": {"better": ups, "worse": downs},
        "tests": tests,
    }
