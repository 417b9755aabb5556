"""Presentation shared by the CLI and the reports: numbers and times as text, JSON dumping.

Below the CLI and the reports, so an HTML report, a ``--json`` answer and a table cell
show the same value the same way; nothing here prints or knows about a terminal
(``cli.output`` does that).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

__all__ = ["dump_json", "fmt", "fmt_interval", "fmt_time"]


def fmt_time(moment: datetime | None) -> str:
    return "" if moment is None else moment.strftime("%Y-%m-%d %H:%M:%S")


def fmt(value: Any, digits: int = 4) -> str:
    """A cell: floats rounded, None empty, booleans yes/no, lists joined."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return f"{value:.{digits}g}" if abs(value) < 1e-3 and value else f"{value:.{digits}f}"
    if isinstance(value, datetime):
        return fmt_time(value)
    if isinstance(value, list | tuple):
        return ", ".join(fmt(v, digits) for v in value)
    return str(value)


def fmt_interval(estimate: dict[str, Any] | None, digits: int = 3) -> str:
    """``{"value", "low", "high"}`` as ``value [low, high]`` (the value alone without bounds)."""
    if not estimate or estimate.get("value") is None:
        return ""
    if estimate.get("low") is None:
        return fmt(estimate["value"], digits)
    low, high = fmt(estimate["low"], digits), fmt(estimate["high"], digits)
    return f"{fmt(estimate['value'], digits)} [{low}, {high}]"


def dump_json(value: Any) -> str:
    """Indented JSON of results that may hold NumPy values, datetimes and records."""
    import orjson  # here, not at the top: every CLI start loads this module, few dump JSON

    def default(obj: Any) -> Any:
        if hasattr(obj, "to_dict"):
            return obj.to_dict()
        if hasattr(obj, "item"):
            return obj.item()
        if hasattr(obj, "tolist"):
            return obj.tolist()
        return str(obj)

    options = orjson.OPT_INDENT_2 | orjson.OPT_NON_STR_KEYS | orjson.OPT_SERIALIZE_NUMPY
    return orjson.dumps(value, default=default, option=options).decode()
