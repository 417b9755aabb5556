"""Data validation: schema, ranges, missing values, balance, distributions, correlations.

``validate_frame`` runs the selected checks over a table and returns findings, each with a
value, the policy threshold and a status: ``fail`` (a policy limit is crossed: the command
exits 1), ``warn`` (worth a look, e.g. zeros that look like missing values) or ``pass``.
Nothing here knows what the data is; the heart data's Swiss ``chol = 0`` rows are found by
the generic "implausible zeros" rule, the missing ``ca``/``thal``/``slope`` values by the
missing-rate limit.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from modelward.data.profile import CATEGORICAL_MAX_LEVELS

if TYPE_CHECKING:
    import pandas as pd

    from modelward.policy.model import DataPolicy

__all__ = ["CHECKS", "Finding", "validate_frame"]

CHECKS = ("schema", "missing", "balance", "distributions", "correlations")
#: zeros in a column are "implausible" when they sit this many IQRs below the first quartile
ZERO_IQRS = 3.0
#: correlations need at least this many rows where both columns are present
MIN_PAIRS = 30


@dataclass(frozen=True)
class Finding:
    check: str
    column: str
    status: str  # pass, warn, fail
    value: Any
    threshold: Any
    detail: str

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def _numeric(series: pd.Series) -> bool:
    import pandas as pd

    return pd.api.types.is_numeric_dtype(series) and not pd.api.types.is_bool_dtype(series)


def _many_valued(values: pd.Series) -> bool:
    """Measurements, not codes: more distinct values than a code column has."""
    return bool(values.nunique() > CATEGORICAL_MAX_LEVELS)


def _schema(
    frame: pd.DataFrame,
    reference: dict[str, Any] | None,
    policy: DataPolicy,
    target: str | None = None,
) -> list[Finding]:
    import pandas as pd

    out: list[Finding] = []
    for name in frame.columns:
        series = frame[name]
        if series.dtype == object:
            as_number = pd.to_numeric(series.dropna(), errors="coerce")
            share = float(as_number.notna().mean()) if len(as_number) else 0.0
            if 0.5 <= share < 1.0:
                bad = series.dropna()[as_number.isna()].astype(str).unique()[:3]
                out.append(
                    Finding(
                        "schema",
                        str(name),
                        "fail",
                        round(1 - share, 4),
                        0,
                        f"mostly numbers but holds text: {', '.join(bad)}",
                    )
                )
        if _numeric(series) and name != target:
            values = series.dropna()
            if len(values) >= 20 and (values == 0).all():
                out.append(
                    Finding(
                        "schema",
                        str(name),
                        "warn",
                        int(len(values)),
                        0,
                        f"all {len(values)} recorded values are 0: the column was probably not "
                        "measured (0 stands for missing); drop it or treat 0 as missing",
                    )
                )
            elif len(values) >= 20 and (values == 0).any() and _many_valued(values):
                nonzero = values[values != 0]
                q1, q3 = nonzero.quantile([0.25, 0.75]) if len(nonzero) else (0.0, 0.0)
                iqr = q3 - q1
                if len(nonzero) and nonzero.min() > 0 and q1 - ZERO_IQRS * iqr > 0:
                    zeros = int((values == 0).sum())
                    out.append(
                        Finding(
                            "schema",
                            str(name),
                            "warn",
                            zeros,
                            0,
                            f"{zeros} rows are 0 while the other values lie in "
                            f"{nonzero.min():g}…{nonzero.max():g}: 0 probably encodes a missing "
                            "value (treat it as missing: preprocessing.numeric.zero_as_missing)",
                        )
                    )
    if reference is None:
        return out
    columns = {c["name"]: c for c in reference.get("columns", [])}
    absent = [name for name in columns if name not in frame.columns]
    for name in absent:
        out.append(
            Finding(
                "schema",
                name,
                "fail",
                "absent",
                "present",
                "the model's input column is missing from the data",
            )
        )
    for name, spec in columns.items():
        if name not in frame.columns:
            continue
        series = frame[name]
        if spec.get("kind") in ("integer", "float"):
            if not _numeric(series):
                out.append(
                    Finding(
                        "schema",
                        name,
                        "fail",
                        str(series.dtype),
                        spec["kind"],
                        "the reference column is numeric; this one is not",
                    )
                )
                continue
            if "min" in spec and "max" in spec:
                values = series.dropna()
                outside = int(((values < spec["min"]) | (values > spec["max"])).sum())
                if outside:
                    status = "fail" if policy.out_of_range == "reject" else "warn"
                    out.append(
                        Finding(
                            "range",
                            name,
                            status,
                            outside,
                            0,
                            f"{outside} values outside the reference range "
                            f"{spec['min']}…{spec['max']} (seen {values.min():g}…{values.max():g})",
                        )
                    )
        elif "categories" in spec:
            known = {str(c) for c in spec["categories"]}
            new = sorted({str(v) for v in series.dropna().unique()} - known)
            if new:
                out.append(
                    Finding(
                        "range",
                        name,
                        "warn",
                        len(new),
                        0,
                        f"unseen categories: {', '.join(new[:5])}",
                    )
                )
    return out


def _missing(frame: pd.DataFrame, policy: DataPolicy) -> list[Finding]:
    out = []
    limit = policy.max_missing_rate
    for name in frame.columns:
        missing = int(frame[name].isna().sum())
        rate = missing / len(frame)
        status = "fail" if rate >= limit else "pass"
        out.append(
            Finding(
                "missing",
                str(name),
                status,
                round(rate, 4),
                limit,
                f"{missing} of {len(frame)} rows missing",
            )
        )
    return out


def _balance(frame: pd.DataFrame, target: str | None, policy: DataPolicy) -> list[Finding]:
    if target is None or target not in frame.columns:
        return [
            Finding(
                "balance",
                target or "",
                "warn",
                None,
                policy.min_minority_share,
                "no target column to check; pass --target",
            )
        ]
    continuous = _continuous(frame[target])
    if continuous is not None:
        return [Finding("balance", target, "pass", None, None, continuous)]
    counts = frame[target].value_counts(dropna=True)
    if counts.empty:
        return [Finding("balance", target, "fail", 0, policy.min_minority_share, "no labels")]
    share = float(counts.min() / counts.sum())
    shown = ", ".join(f"{k}: {v}" for k, v in counts.sort_index().items())
    status = "fail" if share < policy.min_minority_share or len(counts) < 2 else "pass"
    return [
        Finding(
            "balance",
            target,
            status,
            round(share, 4),
            policy.min_minority_share,
            f"minority class share; counts {shown}",
        )
    ]


def _continuous(series: pd.Series) -> str | None:
    """Why class balance does not apply to a numeric target with fractional values or more
    distinct values than a categorical column has (a regression target), else None."""
    values = series.dropna()
    if not _numeric(values) or values.empty:
        return None
    distinct = int(values.nunique())
    fractional = bool((values.astype("float64") % 1 != 0).any())
    if not fractional and distinct <= CATEGORICAL_MAX_LEVELS:
        return None
    return (
        f"continuous target ({distinct} distinct values, {values.min():g} to {values.max():g}): "
        "class balance does not apply"
    )


def _distributions(
    frame: pd.DataFrame, reference: dict[str, Any] | None, p_value: float
) -> tuple[list[Finding], dict[str, Any]]:
    from scipy.stats import ks_2samp

    summaries: dict[str, Any] = {}
    out: list[Finding] = []
    ref_columns = (reference or {}).get("columns", {})
    for name in frame.columns:
        series = frame[name]
        if not _numeric(series):
            top = series.value_counts().head(5)
            summaries[str(name)] = {"top": {str(k): int(v) for k, v in top.items()}}
            continue
        values = series.dropna().astype("float64")
        if values.empty:
            continue
        summaries[str(name)] = {
            "mean": float(values.mean()),
            "std": float(values.std()) if len(values) > 1 else 0.0,
            "min": float(values.min()),
            "p50": float(values.median()),
            "max": float(values.max()),
            "skew": float(values.skew()) if len(values) > 2 else 0.0,  # type: ignore[arg-type]
        }
        ref = ref_columns.get(str(name), {})
        if ref.get("values"):
            stat, p = ks_2samp(values.to_numpy(), ref["values"])
            status = "warn" if p < p_value else "pass"
            out.append(
                Finding(
                    "distributions",
                    str(name),
                    status,
                    round(float(p), 6),
                    p_value,
                    f"KS test against the reference profile (statistic {stat:.3f})",
                )
            )
    return out, summaries


def _correlations(frame: pd.DataFrame, target: str | None, policy: DataPolicy) -> list[Finding]:
    from sklearn.metrics import roc_auc_score

    numeric = [c for c in frame.columns if _numeric(frame[c]) and c != target]
    out: list[Finding] = []
    if len(numeric) >= 2:
        corr = frame[numeric].corr(min_periods=MIN_PAIRS).abs()
        for i, a in enumerate(numeric):
            for b in numeric[i + 1 :]:
                r = float(corr.loc[a, b])  # type: ignore[arg-type]
                if r == r and r > policy.max_correlation:
                    out.append(
                        Finding(
                            "correlations",
                            f"{a} ~ {b}",
                            "fail",
                            round(float(r), 4),
                            policy.max_correlation,
                            "highly correlated feature pair",
                        )
                    )
    if target is not None and target in frame.columns and frame[target].nunique() == 2:
        labels = frame[target]
        positive = sorted(labels.dropna().unique())[-1]
        for name in numeric:
            both = frame[[name, target]].dropna()
            if both[target].nunique() < 2 or both[name].nunique() < 2:
                continue
            auc = float(roc_auc_score(both[target] == positive, both[name]))
            strength = max(auc, 1 - auc)
            status = "fail" if strength > policy.max_target_correlation else "pass"
            out.append(
                Finding(
                    "correlations",
                    f"{name} → {target}",
                    status,
                    round(strength, 4),
                    policy.max_target_correlation,
                    "single-feature ROC-AUC: above the limit means the feature is "
                    "suspiciously predictive (leakage?)"
                    if status == "fail"
                    else "single-feature ROC-AUC",
                )
            )
    return out


def validate_frame(
    frame: pd.DataFrame,
    *,
    policy: DataPolicy,
    target: str | None = None,
    checks: tuple[str, ...] = CHECKS,
    reference_schema: dict[str, Any] | None = None,
    reference_profile: dict[str, Any] | None = None,
    p_value: float = 0.05,
) -> dict[str, Any]:
    """All findings, the distribution summaries, and a verdict (fail if any finding fails)."""
    findings: list[Finding] = []
    summaries: dict[str, Any] = {}
    if "schema" in checks:
        findings += _schema(frame, reference_schema, policy, target)
    if "missing" in checks:
        findings += _missing(frame, policy)
    if "balance" in checks:
        findings += _balance(frame, target, policy)
    if "distributions" in checks:
        part, summaries = _distributions(frame, reference_profile, p_value)
        findings += part
    if "correlations" in checks:
        findings += _correlations(frame, target, policy)
    statuses = {f.status for f in findings}
    verdict = "fail" if "fail" in statuses else "warn" if "warn" in statuses else "pass"
    return {
        "rows": int(len(frame)),
        "columns": int(frame.shape[1]),
        "target": target,
        "checks": list(checks),
        "findings": [f.to_dict() for f in findings],
        "failed": [f"{f.check}: {f.column}" for f in findings if f.status == "fail"],
        "summaries": summaries,
        "verdict": verdict,
    }
