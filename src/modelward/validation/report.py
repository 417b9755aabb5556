"""The validation report: every check with its value and threshold, and the groups of the
bias check."""

from __future__ import annotations

from typing import Any

from modelward.reports import Document

__all__ = ["check_rows", "short", "validation_document"]


def short(value: Any) -> str:
    return f"{value:.4f}" if isinstance(value, float) else str(value)


def _result(check: dict[str, Any]) -> str:
    if not check.get("ran", True):
        return "NOT RUN" + ("" if check.get("required", True) else " (not required)")
    return "pass" if check["passed"] else "FAIL"


def check_rows(results: dict[str, Any]) -> list[tuple[Any, ...]]:
    return [
        (
            c["group"],
            c["name"],
            c["value"],
            "" if c["threshold"] is None else f"{c['op']} {short(c['threshold'])}".strip(),
            _result(c),
            c["detail"],
        )
        for c in results["checks"]
    ]


def validation_document(results: dict[str, Any], verdict: str) -> Document:
    doc = Document(
        f"Validation of {results['model']}:{results['version']}: {verdict}",
        f"data {results['data']} · {results['rows']} labelled rows · run #{results.get('run')}",
    )
    doc.section("Checks").table(
        ["check", "name", "value", "threshold", "result", "detail"],
        [list(r) for r in check_rows(results)],
    )
    bias = results.get("details", {}).get("bias", {})
    for attribute, detail in bias.items():
        if not isinstance(detail, dict) or "groups" not in detail:
            continue
        groups = detail["groups"]
        cols = list(next(iter(groups.values()), {}))
        doc.section(f"Groups by {attribute}").table(
            ["group", *cols], [[g, *(v[c] for c in cols)] for g, v in groups.items()]
        )
    return doc
