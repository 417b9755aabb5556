"""The data validation report: every finding, and the distribution summaries."""

from __future__ import annotations

from typing import Any

from modelward.reports import Document

__all__ = ["data_document", "finding_rows"]


def finding_rows(result: dict[str, Any]) -> list[list[Any]]:
    return [
        [f["status"], f["check"], f["column"], f["value"], f["threshold"], f["detail"]]
        for f in result["findings"]
    ]


def data_document(result: dict[str, Any]) -> Document:
    doc = Document(
        f"Data validation of {result['data']}",
        f"{result['rows']} rows · {result['columns']} columns · verdict {result['verdict']}"
        + (f" · against {result['against']}" if result.get("against") else ""),
    )
    doc.section("Findings").table(
        ["status", "check", "column", "value", "threshold", "detail"],
        finding_rows(result),
    )
    summaries = result.get("summaries") or {}
    numeric = {k: v for k, v in summaries.items() if "mean" in v}
    if numeric:
        cols = ["mean", "std", "min", "p50", "max", "skew"]
        doc.section("Distributions").table(
            ["column", *cols], [[k, *(v[c] for c in cols)] for k, v in numeric.items()]
        )
    return doc
