"""``/ui/llm/usage``: requests and spend per model and API key by day (``?days=``), over the
CLI's window (``modelward llm usage --days N``: UTC days, today included)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.ui.pages.llm.daily import Daily, daily_usage, usage_chart, usage_sums
from modelward.ui.pages.llm.window import DEFAULT_DAYS, MAX_GROUPS, USAGE_FIELDS, window_start
from modelward.ui.view import Page, View

if TYPE_CHECKING:
    pass

__all__ = ["usage"]


MAX_DAYS = 365


def _days(view: View) -> int:
    return view.number("days", DEFAULT_DAYS, low=1, high=MAX_DAYS)


def _totals(daily: Daily, by: str) -> list[dict[str, Any]]:
    """The window's sums per model (or key), costliest first, from the daily groups."""
    totals: dict[str, dict[str, Any]] = {}
    for _day, name, sums in daily:
        entry = totals.setdefault(name, {by: name, **dict.fromkeys(USAGE_FIELDS, 0)})
        for field in USAGE_FIELDS:
            entry[field] += sums[field]
    return sorted(totals.values(), key=lambda t: (-t["cost"], t[by]))


def usage(view: View) -> Page:
    days = _days(view)
    limit, offset = view.paging()
    since = window_start(days)
    sums = ", ".join(f"SUM({f})" for f in USAGE_FIELDS)
    with view.ws.sql.snapshot() as run:
        rows = run(
            f"SELECT model, version, api_key, {sums}, COUNT(*) OVER () FROM usage "
            "WHERE day >= :since GROUP BY model, version, api_key "
            "ORDER BY model, version, api_key LIMIT :limit OFFSET :offset",
            {"since": since, "limit": limit, "offset": offset},
        )
        if rows or offset == 0:
            total = rows[0][-1] if rows else 0
        else:  # past the last page: how many there are, for the pager
            total = run(
                "SELECT COUNT(*) FROM (SELECT 1 FROM usage WHERE day >= :since "
                "GROUP BY model, version, api_key) groups",
                {"since": since},
            )[0][0]
        daily_models = daily_usage(run, since, "model")
        daily_keys = daily_usage(run, since, "api_key")
    return Page(
        "llm_usage.html.j2",
        f"LLM usage, last {days} days",
        {
            "days": days,
            "since": since,
            "by_model": _totals(daily_models, "model")[:200],
            "by_key": _totals(daily_keys, "api_key")[:200],
            "rows": [
                usage_sums({"model": r[0], "version": r[1], "api_key": r[2]}, r[3:-1]) for r in rows
            ],
            "total": total,
            "limit": limit,
            "offset": offset,
            "partial": max(len(daily_models), len(daily_keys)) >= MAX_GROUPS,
            "charts": [
                (
                    "llm-cost",
                    usage_chart(daily_models, days, "cost", "Spend per model per day", "$"),
                ),
                (
                    "llm-requests",
                    usage_chart(daily_models, days, "requests", "Requests per model per day", ""),
                ),
                (
                    "llm-errors",
                    usage_chart(daily_models, days, "errors", "Errors per model per day", ""),
                ),
                (
                    "llm-key-cost",
                    usage_chart(daily_keys, days, "cost", "Spend per API key per day", "$"),
                ),
            ],
        },
    )
