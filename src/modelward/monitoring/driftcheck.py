"""The drift checks: per-feature drift against the version's stored reference profile (or
an earlier window of the log), and prediction-distribution drift."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError
from modelward.monitoring.result import CheckResult, verdict_of
from modelward.monitoring.window import parse_baseline, window_for

if TYPE_CHECKING:
    import pandas as pd

    from modelward.monitoring.monitor import Monitor

__all__ = ["MAX_ROWS", "feature_drift", "parse_methods", "prediction_drift"]

#: Above this many rows in a window, drift reads a consistent hash sample of about this
#: many requests (``PredictionLog.frame``'s ``sample``). Kolmogorov-Smirnov's effective
#: size n*m/(n+m) is then within 5 % of the reference's size up to 5 000 reference rows,
#: and the distances' sampling error is ~1e-3, two orders below their 0.1 threshold.
MAX_ROWS = 100_000


def parse_methods(text: list[str] | None) -> dict[str, str]:
    """``["chol=psi", "thal=jensenshannon"]`` -> ``{"chol": "psi", …}``."""
    from modelward.monitoring.drift import METHODS

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


def _threshold(monitor: Monitor, method: str) -> float:
    from modelward.monitoring.drift import METHODS

    policy = monitor.ws.policy.drift
    return policy.p_value if METHODS[method].criterion == "p_value" else policy.distance_threshold


def feature_drift(
    monitor: Monitor,
    name: str,
    *,
    last: str = "24h",
    until: str | None = None,
    compare_to: str = "reference",
    features: list[str] | None = None,
    methods: dict[str, str] | None = None,
    environment: str | None = "production",
    version: int | None = None,
    record: bool = True,
) -> CheckResult:
    import numpy as np

    from modelward.monitoring.drift import METHODS, choose_method
    from modelward.monitoring.samples import (
        array_samples,
        feature_kinds,
        histogram,
        reference_samples,
    )

    if monitor._model(name).task == "text-generation":
        raise ConfigError(
            f"feature drift is defined for tabular models and {name} is an LLM endpoint; use "
            f"`modelward monitor predictions {name}` for its traffic, cost and response times"
        )
    policy = monitor.ws.policy.drift
    window = window_for(last, until=until)
    baseline = parse_baseline(compare_to)
    overrides = {**policy.methods, **(methods or {})}
    chosen = version
    if chosen is None:
        served = monitor.served_per_version(name, window, environment)
        chosen = max(served, key=lambda v: served[v]) if served else None
    info = monitor.ws.registry.get_version(name, chosen if chosen is not None else "latest")
    profile = monitor.ws.registry.reference_profile(name, info.version) or {}
    all_features = info.feature_names
    wanted = all_features if not features or features == ["all"] else features
    twice = sorted({f for f in wanted if wanted.count(f) > 1})
    if twice:
        raise ConfigError(
            f"--features lists {', '.join(twice)} more than once; name each feature once",
            field="features",
        )
    unknown = [f for f in wanted if f not in all_features]
    if unknown:
        raise ConfigError(
            f"unknown feature(s) {', '.join(unknown)} for {info.ref}; choose from "
            f"{', '.join(all_features)} or all",
            field="features",
        )
    bad = [f for f in overrides if f not in all_features]
    if bad and methods:
        raise ConfigError(
            f"--method names unknown feature(s) {', '.join(bad)}; choose from "
            f"{', '.join(all_features)}",
            field="method",
        )
    kinds = feature_kinds(profile, wanted)
    columns = [f"in_{f}" for f in wanted]
    where = ["p.status = 'ok'"] + ([f"p.version = {int(version)}"] if version is not None else [])
    current_rows, current = array_samples(
        monitor.log.arrays(
            name, window, columns, environment=environment, where=where, sample=MAX_ROWS
        ),
        kinds,
    )
    base_window = baseline.window(window)
    base_rows = None
    if base_window is None:
        reference = reference_samples(profile, kinds)
    else:
        base_rows, reference = array_samples(
            monitor.log.arrays(
                name, base_window, columns, environment=environment, where=where, sample=MAX_ROWS
            ),
            kinds,
        )
    results: dict[str, Any] = {}
    drifted: list[str] = []
    skipped: list[str] = []
    for feature in wanted:
        ref, cur = reference[feature], current[feature]
        method = overrides.get(feature) or choose_method(
            kinds[feature], ref.rows, small_sample_rows=policy.small_sample_rows
        )
        entry: dict[str, Any] = {
            "kind": kinds[feature],
            "method": method,
            "reference_rows": ref.rows,
            "current_rows": len(cur),
        }
        if len(cur) == 0 or len(ref) == 0:
            entry["note"] = "no values to compare (all missing)"
            skipped.append(feature)
            results[feature] = entry
            continue
        if METHODS[method].numeric_only and kinds[feature] != "numeric":
            source = "--method" if feature in (methods or {}) else "drift.methods in policy.yml"
            raise ConfigError(
                f"drift method {method} needs a numeric feature and {feature} is categorical; "
                f"use chi2, jensenshannon or psi for it in {source}",
                field="method",
            )
        column = profile.get("columns", {}).get(feature)
        if cur.kind == "numeric" and ref.kind == "numeric":
            # the values below the test's points and the report's edges, in one pass
            edges = (column or {}).get("histogram", {}).get("edges", [])
            tested = ref.values if method == "ks" and len(ref) <= len(cur) else []
            cur.know(np.concatenate([np.asarray(edges, "float64"), tested]))
        score = METHODS[method](_threshold(monitor, method)).score(ref, cur)
        entry.update(score.to_dict())
        entry["histogram"] = histogram(ref, cur, column)
        if score.drifted:
            drifted.append(feature)
        results[feature] = entry
    judged = len(wanted) - len(skipped)
    share = len(drifted) / judged if judged else 0.0
    breaches = []
    # nothing compared is not a pass: no traffic now, or none in the comparison window
    insufficient = current_rows == 0 or base_rows == 0
    if judged and share >= policy.max_drifted_share:
        detail = ", ".join(
            f"{f} ({results[f]['method']} "
            + (
                f"p={results[f]['p_value']:.3g}"
                if results[f]["p_value"] is not None
                else f"{results[f]['statistic']:.3f}"
            )
            + ")"
            for f in drifted
        )
        breaches.append(
            f"{len(drifted)} of {judged} features drifted ({share:.0%} >= "
            f"{policy.max_drifted_share:.0%}): {detail}"
        )
    breaches_or = []
    if current_rows == 0:
        breaches_or = [f"no predictions in {window.label()}"]
    elif base_rows == 0 and base_window is not None:
        breaches_or = [
            f"no predictions in the comparison window {base_window.label()}; compare with "
            "--compare-to reference or a window that had traffic"
        ]
    return monitor.finish(
        CheckResult(
            check="drift",
            model=name,
            version=info.version,
            verdict=verdict_of(breaches, insufficient),
            inputs={
                "window": window.to_dict(),
                "compare_to": baseline.label(),
                "baseline_window": base_window.to_dict() if base_window else None,
                "environment": environment,
                "features": wanted,
                "methods": overrides,
                "max_drifted_share": policy.max_drifted_share,
                "p_value": policy.p_value,
                "distance_threshold": policy.distance_threshold,
            },
            results={
                "features": results,
                "drifted": drifted,
                "drifted_share": share,
                "rows": int(current_rows),
                "skipped": skipped,
            },
            breaches=breaches or breaches_or,
            keys=[f"drift:{f}" for f in drifted] or (["insufficient"] if insufficient else []),
            level="critical"
            if judged and share >= 2 * policy.max_drifted_share and share >= 0.5
            else "warning",
        ),
        record=record,
    )


LLM_COLUMNS = ("query_type", "input_tokens", "output_tokens", "cost")


def _llm_figures(
    monitor: Monitor,
    name: str,
    window: Any,
    environment: str | None,
    frame: pd.DataFrame,
    results: dict[str, Any],
    breaches: list[str],
    keys: list[str],
    level: str,
) -> str:
    """Endpoint traffic: tokens and cost (per query, and against the previous window), and
    response time per query type against ``llm.max_response_time_s`` with the LLM
    runbook's warning (1.5x) and critical (2x) factors."""
    import numpy as np

    policy = monitor.ws.policy.llm
    cost = frame["cost"].astype("float64")
    total = float(cost.sum(skipna=True))
    n = len(frame)
    results["llm"] = {
        "input_tokens": int(frame["input_tokens"].fillna(0).sum()),
        "output_tokens": int(frame["output_tokens"].fillna(0).sum()),
        "cost": total,
        "cost_per_query": total / n if n else None,
    }
    if n and total / n > policy.max_cost_per_query:
        breaches.append(
            f"cost per query {total / n:.4f} > {policy.max_cost_per_query} (llm.max_cost_per_query)"
        )
        keys.append("cost_per_query")
    before = monitor.log.frame(
        name, window.before(window.length), columns=["cost"], environment=environment, labels=False
    )
    previous = float(before["cost"].astype("float64").sum(skipna=True)) if len(before) else 0.0
    results["llm"]["previous_cost"] = previous
    if previous > 0:
        growth = total / previous - 1
        results["llm"]["cost_change"] = growth
        if growth > policy.cost_increase_alert:
            breaches.append(
                f"cost up {growth:.0%} on the previous window ({previous:.2f} -> {total:.2f}; "
                f"alert above {policy.cost_increase_alert:.0%})"
            )
            keys.append("cost_increase")
    per_type: dict[str, Any] = {}
    for query_type, rows in frame.groupby(frame["query_type"].fillna("unknown")):
        latency = rows["latency_ms"].dropna().to_numpy("float64") / 1000
        p95 = float(np.percentile(latency, 95)) if len(latency) else None
        errors = int((rows["status"] == "error").sum())
        entry = {"requests": len(rows), "errors": errors, "p95_s": p95}
        limit = policy.max_response_time_s.get(str(query_type))
        if limit is not None and p95 is not None:
            factor = p95 / limit
            entry.update(limit_s=limit, factor=factor)
            if factor >= policy.latency_warning_factor:
                severity = "critical" if factor >= policy.latency_critical_factor else "warning"
                breaches.append(
                    f"{query_type} p95 response time {p95:.2f} s is {factor:.1f}x the "
                    f"{limit:g} s target ({severity}: warning at "
                    f"{policy.latency_warning_factor}x, critical at "
                    f"{policy.latency_critical_factor}x)"
                )
                keys.append(f"latency:{query_type}")
                if severity == "critical":
                    level = "critical"
        per_type[str(query_type)] = entry
    results["llm"]["query_types"] = per_type
    return level


def prediction_drift(
    monitor: Monitor,
    name: str,
    *,
    last: str = "24h",
    until: str | None = None,
    compare_to: str = "reference",
    distribution_check: bool = True,
    drift_threshold: float | None = None,
    environment: str | None = "production",
    record: bool = True,
) -> CheckResult:
    """Prediction volume, errors, latency and (with ``distribution_check``) the drift of
    the predicted-class distribution (and, against a log window, of the scores)."""
    import numpy as np

    from modelward.monitoring.drift import JensenShannon, NormalizedWasserstein, Sample
    from modelward.monitoring.samples import _key

    model = monitor._model(name)
    policy = monitor.ws.policy
    threshold = policy.drift.prediction_threshold if drift_threshold is None else drift_threshold
    if not 0 < threshold <= 1:
        raise ConfigError(
            f"--drift-threshold {threshold} must be between 0 and 1, e.g. 0.1",
            field="drift_threshold",
        )
    window = window_for(last, until=until)
    baseline = parse_baseline(compare_to)
    columns = ["version", "status", "prediction", "score", "latency_ms"]
    llm = model.task == "text-generation"
    frame = monitor.log.frame(
        name,
        window,
        columns=columns + (list(LLM_COLUMNS) if llm else []),
        environment=environment,
        labels=False,
        sample=MAX_ROWS,
    )
    total = len(frame)
    ok = frame[frame["status"] == "ok"]
    errors = int((frame["status"] == "error").sum())
    rejected = int((frame["status"] == "rejected").sum())
    latency = frame["latency_ms"].dropna().to_numpy("float64")
    p95 = float(np.percentile(latency, 95)) if len(latency) else None
    breaches: list[str] = []
    keys: list[str] = []
    level = "warning"
    results: dict[str, Any] = {
        "predictions": total,
        "errors": errors,
        "rejected": rejected,
        "error_rate": errors / total if total else None,
        "latency_p50_ms": float(np.percentile(latency, 50)) if len(latency) else None,
        "latency_p95_ms": p95,
        "mean_score": float(ok["score"].mean()) if ok["score"].notna().any() else None,
    }
    max_error = policy.rollout.max_error_rate
    if total and errors / total > max_error:
        rate = errors / total
        breaches.append(f"error rate {rate:.1%} > {max_error:.0%} ({errors} of {total})")
        keys.append("error_rate")
        if rate > 2 * max_error:
            level = "critical"
    p95_limit = policy.serving.latency.p95_ms
    if not llm and p95 is not None and p95 > p95_limit * policy.llm.latency_warning_factor:
        factor = p95 / p95_limit
        breaches.append(
            f"latency p95 {p95:.1f} ms is {factor:.1f}x the {p95_limit:.0f} ms target "
            f"(warning at {policy.llm.latency_warning_factor}x, critical at "
            f"{policy.llm.latency_critical_factor}x)"
        )
        keys.append("latency_p95")
        if factor >= policy.llm.latency_critical_factor:
            level = "critical"
    if llm:
        level = _llm_figures(
            monitor, name, window, environment, frame, results, breaches, keys, level
        )
    counts = ok["prediction"].dropna().astype(str).value_counts()
    current_counts = {_key(k): int(v) for k, v in counts.items()}
    results["class_shares"] = {
        k: v / max(sum(current_counts.values()), 1) for k, v in current_counts.items()
    }
    if distribution_check and not llm and model.task != "regression" and current_counts:
        base_window = baseline.window(window)
        if base_window is None:
            profile = monitor.ws.registry.reference_profile(name, "latest") or {}
            ref_counts = dict(profile.get("target_counts", {}))
            source = "training labels of the reference profile"
            ref_scores = None
        else:
            base = monitor.log.frame(
                name,
                base_window,
                columns=columns,
                environment=environment,
                labels=False,
                sample=MAX_ROWS,
            )
            base = base[base["status"] == "ok"]
            bc = base["prediction"].dropna().astype(str).value_counts()
            ref_counts = {_key(k): int(v) for k, v in bc.items()}
            source = f"predictions of {base_window.label()}"
            ref_scores = base["score"].dropna().to_numpy("float64")
        if ref_counts:
            score = JensenShannon(threshold).score(
                Sample(counts=ref_counts), Sample(counts=current_counts)
            )
            results["class_drift"] = {
                **score.to_dict(),
                "reference": source,
                "reference_counts": ref_counts,
                "current_counts": current_counts,
            }
            if score.drifted:
                breaches.append(
                    f"predicted-class distribution drifted: Jensen-Shannon "
                    f"{score.statistic:.3f} >= {threshold} against the {source}"
                )
                keys.append("prediction_drift")
        cur_scores = ok["score"].dropna().to_numpy("float64")
        if ref_scores is not None and len(ref_scores) and len(cur_scores):
            ws_score = NormalizedWasserstein(threshold).score(
                Sample(values=ref_scores), Sample(values=cur_scores)
            )
            results["score_drift"] = ws_score.to_dict()
            if ws_score.drifted:
                breaches.append(
                    f"score distribution drifted: normalized Wasserstein "
                    f"{ws_score.statistic:.3f} >= {threshold}"
                )
                keys.append("score_drift")
    insufficient = total == 0
    return monitor.finish(
        CheckResult(
            check="predictions",
            model=name,
            verdict=verdict_of(breaches, insufficient),
            inputs={
                "window": window.to_dict(),
                "compare_to": baseline.label(),
                "environment": environment,
                "distribution_check": distribution_check,
                "drift_threshold": threshold,
                "max_error_rate": max_error,
                "latency_p95_ms": p95_limit,
            },
            results=results,
            breaches=breaches or ([f"no predictions in {window.label()}"] if insufficient else []),
            keys=keys or (["insufficient"] if insufficient else []),
            level=level,
        ),
        record=record,
    )
