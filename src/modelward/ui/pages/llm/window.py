"""What the LLM pages share: the ``?env=`` parameter, the CLI's usage
window, and SQL for a part of a JSON column."""

from __future__ import annotations

from datetime import timedelta
from typing import TYPE_CHECKING

from modelward.errors import RequestError
from modelward.timeutil import utcnow
from modelward.ui.view import View

if TYPE_CHECKING:
    pass

__all__ = [
    "DEFAULT_DAYS",
    "ENVIRONMENTS",
    "MAX_GROUPS",
    "USAGE_FIELDS",
    "environment",
    "window_start",
]


ENVIRONMENTS = ("production", "staging")
DEFAULT_DAYS = 30

#: Usage groups a page reads at most (days x models); a window holds far fewer.
MAX_GROUPS = 20_000

USAGE_FIELDS = ("requests", "errors", "cache_hits", "input_tokens", "output_tokens", "cost")


def environment(view: View) -> str:
    env = view.arg("env", "production") or "production"
    if env not in ENVIRONMENTS:
        raise RequestError(f"?env= must be production or staging, not {env[:20]!r}", field="env")
    return env


def window_start(days: int) -> str:
    """The first UTC day of a ``days`` window ending today (the CLI's window)."""
    return (utcnow() - timedelta(days=days - 1)).strftime("%Y-%m-%d")
