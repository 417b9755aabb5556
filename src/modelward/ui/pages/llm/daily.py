"""Usage summed by day in SQL, and charted per model (or API key), the rest as "other"."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

from modelward.ui.pages.llm.window import MAX_GROUPS, USAGE_FIELDS, window_start
from modelward.ui.render import chart_values

if TYPE_CHECKING:
    pass

__all__ = ["Daily", "daily_usage", "usage_chart", "usage_sums"]


#: Models (or keys) drawn as their own series; the rest are summed as "other".
CHART_SERIES = 6

Daily = list[tuple[str, str, dict[str, Any]]]


def daily_usage(run: Any, since: str, by: str) -> Daily:
    """``(day, model or api_key, sums)`` per day from ``since``, newest first: one grouped
    scan of the window, at most :data:`MAX_GROUPS` groups (the oldest dropped)."""
    column = {"model": "model", "api_key": "api_key"}[by]
    sums = ", ".join(f"SUM({f})" for f in USAGE_FIELDS)
    return [
        (day, str(name), usage_sums({}, tuple(values)))
        for day, name, *values in run(
            f"SELECT day, {column}, {sums} FROM usage WHERE day >= :since "
            f"GROUP BY day, {column} ORDER BY day DESC, {column} LIMIT {MAX_GROUPS}",
            {"since": since},
        )
    ]


def usage_chart(daily: Daily, days: int, what: str, title: str, unit: str) -> dict[str, Any]:
    """One series per model (or key) over every day of the window, zero on days without
    usage; beyond :data:`CHART_SERIES` names the rest are summed as "other"."""
    start = datetime.strptime(window_start(days), "%Y-%m-%d").replace(tzinfo=UTC)
    position = {(start + timedelta(days=i)).strftime("%Y-%m-%d"): i for i in range(days)}
    totals: dict[str, float] = defaultdict(float)
    for _day, name, sums in daily:
        totals[name] += float(sums[what])
    named = sorted(totals, key=lambda n: (-totals[n], n))[:CHART_SERIES]
    series: dict[str, list[float | None]] = {n: [0.0] * days for n in named}
    for day, name, sums in daily:
        at = position.get(day)
        if at is None:
            continue
        key = name if name in series else "other"
        if key not in series:
            series[key] = [0.0] * days
        values = series[key]
        values[at] = (values[at] or 0.0) + float(sums[what])
    x = [(start + timedelta(days=i)).timestamp() for i in range(days)]
    return chart_values(x, series or {"total": [0.0] * days}, title=title, unit=unit)


def usage_sums(head: dict[str, Any], values: tuple[Any, ...]) -> dict[str, Any]:
    """A usage group as the CLI prints it (``modelward llm usage --json``)."""
    out = dict(head)
    for name, value in zip(USAGE_FIELDS, values, strict=True):
        out[name] = float(value or 0) if name == "cost" else int(value or 0)
    return out
