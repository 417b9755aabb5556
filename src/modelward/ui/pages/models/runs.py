"""A version's runs as its version page lists them: each run's checks, metrics and a
one-line summary."""

from __future__ import annotations

from typing import Any

from modelward.store.plain import json_value, moment

__all__ = ["run_row"]


def run_row(row: tuple[Any, ...]) -> dict[str, Any]:
    run_id, kind, verdict, inputs, results, actor, created_at = row
    results = json_value(results) or {}
    inputs = json_value(inputs) or {}
    return {
        "id": run_id,
        "kind": kind,
        "verdict": verdict,
        "actor": actor,
        "at": moment(created_at),
        "data": inputs.get("data") or inputs.get("dataset") or inputs.get("cases") or "",
        "checks": _checks(results),
        "metrics": _run_metrics(results),
        "summary": _run_summary(kind, results),
    }


def _checks(results: dict[str, Any]) -> list[dict[str, Any]]:
    """A validation's checks: each one's value, threshold and verdict."""
    checks = results.get("checks")
    if not isinstance(checks, list):
        return []
    out = []
    for check in checks[:100]:
        if not isinstance(check, dict) or "name" not in check:
            continue
        ran = check.get("ran", True)
        out.append(
            {
                "group": check.get("group", ""),
                "name": check.get("name"),
                "value": check.get("value", check.get("canary")),
                "op": check.get("op") or "",
                "threshold": check.get("threshold", check.get("limit")),
                "verdict": (
                    "skipped"
                    if not ran
                    else "pass"
                    if check.get("passed")
                    else "fail"
                    if "passed" in check
                    else check.get("status", "")
                ),
                "detail": check.get("detail") or "",
            }
        )
    return out


def _run_metrics(results: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """An evaluation's overall metrics with their intervals (``{value, low, high}``)."""
    metrics = results.get("metrics")
    if not isinstance(metrics, dict):
        return []
    return [
        (key, value)
        for key, value in list(metrics.items())[:20]
        if isinstance(value, dict) and "value" in value
    ]


def _run_summary(kind: str, results: dict[str, Any]) -> str:
    if kind == "prediction-tests" and isinstance(results.get("cases"), list):
        cases = results["cases"]
        passed = sum(1 for c in cases if isinstance(c, dict) and c.get("passed"))
        return f"{passed} of {len(cases)} cases pass"
    if isinstance(results.get("reason"), str):
        return results["reason"]
    if isinstance(results.get("summary"), str):
        return results["summary"]
    return ""
