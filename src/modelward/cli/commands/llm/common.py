"""What several ``modelward llm`` commands share: options, the models list, tables."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from modelward.cli.output import table
from modelward.errors import ConfigError
from modelward.present import fmt

if TYPE_CHECKING:
    from rich.table import Table

    from modelward.llm.evaluate import Evaluation

__all__ = ["ConcurrencyOption", "DatasetOption", "eval_table", "models", "rankings_table"]

DatasetOption = Annotated[Path, typer.Option("--dataset", help="Evaluation dataset (JSONL).")]
ConcurrencyOption = Annotated[
    int, typer.Option("--concurrency", help="Calls in flight at once per run.")
]


def models(value: str | None) -> list[str]:
    """``--models a,b:2`` as a list; an option given with no names is a mistake."""
    refs = [m.strip() for m in (value or "").split(",") if m.strip()]
    if value is not None and not refs:
        raise ConfigError(
            "--models needs model names, e.g. --models gpt-fast,claude:2", field="models"
        )
    return refs


def _ci(value: dict[str, Any]) -> str:
    """The value as a cell, its interval (when there is one) to 3 digits."""
    if value.get("value") is None:
        return ""
    if value.get("low") is None:
        return fmt(value["value"])
    return f"{fmt(value['value'])} [{fmt(value['low'], 3)}, {fmt(value['high'], 3)}]"


def eval_table(evaluations: list[Evaluation]) -> Table:
    rows = []
    for e in evaluations:
        m = e.metrics
        rows.append(
            (
                e.ref,
                _ci(m["accuracy"]),
                _ci(m["response_time"]["mean"]),
                m["response_time"]["median"],
                _ci(m["response_time"]["p95"]),
                m["response_time"]["p99"],
                m["cost"]["total"],
                _ci(m["cost"]["per_query"]),
                m["cost"]["per_token"],
                _ci(m["relevance"]),
                _ci(m["coherence"]),
                _ci(m["error_rate"]),
                e.verdict,
            )
        )
    return table(
        (
            "model",
            "accuracy [95% CI]",
            "mean s",
            "median s",
            "p95 s",
            "p99 s",
            "cost $",
            "$/query",
            "$/token",
            "relevance",
            "coherence",
            "error rate",
            "verdict",
        ),
        rows,
    )


def rankings_table(rankings: dict[str, list[dict[str, Any]]]) -> Table:
    rows = [
        (
            q,
            i + 1,
            r["model"],
            r["score"],
            r["accuracy"],
            r["response_time"],
            r["cost"],
            "yes" if r["eligible"] else "no: " + "; ".join(r["failed"]),
        )
        for q, ranked in rankings.items()
        for i, r in enumerate(ranked)
    ]
    return table(
        ("query type", "rank", "model", "score", "accuracy", "mean s", "$/query", "eligible"),
        rows,
        title="ranking (policy weights)",
    )
