"""What the monitoring pages share: the checks in the order the pages show them, and stored
values shown as short, redacted text."""

from __future__ import annotations

import json
import math
from typing import Any

from modelward.redact import redact

__all__ = [
    "ALL",
    "CHECKS",
    "MAX_ROWS",
    "MONITOR",
    "as_float",
    "check_order",
    "scalar",
    "strings",
    "text_value",
]


MONITOR = "monitor-"
#: The checks of a model, in the order the pages show them.
CHECKS = ("metrics", "drift", "quality", "predictions", "degradation", "review")

#: ``?env=all``: the checks run over every environment.
ALL = "all"

#: A run page: rows of a table, and characters of a value shown.
MAX_ROWS = 500
MAX_TEXT = 400


def check_order(check: str) -> tuple[int, str]:
    return (CHECKS.index(check) if check in CHECKS else len(CHECKS), check)


def as_float(value: Any) -> float | None:
    """A stored figure as a float for a chart (None for anything else)."""
    kind = type(value)  # not isinstance: a bool is no figure
    if kind is float:
        return value if math.isfinite(value) else None
    return float(value) if kind is int else None


def strings(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [text_value(v) for v in value[:MAX_ROWS]]


def text_value(value: Any) -> str:
    text = value if isinstance(value, str) else json.dumps(value, default=str)
    text = redact(text)
    return text if len(text) <= MAX_TEXT else text[: MAX_TEXT - 1] + "…"


def scalar(value: Any) -> str:
    from modelward.present import fmt

    if value is None:
        return "null"
    return text_value(fmt(value))
