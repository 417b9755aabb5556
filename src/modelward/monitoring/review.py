"""Reviewing predictions: misclassified and low-confidence ones, with their inputs, the
features that pushed each one (occlusion: the change in the positive-class probability
when the feature is replaced by its reference median or most common value), and the
patterns the reviewed rows share against all rows of the window."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.monitoring.result import CheckResult
from modelward.timeutil import parse_duration

if TYPE_CHECKING:
    import pandas as pd

    from modelward.monitoring.monitor import Monitor

__all__ = ["review_check"]

#: ``--last`` with a bare number means "the last N predictions"; that many days are read.
COUNT_LOOKBACK = "90d"


def _last(last: str) -> tuple[int | None, str]:
    text = str(last).strip()
    if text.isdigit():
        count = int(text)
        if count < 1:
            raise ConfigError("--last N needs N >= 1", field="last")
        return count, COUNT_LOOKBACK
    parse_duration(text, what="--last")
    return None, text


def _baseline_row(profile: dict[str, Any], features: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for feature in features:
        column = profile.get(feature, {})
        if column.get("kind") == "numeric" and column.get("quantiles"):
            out[feature] = column["quantiles"][50]
        elif column.get("categories"):
            top = max(column["categories"].items(), key=lambda kv: kv[1])[0]
            try:
                out[feature] = float(top)
            except ValueError:
                out[feature] = top
        else:
            out[feature] = None
    return out


def _contributions(
    flavor: Any, rows: pd.DataFrame, features: list[str], baseline: dict[str, Any]
) -> list[dict[str, float]]:
    """Occlusion contributions: p(x) - p(x with feature := reference value)."""
    import numpy as np

    x = rows[features].reset_index(drop=True)
    proba = flavor.predict_proba(x)
    if proba is None:
        return [{} for _ in range(len(x))]
    proba = np.asarray(proba)
    base = proba[:, -1]
    out = [dict() for _ in range(len(x))]  # type: list[dict[str, float]]
    for feature in features:
        changed = x.copy()
        changed[feature] = baseline[feature]
        delta = base - np.asarray(flavor.predict_proba(changed))[:, -1]
        for i, value in enumerate(delta):
            out[i][feature] = float(value)
    return out


def _patterns(
    reviewed: pd.DataFrame, everything: pd.DataFrame, features: list[str], kinds: dict[str, str]
) -> list[dict[str, Any]]:
    """What the reviewed rows share more than the window does (missing values, categories,
    higher or lower values), strongest first."""
    import pandas as pd

    from modelward.data.profile import _key

    out = []
    for feature in features:
        column = f"in_{feature}"
        a, b = reviewed[column], everything[column]
        miss_a, miss_b = float(a.isna().mean()), float(b.isna().mean())
        if miss_a - miss_b >= 0.1:
            out.append(
                {
                    "feature": feature,
                    "pattern": f"{feature} missing",
                    "share_reviewed": miss_a,
                    "share_all": miss_b,
                    "lift": miss_a - miss_b,
                }
            )
        if kinds[feature] == "categorical":
            ka = a.dropna().map(_key).value_counts(normalize=True)
            kb = b.dropna().map(_key).value_counts(normalize=True)
            for key, share in ka.items():
                lift = float(share) - float(kb.get(key, 0.0))
                if lift >= 0.1:
                    out.append(
                        {
                            "feature": feature,
                            "pattern": f"{feature} = {key}",
                            "share_reviewed": float(share),
                            "share_all": float(kb.get(key, 0.0)),
                            "lift": lift,
                        }
                    )
        else:
            va = pd.to_numeric(a, errors="coerce").dropna()
            vb = pd.to_numeric(b, errors="coerce").dropna()
            if len(va) >= 3 and len(vb) >= 3 and vb.std() > 0:
                shift = float((va.median() - vb.median()) / vb.std())
                if abs(shift) >= 0.3:
                    word = "higher" if shift > 0 else "lower"
                    out.append(
                        {
                            "feature": feature,
                            "pattern": f"{feature} {word} (median {va.median():g} vs "
                            f"{vb.median():g})",
                            "share_reviewed": None,
                            "share_all": None,
                            "lift": abs(shift),
                        }
                    )
    return sorted(out, key=lambda p: -p["lift"])


def review_check(
    monitor: Monitor,
    name: str,
    *,
    last: str = "100",
    until: str | None = None,
    failed_only: bool = False,
    limit: int = 20,
    environment: str | None = "production",
    record: bool = True,
) -> CheckResult:
    import numpy as np

    from modelward.monitoring.samples import feature_kinds
    from modelward.monitoring.window import window_for

    model = monitor._model(name)
    count, span = _last(last)
    window = window_for(span, until=until)
    info = monitor.ws.registry.get_version(name, "latest")
    features = info.feature_names
    columns = [
        "request_id",
        "ts",
        "version",
        "prediction",
        "score",
        "proba",
        *(f"in_{f}" for f in features),
    ]
    frame = monitor._ok_rows(name, window, environment, columns)
    frame = frame.sort_values("ts")
    if count is not None:
        frame = frame.tail(count)
    frame = frame.reset_index(drop=True)
    threshold = monitor.ws.policy.monitoring.low_confidence
    if model.task == "regression":
        raise ConfigError("review needs a classifier; for regression use `monitor degradation`")
    labelled = frame["label"].notna()
    wrong = labelled & (frame["prediction"].astype(str) != frame["label"].astype(str))
    scores = frame["score"].astype("float64").to_numpy()
    confidence: Any = scores
    if model.task == "binary-classification":
        confidence = np.maximum(scores, 1 - scores)
    low: Any = confidence < threshold
    picked = wrong if failed_only else (wrong | low)
    reviewed = frame[picked]
    items: list[dict[str, Any]] = []
    patterns: list[dict[str, Any]] = []
    if len(reviewed):
        version = int(reviewed["version"].value_counts().index[0])
        profile = (monitor.ws.registry.reference_profile(name, version) or {}).get("columns", {})
        kinds = feature_kinds({"columns": profile}, features)
        flavor = monitor.ws.load_model(name, version)
        inputs = (
            reviewed[[f"in_{f}" for f in features]]
            .rename(columns=lambda c: c[3:])
            .reset_index(drop=True)
        )
        shown = inputs.head(limit)
        contributions = _contributions(flavor, shown, features, _baseline_row(profile, features))
        for i, (position, row) in enumerate(reviewed.head(limit).iterrows()):
            at: Any = position
            top = sorted(contributions[i].items(), key=lambda kv: -abs(kv[1]))[:3]
            items.append(
                {
                    "request_id": row["request_id"],
                    "ts": row["ts"].isoformat(),
                    "version": int(row["version"]),
                    "prediction": row["prediction"],
                    "label": row["label"],
                    "score": None if row["score"] != row["score"] else float(row["score"]),
                    "confidence": _plain(confidence[at]),
                    "why": "misclassified" if bool(wrong[at]) else "low confidence",
                    "inputs": {f: _plain(shown.iloc[i][f]) for f in features},
                    "contributions": dict(top),
                }
            )
        patterns = _patterns(reviewed, frame, features, kinds)
    return monitor.finish(
        CheckResult(
            check="review",
            model=name,
            verdict="info",
            inputs={
                "last": last,
                "window": window.to_dict(),
                "failed_only": failed_only,
                "low_confidence": threshold,
                "environment": environment,
            },
            results={
                "rows": len(frame),
                "labelled": int(labelled.sum()),
                "misclassified": int(wrong.sum()),
                "low_confidence": int(low.sum()),
                "reviewed": int(len(reviewed)),
                "items": items,
                "patterns": patterns[:10],
            },
        ),
        record=record,
    )


def _plain(value: Any) -> Any:
    """A JSON-ready scalar; None for every kind of missing (None, NaN, pandas' NA)."""
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value
