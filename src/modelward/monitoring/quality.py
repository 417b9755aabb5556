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

_NUMERIC_ARROW = ("double", "float", "int", "uint", "decimal", "halffloat")


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
    import pandas as pd

    from modelward.monitoring.driftcheck import MAX_ROWS, _version_for
    from modelward.monitoring.samples import _key

    monitor._model(name)
    policy = monitor.ws.policy
    limits = policy.monitoring
    window = window_for(last, until=until)
    log = monitor.log
    available = log.columns(name, window)
    seen = monitor.log.frame(
        name, window, columns=["version"], environment=environment, labels=False
    )
    chosen = _version_for(seen, version)
    info = monitor.ws.registry.get_version(name, chosen if chosen is not None else "latest")
    profile = (monitor.ws.registry.reference_profile(name, info.version) or {}).get("columns", {})
    schema = {c["name"]: c for c in info.input_schema.get("columns", [])}
    present = [f for f in schema if f"in_{f}" in available]
    absent = [f for f in schema if f"in_{f}" not in available]
    extra = sorted(c[3:] for c in available if c.startswith("in_") and c[3:] not in schema)
    frame = monitor.log.frame(
        name,
        window,
        columns=["version", *(f"in_{f}" for f in present)],
        environment=environment,
        labels=False,
        sample=MAX_ROWS,
    )
    if version is not None:
        frame = frame[frame["version"] == version]
    rows = len(frame)
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
        series = frame[f"in_{feature}"]
        missing = int(series.isna().sum())
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
        values = series.dropna()
        if not len(values):
            continue
        kind = column.get("kind")
        if kind in ("integer", "float"):
            parsed = pd.to_numeric(values, errors="coerce")
            bad_type = int(parsed.isna().sum())
            if bad_type:
                entry["non_numeric"] = bad_type
                breaches.append(f"{feature}: {bad_type} value(s) are not numbers")
                keys.append(f"type:{feature}")
            numbers = parsed.dropna().to_numpy("float64")
            low, high = column.get("min"), column.get("max")
            if low is not None and high is not None and len(numbers):
                outside = int(((numbers < low) | (numbers > high)).sum())
                share = outside / len(numbers)
                entry.update(out_of_range=outside, out_of_range_share=share, range=[low, high])
                if share > limits.max_out_of_range_share:
                    breaches.append(
                        f"{feature}: {outside} of {len(numbers)} values ({share:.1%}) outside "
                        f"the training range [{low:g}, {high:g}] "
                        f"(limit {limits.max_out_of_range_share:.0%})"
                    )
                    keys.append(f"range:{feature}")
            ref_zeros = profile.get(feature, {}).get("zeros")
            if ref_zeros == 0 and len(numbers):
                zeros = int((numbers == 0).sum())
                share = zeros / len(numbers)
                entry.update(zeros=zeros, zero_share=share)
                if share > limits.max_zero_share:
                    breaches.append(
                        f"{feature}: {zeros} of {len(numbers)} values ({share:.1%}) are 0, "
                        "never 0 in the reference (a placeholder for missing?)"
                    )
                    keys.append(f"zeros:{feature}")
        known = column.get("categories")
        if known is None and "categories" in profile.get(feature, {}):
            known = list(profile[feature]["categories"])
        if known is not None:
            allowed = {_key(k) for k in known}
            keyed = values.map(_key)
            unseen = keyed[~keyed.isin(allowed)]
            share = len(unseen) / len(values)
            entry.update(unseen=int(len(unseen)), unseen_share=share)
            if share > limits.max_unseen_share:
                top = ", ".join(str(v) for v in unseen.value_counts().head(5).index)
                breaches.append(
                    f"{feature}: {len(unseen)} value(s) ({share:.1%}) in categories the "
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
    volume: dict[str, Any] = {"rows": rows}
    history = [
        log.count(name, _shift(window, i + 1), environment=environment)
        for i in range(limits.volume_windows)
    ]
    earlier = [h for h in history if h > 0]
    if earlier:
        mean = float(np.mean(earlier))
        ratio = rows / mean if mean else None
        volume.update(previous_mean=mean, ratio=ratio, previous=history)
        if ratio is not None and (ratio < limits.volume_low or ratio > limits.volume_high):
            breaches.append(
                f"volume anomaly: {rows} rows is {ratio:.2f}x the mean {mean:.0f} of the "
                f"previous {len(earlier)} windows (allowed {limits.volume_low}x .. "
                f"{limits.volume_high}x)"
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


def _shift(window: Any, steps: int) -> Any:
    from modelward.monitoring.window import Window

    return Window(window.start - window.length * steps, window.end - window.length * steps)
