"""The review: misclassified and low-confidence predictions, with their inputs, the
features that pushed each one (occlusion: the change in the positive-class probability
when the feature is replaced by its reference median or most common value), and the
patterns the reviewed rows share against all rows read.

``--last 100`` reviews the 100 newest served predictions (of the last 90 days);
``--last 24h`` the window (above ``degradation.DETAIL_ROWS`` requests, a consistent hash
sample of about that many).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, ClassVar

from modelward.errors import ConfigError
from modelward.monitoring.checks.base import Check
from modelward.monitoring.checks.degradation import DETAIL_ROWS
from modelward.monitoring.result import CheckResult, given
from modelward.monitoring.samples import feature_kinds
from modelward.monitoring.window import Window, window_for
from modelward.predlog.reader import frame
from modelward.timeutil import parse_duration

if TYPE_CHECKING:
    import pandas as pd

    from modelward.monitoring.context import Context

__all__ = ["Pattern", "Review", "ReviewItem", "ReviewResult"]

#: ``--last`` with a bare number means "the last N predictions"; that many days are read.
COUNT_LOOKBACK = "90d"


@dataclass
class ReviewItem:
    request_id: str
    ts: str
    version: int
    prediction: Any
    label: Any
    score: float | None
    confidence: float | None
    why: str  # misclassified | low confidence | large error
    inputs: dict[str, Any]
    contributions: dict[str, float]  # the three features that moved it most
    error: float | None = None  # regression: |prediction - label|


@dataclass
class Pattern:
    feature: str
    pattern: str
    share_reviewed: float | None
    share_all: float | None
    lift: float


@dataclass(kw_only=True)
class ReviewResult(CheckResult):
    check: ClassVar[str] = "review"
    last: str = given()
    window: Window = given()
    failed_only: bool = given()
    confidence_below: float = given(key="low_confidence")
    environment: str | None = given()
    rows: int = 0
    labelled: int = 0
    misclassified: int = 0
    low_confidence: int = 0
    reviewed: int = 0
    large_errors: int = 0  # regression: labelled rows in the top decile of absolute error
    items: list[ReviewItem] = field(default_factory=list)
    patterns: list[Pattern] = field(default_factory=list)


def _last(last: str) -> tuple[int | None, str]:
    text = str(last).strip()
    if text.isdigit():
        count = int(text)
        if count < 1:
            raise ConfigError("--last N needs N >= 1", field="last")
        return count, COUNT_LOOKBACK
    parse_duration(text, what="--last")
    return None, text


@dataclass
class Review(Check[ReviewResult]):
    """Misclassified and low-confidence predictions, their inputs, contributions, patterns."""

    name: ClassVar[str] = "review"
    last: ClassVar[str | None] = "100"
    failed_only: bool = False
    limit: int = 20

    def window(self, last: str, until: str | datetime | None) -> Window:
        return window_for(_last(last)[1], until=until)

    def run(self, context: Context) -> ReviewResult:
        import numpy as np

        assert context.model is not None and context.window is not None
        count = _last(context.last or "100")[0]
        features = context.reference().info.feature_names
        columns = ["request_id", "ts", "version", "prediction", "score", "proba"]
        columns += [*(f"in_{f}" for f in features), "label"]
        scan = context.scan(labels=True, status=("ok",))
        if count is not None:  # the newest ``count``, oldest first
            rows = frame(context.log.rows(scan, columns, order="latest", limit=count))
        else:
            rows = frame(context.log.sample(scan, columns, rows=DETAIL_ROWS, order="ts"))
        threshold = context.policy.monitoring.low_confidence
        if context.model.task == "regression":
            return self._regression(context, rows, features, threshold)
        labelled = rows["label"].notna()
        wrong = labelled & (rows["prediction"].astype(str) != rows["label"].astype(str))
        confidence: Any = rows["score"].astype("float64").to_numpy()
        if context.model.task == "binary-classification":
            confidence = np.maximum(confidence, 1 - confidence)
        low: Any = confidence < threshold
        picked = rows[wrong if self.failed_only else (wrong | low)]
        items, patterns = _reviewed(context, rows, picked, features, wrong, confidence, self.limit)
        return ReviewResult(
            model=context.name, verdict="info", last=context.last or "100",
            window=context.window, failed_only=self.failed_only, confidence_below=threshold,
            environment=context.environment, rows=len(rows), labelled=int(labelled.sum()),
            misclassified=int(wrong.sum()), low_confidence=int(low.sum()),
            reviewed=int(len(picked)), items=items, patterns=patterns[:10],
        )  # fmt: skip

    def _regression(
        self, context: Context, rows: pd.DataFrame, features: list[str], threshold: float
    ) -> ReviewResult:
        """The largest errors (the labelled rows in the top decile of absolute error),
        largest first, with the features that moved each prediction most."""
        import pandas as pd

        labelled = rows["label"].notna()
        error = (
            pd.to_numeric(rows["prediction"], errors="coerce")
            - pd.to_numeric(rows["label"], errors="coerce")
        ).abs()
        cut = float(error[labelled].quantile(LARGE_ERROR_QUANTILE)) if labelled.any() else 0.0
        large = labelled & (error >= cut)
        picked = rows[large].loc[error[large].sort_values(ascending=False).index]
        items, patterns = _reviewed(
            context, rows, picked, features, large, error, self.limit, regression=True
        )
        assert context.window is not None
        return ReviewResult(
            model=context.name, verdict="info", last=context.last or "100",
            window=context.window, failed_only=self.failed_only, confidence_below=threshold,
            environment=context.environment, rows=len(rows), labelled=int(labelled.sum()),
            large_errors=int(large.sum()), reviewed=int(len(picked)), items=items,
            patterns=patterns[:10],
        )  # fmt: skip


#: A regression review lists the labelled predictions at or above this quantile of
#: absolute error.
LARGE_ERROR_QUANTILE = 0.9


def _reviewed(
    context: Context,
    rows: pd.DataFrame,
    picked: pd.DataFrame,
    features: list[str],
    wrong: Any,
    confidence: Any,
    limit: int,
    *,
    regression: bool = False,
) -> tuple[list[ReviewItem], list[Pattern]]:
    """The first ``limit`` reviewed rows with their contributions, and the patterns
    (``regression``: ``confidence`` holds each row's absolute error)."""
    """The first ``limit`` reviewed rows with their contributions, and the patterns."""
    if not len(picked):
        return [], []
    version = int(picked["version"].value_counts().index[0])
    reference = context.reference(version)
    profile = reference.columns
    flavor = context.ws.load_model(context.name, version)
    inputs = picked[[f"in_{f}" for f in features]].rename(columns=lambda c: c[3:])
    shown = inputs.reset_index(drop=True).head(limit)
    contributions = _contributions(flavor, shown, features, _baseline_row(profile, features))
    items = []
    for i, (at, row) in enumerate(picked.head(limit).iterrows()):
        top = sorted(contributions[i].items(), key=lambda kv: -abs(kv[1]))[:3]
        items.append(
            ReviewItem(
                request_id=row["request_id"],
                ts=row["ts"].isoformat(),
                version=int(row["version"]),
                prediction=row["prediction"],
                label=row["label"],
                score=None if row["score"] != row["score"] else float(row["score"]),
                confidence=None if regression else _plain(confidence[at]),
                why=_why(regression, bool(wrong[at])),
                inputs={f: _plain(shown.iloc[i][f]) for f in features},
                contributions=dict(top),
                error=_plain(confidence[at]) if regression else None,
            )  # fmt: skip
        )
    kinds = feature_kinds({"columns": profile}, features)
    return items, _patterns(picked, rows, features, kinds)


def _why(regression: bool, wrong: bool) -> str:
    if regression:
        return "large error"
    return "misclassified" if wrong else "low confidence"


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
    """Occlusion contributions: p(x) - p(x with feature := reference value), with p the
    last class's probability, or the predicted value of a model without probabilities
    (a regressor)."""
    import numpy as np

    def output(frame: pd.DataFrame) -> Any:
        proba = flavor.predict_proba(frame)
        if proba is None:
            return np.asarray(flavor.predict(frame), dtype="float64").reshape(len(frame))
        return np.asarray(proba)[:, -1]

    x = rows[features].reset_index(drop=True)
    base = output(x)
    out: list[dict[str, float]] = [{} for _ in range(len(x))]
    for feature in features:
        changed = x.copy()
        changed[feature] = baseline[feature]
        delta = base - output(changed)
        for i, value in enumerate(delta):
            out[i][feature] = float(value)
    return out


def _patterns(
    reviewed: pd.DataFrame, everything: pd.DataFrame, features: list[str], kinds: dict[str, str]
) -> list[Pattern]:
    """What the reviewed rows share more than all rows do (missing values, categories,
    higher or lower values), strongest first."""
    out = []
    for feature in features:
        a, b = reviewed[f"in_{feature}"], everything[f"in_{feature}"]
        miss_a, miss_b = float(a.isna().mean()), float(b.isna().mean())
        if miss_a - miss_b >= 0.1:
            out.append(Pattern(feature, f"{feature} missing", miss_a, miss_b, miss_a - miss_b))
        if kinds[feature] == "categorical":
            out += _category_patterns(feature, a, b)
        else:
            out += _shift_patterns(feature, a, b)
    return sorted(out, key=lambda p: -p.lift)


def _category_patterns(feature: str, a: pd.Series, b: pd.Series) -> list[Pattern]:
    from modelward.monitoring.samples import category_key

    ka = a.dropna().map(category_key).value_counts(normalize=True)
    kb = b.dropna().map(category_key).value_counts(normalize=True)
    out = []
    for key, share in ka.items():
        lift = float(share) - float(kb.get(key, 0.0))
        if lift >= 0.1:
            pattern = f"{feature} = {key}"
            out.append(Pattern(feature, pattern, float(share), float(kb.get(key, 0.0)), lift))
    return out


def _shift_patterns(feature: str, a: pd.Series, b: pd.Series) -> list[Pattern]:
    import pandas as pd

    va = pd.to_numeric(a, errors="coerce").dropna()
    vb = pd.to_numeric(b, errors="coerce").dropna()
    if len(va) < 3 or len(vb) < 3 or not vb.std() > 0:
        return []
    shift = float((va.median() - vb.median()) / vb.std())
    if abs(shift) < 0.3:
        return []
    word = "higher" if shift > 0 else "lower"
    text = f"{feature} {word} (median {va.median():g} vs {vb.median():g})"
    return [Pattern(feature, text, None, None, abs(shift))]


def _plain(value: Any) -> Any:
    """A JSON-ready scalar; None for every kind of missing (None, NaN, pandas' NA)."""
    import pandas as pd

    if value is None or (pd.api.types.is_scalar(value) and pd.isna(value)):
        return None
    return value.item() if hasattr(value, "item") else value
