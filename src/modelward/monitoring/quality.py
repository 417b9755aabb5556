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
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.monitoring.result import CheckResult, verdict_of
from modelward.monitoring.window import window_for

if TYPE_CHECKING:
    from modelward.monitoring.monitor import Monitor

__all__ = ["quality_check"]

#: The unseen categories of text features named in a breach come from about this many
#: rows of the window (numeric codes are counted per value, so named from every row).
TOP_ROWS = 100_000
_NUMERIC_ARROW = ("double", "float", "int", "uint", "decimal", "halffloat")
#: DuckDB column types whose values are numbers as they are (no text to parse)
_NUMERIC_DUCK = tuple(
    "DOUBLE FLOAT REAL BIGINT INTEGER SMALLINT TINYINT HUGEINT DECIMAL "
    "UBIGINT UINTEGER USMALLINT UTINYINT UHUGEINT".split()
)


def _type_ok(kind: str, arrow_type: str) -> bool:
    if kind in ("float", "integer"):
        return arrow_type.startswith(_NUMERIC_ARROW) or arrow_type == "null"
    if kind == "boolean":
        return arrow_type in ("bool", "null")
    return arrow_type in ("string", "large_string", "null") or arrow_type.startswith("dictionary")


def quality_check(
    monitor: Monitor,
    name: str,
    *,
    last: str = "24h",
    until: str | None = None,
    environment: str | None = "production",
    version: int | None = None,
    record: bool = True,
) -> CheckResult:
    import numpy as np

    monitor._model(name)
    policy = monitor.ws.policy
    limits = policy.monitoring
    window = window_for(last, until=until)
    log = monitor.log
    available = log.columns(name, window)
    chosen = version
    if chosen is None:
        per_version: dict[int, int] = {}
        for (v, _), n in log.census(name, window, environment=environment).items():
            if v is not None:
                per_version[v] = per_version.get(v, 0) + n
        chosen = max(sorted(per_version), key=per_version.__getitem__) if per_version else None
    info = monitor.ws.registry.get_version(name, chosen if chosen is not None else "latest")
    profile = (monitor.ws.registry.reference_profile(name, info.version) or {}).get("columns", {})
    schema = {c["name"]: c for c in info.input_schema.get("columns", [])}
    present = [f for f in schema if f"in_{f}" in available]
    absent = [f for f in schema if f"in_{f}" not in available]
    extra = sorted(c[3:] for c in available if c.startswith("in_") and c[3:] not in schema)
    figures = _aggregate(monitor, name, window, environment, version, schema, present, profile)
    rows = int(figures.get("n", 0))
    without_inputs = int(figures.get("without_inputs", 0))
    breaches: list[str] = []
    warnings: list[str] = []
    keys: list[str] = []
    features: dict[str, Any] = {}
    critical = False
    for feature, column in schema.items():
        entry: dict[str, Any] = {"kind": column.get("kind")}
        features[feature] = entry
        if feature in absent:
            entry["missing_rate"] = 1.0
            entry["absent"] = True
            continue
        got = figures["features"][feature]
        missing = rows - got["present"]
        rate = missing / rows if rows else 0.0
        entry.update(missing=missing, missing_rate=rate)
        ref_rate = float(profile.get(feature, {}).get("missing_rate", 0.0))
        entry["reference_missing_rate"] = ref_rate
        if rows and rate >= policy.data.max_missing_rate:
            breaches.append(
                f"{feature} missing {rate:.1%} >= {policy.data.max_missing_rate:.0%} "
                f"({missing} of {rows}; reference {ref_rate:.1%})"
            )
            keys.append(f"missing:{feature}")
            critical = critical or rate >= 2 * policy.data.max_missing_rate
        if not got["present"]:
            continue
        if got.get("non_numeric"):
            entry["non_numeric"] = got["non_numeric"]
            breaches.append(f"{feature}: {got['non_numeric']} value(s) are not numbers")
            keys.append(f"type:{feature}")
        numbers = got.get("numbers", 0)
        if "out_of_range" in got and numbers:
            outside = got["out_of_range"]
            share = outside / numbers
            low, high = column["min"], column["max"]
            entry.update(out_of_range=outside, out_of_range_share=share, range=[low, high])
            if share > limits.max_out_of_range_share:
                breaches.append(
                    f"{feature}: {outside} of {numbers} values ({share:.1%}) outside "
                    f"the training range [{low:g}, {high:g}] "
                    f"(limit {limits.max_out_of_range_share:.0%})"
                )
                keys.append(f"range:{feature}")
        if "zeros" in got and numbers:
            zeros = got["zeros"]
            share = zeros / numbers
            entry.update(zeros=zeros, zero_share=share)
            if share > limits.max_zero_share:
                breaches.append(
                    f"{feature}: {zeros} of {numbers} values ({share:.1%}) are 0, "
                    "never 0 in the reference (a placeholder for missing?)"
                )
                keys.append(f"zeros:{feature}")
        if "unseen" in got:
            unseen = got["unseen"]
            share = unseen / got["present"]
            entry.update(unseen=unseen, unseen_share=share)
            if share > limits.max_unseen_share:
                top = ", ".join(got.get("unseen_top", []))
                breaches.append(
                    f"{feature}: {unseen} value(s) ({share:.1%}) in categories the "
                    f"training data never had ({top}) (limit {limits.max_unseen_share:.0%})"
                )
                keys.append(f"unseen:{feature}")
    for feature in absent:
        breaches.append(f"schema change: feature {feature} is not in the log (no in_{feature})")
        keys.append(f"absent:{feature}")
    if extra:
        warnings.append(
            f"schema change: the log has columns the schema lacks: "
            f"{', '.join('in_' + e for e in extra)}"
        )
    type_issues = []
    for path, types in log.file_schemas(name, window).items():
        for feature, column in schema.items():
            found = types.get(f"in_{feature}")
            if found is not None and not _type_ok(str(column.get("kind")), found):
                type_issues.append(
                    {
                        "file": path,
                        "feature": feature,
                        "type": found,
                        "expected": column.get("kind"),
                    }
                )
    for issue in type_issues[:20]:
        breaches.append(
            f"type violation: {issue['feature']} is {issue['type']} in "
            f"{issue['file'].rsplit('/', 1)[-1]}, the schema says {issue['expected']}"
        )
        keys.append(f"type:{issue['feature']}")
    volume: dict[str, Any] = {"rows": rows + without_inputs}
    history = [
        log.count(name, _shift(window, i + 1), environment=environment)
        for i in range(limits.volume_windows)
    ]
    earlier = [h for h in history if h > 0]
    if earlier:
        mean = float(np.mean(earlier))
        ratio = (rows + without_inputs) / mean if mean else None
        volume.update(previous_mean=mean, ratio=ratio, previous=history)
        if ratio is not None and (ratio < limits.volume_low or ratio > limits.volume_high):
            breaches.append(
                f"volume anomaly: {rows + without_inputs} rows is {ratio:.2f}x the mean "
                f"{mean:.0f} of the previous {len(earlier)} windows "
                f"(allowed {limits.volume_low}x .. {limits.volume_high}x)"
            )
            keys.append("volume")
    insufficient = rows == 0
    return monitor.finish(
        CheckResult(
            check="quality",
            model=name,
            version=info.version,
            verdict=verdict_of(breaches, insufficient, warnings),
            inputs={
                "window": window.to_dict(),
                "environment": environment,
                "max_missing_rate": policy.data.max_missing_rate,
                "max_out_of_range_share": limits.max_out_of_range_share,
                "max_unseen_share": limits.max_unseen_share,
                "max_zero_share": limits.max_zero_share,
                "volume": [limits.volume_low, limits.volume_high, limits.volume_windows],
            },
            results={
                "rows": rows,
                "rejected_or_failed": without_inputs,
                "features": features,
                "absent": absent,
                "extra_columns": extra,
                "type_violations": type_issues,
                "volume": volume,
            },
            breaches=breaches or ([f"no predictions in {window.label()}"] if insufficient else []),
            warnings=warnings,
            keys=keys or (["insufficient"] if insufficient else []),
            level="critical" if critical else "warning",
        ),
        record=record,
    )


def _allowed(feature: str, column: dict[str, Any], profile: dict[str, Any]) -> list[str] | None:
    from modelward.monitoring.samples import _key

    known = column.get("categories")
    if known is None and "categories" in profile.get(feature, {}):
        known = list(profile[feature]["categories"])
    if known is None:
        return None
    return sorted({_key(k) for k in known})


def _literal(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def _numeric_type(duck_type: str) -> bool:
    return duck_type.upper().startswith(_NUMERIC_DUCK)


def _aggregate(
    monitor: Monitor,
    name: str,
    window: Any,
    environment: str | None,
    version: int | None,
    schema: dict[str, dict[str, Any]],
    present: list[str],
    profile: dict[str, Any],
) -> dict[str, Any]:
    """Every count the check needs, in two DuckDB passes over the window: one aggregate
    row for the numeric features, and the count of every value of the categorical ones
    (what is unseen, how often, and which values those are, all from every row)."""
    available = monitor.log.columns(name, window)
    # Rejected and failed requests are logged without their inputs: rates count the rows
    # whose inputs were recorded, and the others are reported beside them.
    exprs = [
        "count(*) FILTER (WHERE coalesce(p.status, 'ok') = 'ok')",
        "count(*) FILTER (WHERE coalesce(p.status, 'ok') <> 'ok')",
    ]
    names: list[tuple[str, str]] = [("", "n"), ("", "without_inputs")]
    category_sql: dict[str, tuple[str, str]] = {}
    grouped: dict[str, list[str]] = {}  # numeric categorical feature -> allowed keys
    for feature in present:
        column = schema[feature]
        c = f'p."in_{feature}"'
        numeric = column.get("kind") in ("integer", "float")
        allowed = _allowed(feature, column, profile)
        if allowed is not None and numeric and _numeric_type(available[f"in_{feature}"]):
            grouped[feature] = allowed  # counted per value below
            continue
        exprs.append(f"count({c})")
        names.append((feature, "present"))
        if numeric:
            num = f"TRY_CAST({c} AS DOUBLE)"
            exprs += [f"count({c}) - count({num})", f"count({num})"]
            names += [(feature, "non_numeric"), (feature, "numbers")]
            low, high = column.get("min"), column.get("max")
            if low is not None and high is not None:
                exprs.append(f"count_if({num} < {float(low)!r} OR {num} > {float(high)!r})")
                names.append((feature, "out_of_range"))
            if profile.get(feature, {}).get("zeros") == 0:
                exprs.append(f"count_if({num} = 0)")
                names.append((feature, "zeros"))
        if allowed is not None:
            if numeric:
                values = []
                for key in allowed:
                    try:
                        values.append(repr(float(key)))
                    except ValueError:
                        continue
                target = f"TRY_CAST({c} AS DOUBLE)"
                listed = ", ".join(values) or "NULL"
            else:
                target = f"CAST({c} AS VARCHAR)"
                listed = ", ".join(_literal(k) for k in allowed) or "NULL"
            condition = f"{c} IS NOT NULL AND {target} NOT IN ({listed})"
            exprs.append(f"count_if({condition})")
            names.append((feature, "unseen"))
            category_sql[feature] = (target, condition)
    where = [f"p.version = {int(version)}"] if version is not None else []
    log = monitor.log
    # the two passes are independent: side by side when one would leave a core idle
    rows, counted = log.run_together(
        [
            log.query(
                name, window, ", ".join(exprs), environment=environment, where=where, run=False
            ),
            _value_counts_sql(monitor, name, window, environment, where, grouped)
            if grouped
            else None,
        ],
        together=log.few_row_groups(name, window),
    )
    out: dict[str, Any] = {"n": 0, "features": {f: {"present": 0} for f in present}}
    if not rows:
        return out
    for (feature, what), value in zip(names, rows[0], strict=True):
        if not feature:
            out[what] = int(value or 0)
        else:
            out["features"][feature][what] = int(value or 0)
    if grouped:
        _value_counts(counted, schema, grouped, profile, out)
    unseen = [f for f in category_sql if out["features"][f].get("unseen")]
    if unseen:
        _unseen_top(monitor, name, window, environment, where, category_sql, unseen, out)
    return out


def _grouping_sets(keys: list[str]) -> tuple[str, str]:
    """``(select, group_by)`` counting each value of every key expression in one pass:
    a grouping set per key (``k0, k1, …``, the count ``c`` and ``GROUPING_ID`` ``g``)."""
    select = ", ".join(
        [
            *(f"{key} AS k{i}" for i, key in enumerate(keys)),
            "count(*) AS c",
            "GROUPING_ID(" + ", ".join(f"k{i}" for i in range(len(keys))) + ") AS g",
        ]
    )
    return select, "GROUPING SETS (" + ", ".join(f"(k{i})" for i in range(len(keys))) + ")"


def _set_rows(found: list[Any] | None, i: int, keys: int) -> list[tuple[Any, int]]:
    """``(value, count)`` of key ``i``'s grouping set (NULL values left out)."""
    full = (1 << keys) - 1
    bit = 1 << (keys - 1 - i)  # GROUPING_ID sets a rolled-up column's bit
    return [(r[i], int(r[-2])) for r in found or [] if r[-1] == full ^ bit and r[i] is not None]


def _value_counts_sql(
    monitor: Monitor,
    name: str,
    window: Any,
    environment: str | None,
    where: list[str],
    grouped: dict[str, list[str]],
) -> str | None:
    """How often each value of each numeric category feature occurs: one grouping set
    per feature, one pass (see :func:`_value_counts`)."""
    select, group_by = _grouping_sets([f'TRY_CAST(p."in_{f}" AS DOUBLE)' for f in grouped])
    return monitor.log.query(
        name,
        window,
        select,
        environment=environment,
        where=where,
        group_by=group_by,
        run=False,
    )


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
    Few distinct values per feature make this cheaper than a ``count_if`` per figure
    plus a second pass to name the unseen values.

    A NaN logged as a value is unseen (it is none of the categories) but neither below
    nor above the training range. (In the aggregate expressions DuckDB sorts NaN above
    every number, but folds the range test away when a file's Parquet statistics, which
    leave NaN out, put its whole min..max in range: so there a NaN is out of range or
    not depending on the file's other values. The benchmark's log, NaN for missing,
    reports its NaN codes as not out of range; so does this, for every file.)"""
    from modelward.monitoring.samples import _key

    for i, feature in enumerate(grouped):
        column = schema[feature]
        counts = [(float(v), k) for v, k in _set_rows(found, i, len(grouped))]
        allowed: set[float] = set()
        for key in grouped[feature]:
            try:
                allowed.add(float(key))
            except ValueError:
                continue
        low, high = column.get("min"), column.get("max")
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
            entry["unseen_top"] = [_key(v) for v, _ in unseen[:5]]


def _unseen_top(
    monitor: Monitor,
    name: str,
    window: Any,
    environment: str | None,
    where: list[str],
    category_sql: dict[str, tuple[str, str]],
    unseen: list[str],
    out: dict[str, Any],
) -> None:
    """Which values the unseen categories of text features are (for the message)."""
    from modelward.monitoring.logs import hash_cut
    from modelward.monitoring.samples import _key

    # from a hash sample of a large window; how many there are was counted on every row
    rate = monitor.log.hash_rate(name, window, TOP_ROWS, environment=environment)
    sampled = [f"hash(p.request_id) < {hash_cut(rate)}::UBIGINT"] if rate < 1 else []
    # the unseen values of every such feature in one pass: a grouping set per feature
    select, group_by = _grouping_sets(
        [f"CASE WHEN {category_sql[f][1]} THEN {category_sql[f][0]} END" for f in unseen]
    )
    either = "(" + " OR ".join(category_sql[f][1] for f in unseen) + ")"
    for extra in [sampled, []] if sampled else [[]]:
        found = (
            monitor.log.query(
                name,
                window,
                select,
                environment=environment,
                where=[*where, either, *extra],
                group_by=group_by,
            )
            or []
        )
        for i, feature in enumerate(unseen):
            top = _set_rows(found, i, len(unseen))
            top.sort(key=lambda r: -r[1])
            out["features"][feature]["unseen_top"] = [_key(v) for v, _ in top[:5]]
        if all(out["features"][f]["unseen_top"] for f in unseen):
            break  # else a rare value missed the sample: look at every row


def _shift(window: Any, steps: int) -> Any:
    from modelward.monitoring.window import Window

    return Window(window.start - window.length * steps, window.end - window.length * steps)
