"""The drift check: each feature of the busiest version's input schema against its stored
reference profile (``--compare-to reference``) or an earlier window of the log, with the
drift methods of :mod:`modelward.monitoring.drift` (Evidently's defaults, overridable per
feature). Drifted when the share of drifted features reaches ``drift.max_drifted_share``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from modelward.errors import ConfigError
from modelward.monitoring.checks.base import Check
from modelward.monitoring.drift import METHODS, DriftScore, Sample, choose_method
from modelward.monitoring.result import CheckResult, Findings, given, optional
from modelward.monitoring.samples import (
    array_samples,
    feature_kinds,
    histogram,
    reference_samples,
)
from modelward.monitoring.window import Window, parse_baseline
from modelward.predlog.engine import Scan
from modelward.predlog.reader import arrays

if TYPE_CHECKING:
    from modelward.monitoring.context import Context, Reference

__all__ = ["MAX_ROWS", "Drift", "DriftResult", "FeatureDrift", "parse_methods"]

#: Above this many rows in a window, drift reads a consistent hash sample of about this
#: many requests. Kolmogorov-Smirnov's effective size n*m/(n+m) is then within 5 % of the
#: reference's size up to 5 000 reference rows, and the distances' sampling error is
#: ~1e-3, two orders below their 0.1 threshold.
MAX_ROWS = 100_000


@dataclass
class FeatureDrift:
    kind: str  # numeric | categorical
    method: str
    reference_rows: int
    current_rows: int
    note: str | None = optional()  # why it was not compared
    score: DriftScore | None = optional(flatten=True)
    histogram: dict[str, Any] | None = optional()  # reference vs current shares

    @property
    def statistic(self) -> float | None:
        return self.score.statistic if self.score else None

    @property
    def p_value(self) -> float | None:
        return self.score.p_value if self.score else None

    @property
    def threshold(self) -> float | None:
        return self.score.threshold if self.score else None

    @property
    def drifted(self) -> bool:
        return bool(self.score and self.score.drifted)


@dataclass(kw_only=True)
class DriftResult(CheckResult):
    check: ClassVar[str] = "drift"
    window: Window = given()
    compare_to: str = given()
    baseline_window: Window | None = given()
    environment: str | None = given()
    compared: list[str] = given(key="features")
    methods: dict[str, str] = given()
    max_drifted_share: float = given()
    p_value: float = given()
    distance_threshold: float = given()
    features: dict[str, FeatureDrift] = field(default_factory=dict)
    drifted: list[str] = field(default_factory=list)
    drifted_share: float = 0.0
    rows: int = 0
    skipped: list[str] = field(default_factory=list)


@dataclass
class Drift(Check[DriftResult]):
    """Per-feature drift against the reference profile or an earlier window."""

    name: ClassVar[str] = "drift"
    compare_to: str = "reference"
    features: list[str] | None = None
    methods: dict[str, str] | None = None
    version: int | None = None

    def run(self, context: Context) -> DriftResult:
        assert context.model is not None and context.window is not None
        if context.model.task == "text-generation":
            raise ConfigError(
                f"feature drift is defined for tabular models and {context.name} is an LLM "
                f"endpoint; use `modelward monitor predictions {context.name}` for its "
                "traffic, cost and response times"
            )
        policy = context.policy.drift
        baseline = parse_baseline(self.compare_to)
        reference = context.reference(
            self.version if self.version is not None else context.busiest()
        )
        wanted = self._wanted(reference.info.feature_names, reference.info.ref)
        overrides = {**policy.methods, **(self.methods or {})}
        bad = [f for f in overrides if f not in reference.info.feature_names]
        if bad and self.methods:
            raise ConfigError(
                f"--method names unknown feature(s) {', '.join(bad)}; choose from "
                f"{', '.join(reference.info.feature_names)}",
                field="method",
            )
        kinds = feature_kinds(reference.profile, wanted)
        scan = context.scan(status=("ok",), version=self.version)
        rows, current = array_samples(_arrays(context, scan, kinds), kinds)
        base_window = baseline.window(context.window)
        base_rows = None
        if base_window is None:
            samples = reference_samples(reference.profile, kinds)
        else:
            earlier = context.scan(base_window, status=("ok",), version=self.version)
            base_rows, samples = array_samples(_arrays(context, earlier, kinds), kinds)

        def method(f: str) -> str:
            return self._method(f, kinds[f], samples[f], current[f], overrides, context)

        # every row's categories and (Wasserstein) values where the samples are a part
        units: dict[str, float | None] = {
            f: None if kinds[f] == "categorical" else _unit(samples[f])
            for f in wanted
            if kinds[f] == "categorical" or method(f) == "wasserstein"
        }
        _count_whole(context, scan, current, units)
        if base_window is not None:
            _count_whole(context, earlier, samples, units)
        methods = {f: method(f) for f in wanted}
        features = {
            f: self._compare(f, kinds[f], methods[f], samples[f], current[f], reference, context)
            for f in wanted
        }
        return _judged(context, reference, features, rows, base_rows, base_window, result={
            "compare_to": baseline.label(), "compared": wanted, "methods": overrides,
        })  # fmt: skip

    def _wanted(self, known: list[str], ref: str) -> list[str]:
        """The features asked for (``all`` or none: every one), checked."""
        wanted = known if not self.features or self.features == ["all"] else self.features
        twice = sorted({f for f in wanted if wanted.count(f) > 1})
        if twice:
            raise ConfigError(
                f"--features lists {', '.join(twice)} more than once; name each feature once",
                field="features",
            )
        unknown = [f for f in wanted if f not in known]
        if unknown:
            raise ConfigError(
                f"unknown feature(s) {', '.join(unknown)} for {ref}; choose from "
                f"{', '.join(known)} or all",
                field="features",
            )
        return list(wanted)

    def _method(
        self,
        feature: str,
        kind: str,
        ref: Sample,
        cur: Sample,
        overrides: dict[str, str],
        context: Context,
    ) -> str:
        """The feature's method: the override, else the default for its kind, the
        reference's size and (categories) how many categories both samples have."""
        policy = context.policy.drift
        categories = len(set(ref.counts or {}) | set(cur.counts or {}))
        return overrides.get(feature) or choose_method(
            kind, ref.rows, categories=categories, small_sample_rows=policy.small_sample_rows
        )

    def _compare(
        self,
        feature: str,
        kind: str,
        method: str,
        ref: Sample,
        cur: Sample,
        reference: Reference,
        context: Context,
    ) -> FeatureDrift:
        """One feature's drift: its method's score and the report's histogram."""
        import numpy as np

        policy = context.policy.drift
        entry = FeatureDrift(kind, method, ref.rows, len(cur))
        if len(cur) == 0 or len(ref) == 0:
            entry.note = "no values to compare (all missing)"
            return entry
        if METHODS[method].numeric_only and kind != "numeric":
            source = (
                "--method" if feature in (self.methods or {}) else "drift.methods in policy.yml"
            )
            raise ConfigError(
                f"drift method {method} needs a numeric feature and {feature} is categorical; "
                f"use chi2, jensenshannon or psi for it in {source}",
                field="method",
            )
        column = reference.columns.get(feature)
        if cur.kind == "numeric" and ref.kind == "numeric":
            # the values below the test's points and the report's edges, in one pass
            edges = (column or {}).get("histogram", {}).get("edges", [])
            tested = ref.values if method == "ks" and len(ref) <= len(cur) else []
            cur.know(np.concatenate([np.asarray(edges, "float64"), tested]))
        threshold = policy.p_value if METHODS[method].criterion == "p_value" else (
            policy.distance_threshold
        )  # fmt: skip
        entry.score = METHODS[method](threshold).score(ref, cur)
        entry.histogram = histogram(ref, cur, column)
        return entry


#: A large window's values are counted rounded to this share of the reference's spread:
#: each moves at most half of it, so the normalized Wasserstein distance is within
#: 1 / (2 * ROUNDING) = 0.00025 of the exact one on that side.
ROUNDING = 2000


def _unit(reference: Sample) -> float:
    from modelward.monitoring.drift.wasserstein import MIN_SPREAD

    return max(reference.whole().std, MIN_SPREAD) / ROUNDING


def _count_whole(
    context: Context, scan: Scan, samples: dict[str, Sample], units: dict[str, float | None]
) -> None:
    """When the samples are a hash sample of the scan, count every row of it instead,
    in one pass (a grouping set per feature): the categories of the categorical features
    (unit None), exactly, and for the numeric ones the distribution of their values
    rounded to the unit. A window of all rows is exact already."""
    from modelward.monitoring.samples import counted_categories, counted_distributions
    from modelward.predlog.engine import column, grouping_sets

    present = {f: u for f, u in units.items() if scan.has(f"in_{f}")}
    if not present or scan.empty or context.log.rate(scan, MAX_ROWS) >= 1.0:
        return
    keys = [
        column(f"in_{f}")
        if u is None
        else f"round(TRY_CAST({column(f'in_{f}')} AS DOUBLE) / {u!r})"
        for f, u in present.items()
    ]
    select, group_by = grouping_sets(keys)
    found = context.log.aggregate_columns(scan, select, group_by=group_by)
    for feature, whole in counted_distributions(found, present).items():
        samples[feature].distribution = whole
    for feature, counts in counted_categories(found, present).items():
        samples[feature].counts = counts
        samples[feature].rows = sum(counts.values())


def _arrays(context: Context, scan: Scan, kinds: dict[str, str]) -> dict[str, Any]:
    """The features' values in (a hash sample of about ``MAX_ROWS`` of) the scan; of a
    sample only the numeric ones when there are some (:func:`_count_whole` counts the
    categories over every row)."""
    features = list(kinds)
    if context.log.rate(scan, MAX_ROWS) < 1.0:
        features = [f for f in kinds if kinds[f] == "numeric"] or features
    present = [f"in_{f}" for f in features if scan.has(f"in_{f}")]
    if not present or scan.empty:
        return {}
    return arrays(context.log.sample(scan, present, rows=MAX_ROWS))


def _judged(
    context: Context,
    reference: Reference,
    features: dict[str, FeatureDrift],
    rows: int,
    base_rows: int | None,
    base_window: Window | None,
    result: dict[str, Any],
) -> DriftResult:
    policy = context.policy.drift
    drifted = [f for f, entry in features.items() if entry.drifted]
    skipped = [f for f, entry in features.items() if entry.score is None]
    judged = len(features) - len(skipped)
    share = len(drifted) / judged if judged else 0.0
    findings = Findings()
    if judged and share >= policy.max_drifted_share:
        detail = ", ".join(f"{f} ({features[f].method} {_figure(features[f])})" for f in drifted)
        findings.breach(
            f"{len(drifted)} of {judged} features drifted ({share:.0%} >= "
            f"{policy.max_drifted_share:.0%}): {detail}",
            *(f"drift:{f}" for f in drifted),
            critical=share >= 2 * policy.max_drifted_share and share >= 0.5,
        )
    assert context.window is not None
    if rows == 0:  # nothing compared is not a pass
        findings.short(f"no predictions in {context.window.label()}")
    elif base_rows == 0 and base_window is not None:
        findings.short(
            f"no predictions in the comparison window {base_window.label()}; compare with "
            "--compare-to reference or a window that had traffic"
        )
    return DriftResult(
        model=context.name, version=reference.info.version, **findings.outcome(),
        window=context.window, baseline_window=base_window, environment=context.environment,
        max_drifted_share=policy.max_drifted_share, p_value=policy.p_value,
        distance_threshold=policy.distance_threshold, features=features, drifted=drifted,
        drifted_share=share, rows=int(rows), skipped=skipped, **result,
    )  # fmt: skip


def _figure(entry: FeatureDrift) -> str:
    if entry.p_value is not None:
        return f"p={entry.p_value:.3g}"
    return f"{entry.statistic:.3f}"


def parse_methods(text: list[str] | None) -> dict[str, str]:
    """``["chol=psi", "thal=jensenshannon"]`` -> ``{"chol": "psi", …}``."""
    out: dict[str, str] = {}
    for item in text or []:
        for part in item.split(","):
            if not part.strip():
                continue
            feature, sep, method = part.partition("=")
            method = method.strip()
            if not sep or method not in METHODS:
                raise ConfigError(
                    f"--method {part.strip()!r} must be FEATURE=METHOD with METHOD one of "
                    f"{', '.join(sorted(METHODS))}",
                    field="method",
                )
            out[feature.strip()] = method
    return out
