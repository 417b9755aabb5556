"""Templates of the dashboard: Jinja2, autoescaped, loaded from the package.

Filters every page uses, so a number or a time reads as it does in the CLI
(:mod:`modelward.present`) with its zone shown: ``num``, ``interval``, ``utc``, ``ago``.
Charts are data, never script: ``{{ chart(id, data) }}`` writes a ``<figure>`` and its
values as a ``<script type="application/json">`` block that ``static/ui.js`` draws with
uPlot (the page's Content-Security-Policy allows no inline script).
"""

from __future__ import annotations

import functools
from datetime import datetime
from typing import Any
from urllib.parse import quote, urlencode

from markupsafe import Markup

from modelward.present import fmt, fmt_interval
from modelward.timeutil import utcnow

__all__ = ["chart_values", "environment", "render"]


@functools.cache
def environment() -> Any:
    import jinja2

    env = jinja2.Environment(
        loader=jinja2.PackageLoader("modelward.ui", "templates"),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(num=_num, interval=fmt_interval, utc=_utc, ago=_ago, seg=_segment)
    env.globals.update(chart=_chart, query=_query)
    return env


def render(template: str, values: dict[str, Any]) -> str:
    return str(environment().get_template(template).render(**values))


def _num(value: Any, digits: int = 4) -> str:
    return fmt(value, digits)


def _utc(moment: datetime | None, seconds: bool = False) -> str:
    if moment is None:
        return ""
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC")


def _ago(moment: datetime | None) -> str:
    if moment is None:
        return ""
    seconds = (utcnow() - moment).total_seconds()
    if seconds < 60:
        return "just now"
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if seconds >= size:
            return f"{int(seconds // size)}{unit} ago"
    return "just now"


def _segment(value: Any) -> str:
    """A value as one URL path segment (``/`` escaped too)."""
    return quote(str(value), safe="")


def _query(base: dict[str, Any], **changes: Any) -> str:
    """``?a=1&b=2``: the page's query with ``changes`` (None drops a key)."""
    merged = {k: v for k, v in {**base, **changes}.items() if v is not None and v != ""}
    return "?" + urlencode(merged) if merged else "?"


def chart_values(
    x: list[float], series: dict[str, list[float | None]], **options: Any
) -> dict[str, Any]:
    """A time-series chart's data: ``x`` in epoch seconds, one list per series name;
    ``options``: ``title``, ``thresholds`` ({label: value}), ``bands`` ({series: [low, high]}
    series names), ``steps`` (draw as steps), ``unit``."""
    return {"x": x, "series": [{"label": k, "values": v} for k, v in series.items()], **options}


def _chart(element_id: str, values: dict[str, Any], label: str = "") -> Markup:
    import orjson
    from markupsafe import escape

    # orjson: several times faster on a history's long series; NaN and inf become null
    text = orjson.dumps(values, default=str).decode()
    # "</" can never close the script element; JSON keeps meaning with "<\/".
    text = text.replace("</", "<\\/").replace("<!--", "<\\!--")
    return Markup(
        f'<figure class="chart" data-chart="{escape(element_id)}" role="img" '
        f'aria-label="{escape(label or values.get("title") or "chart")}"></figure>'
        f'<script type="application/json" id="{escape(element_id)}">{text}</script>'
    )
