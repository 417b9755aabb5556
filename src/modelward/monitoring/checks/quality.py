"""The data-quality check: what arrived in the window against the version's input schema,
its reference profile and the policy.

- missing rate per feature against ``data.max_missing_rate`` (runbook: < 5 %);
- out-of-range values (outside the training min..max) against
  ``monitoring.max_out_of_range_share``;
- zeros where the reference never had any (placeholder zeros such as Switzerland's
  ``chol = 0``) against ``monitoring.max_zero_share``;
- unseen categories against ``monitoring.max_unseen_share``;
- type violations: a log file whose ``in_<feature>`` column has another type than the
  schema's;
- schema changes: schema features absent from the log, ``in_`` columns the schema lacks;
- volume anomalies: rows in the window against the mean of the ``volume_windows``
  windows before it (below ``volume_low`` x or above ``volume_high`` x).

Every count comes from every row, in two aggregate passes (:func:`count_features`).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from modelward.monitoring.checks.base import Check
from modelward.monitoring.result import CheckResult, Findings, given, optional
from modelward.monitoring.samples import category_key
from modelward.monitoring.window import Window
from modelward.predlog.engine import Aggregate, Scan, column, count_where, grouping_sets, literal
from modelward.predlog.files import is_numeric

if TYPE_CHECKING:
    from modelward.monitoring.context import Context
    from modelward.policy import Policy

__all__ = ["FeatureQuality", "Quality", "QualityResult", "TypeViolation", "Volume"]


@dataclass
class FeatureQuality:
    kind: str | None
    missing_rate: float
    absent: bool | None = optional()  # not in the log at all
    missing: int | None = optional()
    reference_missing_rate: float | None = optional()
    non_numeric: int | None = optional()
    out_of_range: int | None = optional()
    out_of_range_share: float | None = optional()
    range: list[float] | None = optional()
    zeros: int | None = optional()
    zero_share: float | None = optional()
    unseen: int | None = optional()
    unseen_share: float | None = optional()


@dataclass
class TypeViolation:
    file: str
    feature: str
    type: str
    expected: str | None


@dataclass
class Volume:
    rows: int
    previous_mean: float | None = optional()
    ratio: float | None = optional()
    previous: list[int] | None = optional()


@dataclass(kw_only=True)
class QualityResult(CheckResult):
    check: ClassVar[str] = "quality"
    window: Window = given()
    environment: str | None = given()
    max_missing_rate: float = given()
    max_out_of_range_share: float = given()
    max_unseen_share: float = given()
    max_zero_share: float = given()
    volume_limits: list[float] = given(key="volume")  # low, high, windows
    rows: int = 0  # with inputs
    rejected_or_failed: int = 0  # logged without their inputs
    features: dict[str, FeatureQuality] = field(default_factory=dict)
    absent: list[str] = field(default_factory=list)
    extra_columns: list[str] = field(default_factory=list)
    type_violations: list[TypeViolation] = field(default_factory=list)
    volume: Volume = field(default_factory=lambda: Volume(0))


@dataclass
class Quality(Check[QualityResult]):
    """Missing values, out-of-range values, types, categories, schema changes, volume."""

    name: ClassVar[str] = "quality"
    version: int | None = None

    def run(self, context: Context) -> QualityResult:
        assert context.window is not None
        policy, limits = context.policy, context.policy.monitoring
        scan = context.scan(version=self.version)
        chosen = self.version if self.version is not None else context.busiest(statuses=None)
        reference = context.reference(chosen)
        profile = reference.columns
        schema = {c["name"]: c for c in reference.info.input_schema.get("columns", [])}
        present = [f for f in schema if scan.has(f"in_{f}")]
        absent = [f for f in schema if f not in present]
        extra = sorted(c[3:] for c in scan.columns if c.startswith("in_") and c[3:] not in schema)
        counted = count_features(context, scan, schema, present, profile, _numeric_type)
        rows, without = int(counted.get("n", 0)), int(counted.get("without_inputs", 0))
        findings = Findings()
        features = {
            f: _feature(f, column, counted, rows, profile, policy, findings)
            if f in present
            else FeatureQuality(column.get("kind"), 1.0, absent=True)
            for f, column in schema.items()
        }
        for feature in absent:
            findings.breach(
                f"schema change: feature {feature} is not in the log (no in_{feature})",
                f"absent:{feature}",
            )
        if extra:
            findings.warn(
                "schema change: the log has columns the schema lacks: "
                + ", ".join("in_" + e for e in extra)
            )
        violations = _type_violations(context, scan, schema, findings)
        volume = _volume(context, rows + without, findings)
        if rows == 0:
            findings.short(f"no predictions in {context.window.label()}")
        return QualityResult(
            model=context.name, version=reference.info.version, **findings.outcome(),
            window=context.window, environment=context.environment,
            max_missing_rate=policy.data.max_missing_rate,
            max_out_of_range_share=limits.max_out_of_range_share,
            max_unseen_share=limits.max_unseen_share, max_zero_share=limits.max_zero_share,
            volume_limits=[limits.volume_low, limits.volume_high, limits.volume_windows],
            rows=rows, rejected_or_failed=without, features=features, absent=absent,
            extra_columns=extra, type_violations=violations, volume=volume,
        )  # fmt: skip


def _numeric_type(arrow_type: str) -> bool:
    """Whether a column of this (unified) type holds numbers as they are."""
    return is_numeric(arrow_type)


def _feature(
    feature: str,
    column: dict[str, Any],
    counted: dict[str, Any],
    rows: int,
    profile: dict[str, Any],
    policy: Policy,
    findings: Findings,
) -> FeatureQuality:
    """One present feature's figures, judged: missing, non-numeric values, range, zeros,
    unseen categories."""
    got = counted["features"][feature]
    missing = rows - got["present"]
    rate = missing / rows if rows else 0.0
    ref_rate = float(profile.get(feature, {}).get("missing_rate", 0.0))
    entry = FeatureQuality(column.get("kind"), rate, missing=missing)
    entry.reference_missing_rate = ref_rate
    limit = policy.data.max_missing_rate
    if rows and rate >= limit:
        findings.breach(
            f"{feature} missing {rate:.1%} >= {limit:.0%} ({missing} of {rows}; "
            f"reference {ref_rate:.1%})",
            f"missing:{feature}",
            critical=rate >= 2 * limit,
        )
    if not got["present"]:
        return entry
    if got.get("non_numeric"):
        entry.non_numeric = got["non_numeric"]
        findings.breach(
            f"{feature}: {got['non_numeric']} value(s) are not numbers", f"type:{feature}"
        )
    _values(feature, column, got, entry, policy, findings)
    return entry


def _values(
    feature: str,
    column: dict[str, Any],
    got: dict[str, Any],
    entry: FeatureQuality,
    policy: Policy,
    findings: Findings,
) -> None:
    """Values outside the training range, placeholder zeros, unseen categories."""
    limits, numbers = policy.monitoring, got.get("numbers", 0)
    if "out_of_range" in got and numbers:
        outside, (low, high) = got["out_of_range"], (column["min"], column["max"])
        entry.out_of_range, entry.range = outside, [low, high]
        entry.out_of_range_share = share = outside / numbers
        if share > limits.max_out_of_range_share:
            findings.breach(
                f"{feature}: {outside} of {numbers} values ({share:.1%}) outside the training "
                f"range [{low:g}, {high:g}] (limit {limits.max_out_of_range_share:.0%})",
                f"range:{feature}",
            )
    if "zeros" in got and numbers:
        entry.zeros = zeros = got["zeros"]
        entry.zero_share = share = zeros / numbers
        if share > limits.max_zero_share:
            findings.breach(
                f"{feature}: {zeros} of {numbers} values ({share:.1%}) are 0, never 0 in the "
                "reference (a placeholder for missing?)",
                f"zeros:{feature}",
            )
    if "unseen" in got:
        entry.unseen = unseen = got["unseen"]
        entry.unseen_share = share = unseen / got["present"]
        if share > limits.max_unseen_share:
            top = ", ".join(got.get("unseen_top", []))
            findings.breach(
                f"{feature}: {unseen} value(s) ({share:.1%}) in categories the training data "
                f"never had ({top}) (limit {limits.max_unseen_share:.0%})",
                f"unseen:{feature}",
            )


def _type_ok(kind: str, arrow_type: str) -> bool:
    if kind in ("float", "integer"):
        return is_numeric(arrow_type) or arrow_type == "null"
    if kind == "boolean":
        return arrow_type in ("bool", "null")
    return arrow_type in ("string", "large_string", "null") or arrow_type.startswith("dictionary")


def _type_violations(
    context: Context, scan: Scan, schema: dict[str, dict[str, Any]], findings: Findings
) -> list[TypeViolation]:
    """Log files whose ``in_<feature>`` column has another type than the schema's (the
    first 20 are breaches)."""
    found = [
        TypeViolation(path, feature, logged, column.get("kind"))
        for path, types in context.log.file_types(scan).items()
        for feature, column in schema.items()
        if (logged := types.get(f"in_{feature}")) is not None
        and not _type_ok(str(column.get("kind")), logged)
    ]
    for issue in found[:20]:
        findings.breach(
            f"type violation: {issue.feature} is {issue.type} in "
            f"{issue.file.rsplit('/', 1)[-1]}, the schema says {issue.expected}",
            f"type:{issue.feature}",
        )
    return found


def _volume(context: Context, rows: int, findings: Findings) -> Volume:
    """The window's rows against the mean of the windows before it that had traffic."""
    import numpy as np

    assert context.window is not None
    limits, window = context.policy.monitoring, context.window
    history = []
    for i in range(1, limits.volume_windows + 1):
        shift = window.length * i
        history.append(
            context.log.count(context.scan(Window(window.start - shift, window.end - shift)))
        )
    earlier = [h for h in history if h > 0]
    volume = Volume(rows)
    if earlier:
        mean = float(np.mean(earlier))
        volume.previous_mean, volume.ratio, volume.previous = mean, rows / mean, history
        if volume.ratio < limits.volume_low or volume.ratio > limits.volume_high:
            findings.breach(
                f"volume anomaly: {rows} rows is {volume.ratio:.2f}x the mean {mean:.0f} of the "
                f"previous {len(earlier)} windows "
                f"(allowed {limits.volume_low}x .. {limits.volume_high}x)",
                "volume",
            )
    return volume


# -- the counts ---------------------------------------------------------------------------

#: The unseen categories of text features named in a breach come from about this many
#: rows of the window (numeric codes are counted per value, so named from every row).
TOP_ROWS = 100_000


def count_features(
    context: Context,
    scan: Scan,
    schema: dict[str, dict[str, Any]],
    present: list[str],
    profile: dict[str, Any],
    numeric_type: Any,
) -> dict[str, Any]:
    """Every count the check needs, in two passes over the window: one aggregate row for
    the numeric and text features, and the count of every value of the numeric-typed
    categorical ones (what is unseen, how often, and which values those are, all from
    every row). Rejected and failed requests are logged without their inputs: rates count
    the rows whose inputs were recorded, and the others are reported beside them."""
    exprs = [
        "count(*) FILTER (WHERE coalesce(status, 'ok') = 'ok')",
        "count(*) FILTER (WHERE coalesce(status, 'ok') <> 'ok')",
    ]
    names: list[tuple[str, str]] = [("", "n"), ("", "without_inputs")]
    category_sql: dict[str, tuple[str, str]] = {}
    grouped: dict[str, list[str]] = {}  # numeric categorical feature -> allowed keys
    for feature in present:
        allowed = _allowed(feature, schema[feature], profile)
        numeric = schema[feature].get("kind") in ("integer", "float")
        if allowed is not None and numeric and numeric_type(scan.columns[f"in_{feature}"]):
            grouped[feature] = allowed  # counted per value below
            continue
        more, sql = _feature_exprs(feature, schema[feature], allowed, profile)
        exprs += [e for e, _ in more]
        names += [(feature, what) for _, what in more]
        if sql is not None:
            category_sql[feature] = sql
    queries = [Aggregate(scan, exprs)]
    if grouped:
        select, group_by = grouping_sets([f"TRY_CAST({_in(f)} AS DOUBLE)" for f in grouped])
        queries.append(Aggregate(scan, select, group_by))
    found = context.log.aggregate_many(queries)  # independent: side by side when it helps
    out: dict[str, Any] = {"n": 0, "features": {f: {"present": 0} for f in present}}
    if not found[0]:
        return out
    for (feature, what), value in zip(names, found[0][0], strict=True):
        (out["features"][feature] if feature else out)[what] = int(value or 0)
    if grouped:
        _value_counts(found[1], schema, grouped, profile, out)
    unseen = [f for f in category_sql if out["features"][f].get("unseen")]
    if unseen:
        _unseen_top(context, scan, category_sql, unseen, out)
    return out


def _in(feature: str) -> str:
    return column(f"in_{feature}")


def _feature_exprs(
    feature: str,
    schema_column: dict[str, Any],
    allowed: list[str] | None,
    profile: dict[str, Any],
) -> tuple[list[tuple[str, str]], tuple[str, str] | None]:
    """``(expression, figure)`` pairs counting one feature, and (for a categorical one)
    the value expression and the condition of an unseen value."""
    c = _in(feature)
    out = [(f"count({c})", "present")]
    numeric = schema_column.get("kind") in ("integer", "float")
    if numeric:
        num = f"TRY_CAST({c} AS DOUBLE)"
        out += [(f"count({c}) - count({num})", "non_numeric"), (f"count({num})", "numbers")]
        low, high = schema_column.get("min"), schema_column.get("max")
        if low is not None and high is not None:
            out.append(
                (count_where(f"{num} < {float(low)!r} OR {num} > {float(high)!r}"), "out_of_range")
            )
        if profile.get(feature, {}).get("zeros") == 0:
            out.append((count_where(f"{num} = 0"), "zeros"))
    if allowed is None:
        return out, None
    if numeric:
        target = f"TRY_CAST({c} AS DOUBLE)"
        listed = ", ".join(repr(v) for v in _numbers(allowed)) or "NULL"
    else:
        target = f"CAST({c} AS STRING)"
        listed = ", ".join(literal(k) for k in allowed) or "NULL"
    condition = f"{c} IS NOT NULL AND {target} NOT IN ({listed})"
    out.append((count_where(condition), "unseen"))
    return out, (target, condition)


def _numbers(keys: list[str]) -> list[float]:
    out = []
    for key in keys:
        try:
            out.append(float(key))
        except ValueError:
            continue
    return out


def _allowed(feature: str, column: dict[str, Any], profile: dict[str, Any]) -> list[str] | None:
    known = column.get("categories")
    if known is None and "categories" in profile.get(feature, {}):
        known = list(profile[feature]["categories"])
    if known is None:
        return None
    return sorted({category_key(k) for k in known})


def _set_rows(found: list[Any] | None, i: int, keys: int) -> list[tuple[Any, int]]:
    """``(value, count)`` of key ``i``'s grouping set (NULL values left out)."""
    full = (1 << keys) - 1
    bit = 1 << (keys - 1 - i)  # GROUPING_ID sets a rolled-up column's bit
    return [(r[i], int(r[-2])) for r in found or [] if r[-1] == full ^ bit and r[i] is not None]


def _value_counts(
    found: list[Any] | None,
    schema: dict[str, dict[str, Any]],
    grouped: dict[str, list[str]],
    profile: dict[str, Any],
    out: dict[str, Any],
) -> None:
    """The figures of numeric-typed categorical features (codes such as ``cp``) from the
    count of each of their values, one grouping set per feature in one pass: the same
    numbers as the aggregate expressions, and the unseen values named from every row.
    Few distinct values per feature make this cheaper than a conditional count per figure
    plus a second pass to name the unseen values.

    A NaN logged as a value is unseen (it is none of the categories) but neither below
    nor above the training range. (In the aggregate expressions DuckDB sorts NaN above
    every number, but folds the range test away when a file's Parquet statistics, which
    leave NaN out, put its whole min..max in range: so there a NaN is out of range or
    not depending on the file's other values. The benchmark's log, NaN for missing,
    reports its NaN codes as not out of range; so does this, for every file.)"""
    for i, feature in enumerate(grouped):
        column_ = schema[feature]
        counts = [(float(v), k) for v, k in _set_rows(found, i, len(grouped))]
        allowed = set(_numbers(grouped[feature]))
        low, high = column_.get("min"), column_.get("max")
        entry = out["features"][feature]
        total = sum(k for _, k in counts)
        entry.update(present=total, non_numeric=0, numbers=total)
        if low is not None and high is not None:
            entry["out_of_range"] = sum(k for v, k in counts if v < float(low) or v > float(high))
        if profile.get(feature, {}).get("zeros") == 0:
            entry["zeros"] = sum(k for v, k in counts if v == 0)
        unseen = [(v, k) for v, k in counts if v not in allowed]
        entry["unseen"] = sum(k for _, k in unseen)
        if unseen:
            unseen.sort(key=lambda r: (-r[1], r[0]))
            entry["unseen_top"] = [category_key(v) for v, _ in unseen[:5]]


def _unseen_top(
    context: Context,
    scan: Scan,
    category_sql: dict[str, tuple[str, str]],
    unseen: list[str],
    out: dict[str, Any],
) -> None:
    """Which values the unseen categories of text features are (for the message): from a
    hash sample of a large window (how many there are was counted on every row), or from
    every row when a rare value missed the sample."""
    rate = context.log.rate(scan, TOP_ROWS)
    # the unseen values of every such feature in one pass: a grouping set per feature
    select, group_by = grouping_sets(
        [f"CASE WHEN {category_sql[f][1]} THEN {category_sql[f][0]} END" for f in unseen]
    )
    either = "(" + " OR ".join(category_sql[f][1] for f in unseen) + ")"
    for share in [rate, 1.0] if rate < 1.0 else [1.0]:
        found = context.log.aggregate(
            scan.only(where=[either], rate=share), select, group_by=group_by
        )
        for i, feature in enumerate(unseen):
            top = _set_rows(found, i, len(unseen))
            top.sort(key=lambda r: -r[1])
            out["features"][feature]["unseen_top"] = [category_key(v) for v, _ in top[:5]]
        if all(out["features"][f]["unseen_top"] for f in unseen):
            break
