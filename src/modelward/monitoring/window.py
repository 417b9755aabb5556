"""Time windows: ``--last 24h`` and what a check compares against (``--compare-to``).

- ``reference``: the version's stored reference profile (its training data);
- ``previous``: the window of the same length just before the current one;
- ``window:7d``: the 7 days just before the current window.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from modelward.errors import ConfigError
from modelward.timeutil import format_duration, parse_duration, parse_time, utcnow

__all__ = ["Baseline", "Window", "parse_baseline", "window_for"]


@dataclass(frozen=True)
class Window:
    """A half-open time range ``[start, end)`` in UTC."""

    start: datetime
    end: datetime

    @property
    def length(self) -> timedelta:
        return self.end - self.start

    def before(self, length: timedelta) -> Window:
        """The window of ``length`` that ends where this one starts."""
        return Window(self.start - length, self.start)

    def label(self) -> str:
        return f"{self.start:%Y-%m-%d %H:%M} .. {self.end:%Y-%m-%d %H:%M} UTC"

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "length": format_duration(self.length),
        }


def window_for(last: str, *, until: str | datetime | None = None) -> Window:
    """The window of length ``last`` ending at ``until`` (default: now)."""
    length = parse_duration(last, what="--last")
    if length.total_seconds() <= 0:
        raise ConfigError(f"--last {last!r} must be longer than zero; write e.g. 24h or 7d")
    if until is None:
        end = utcnow()
    elif isinstance(until, datetime):
        end = until
    else:
        end = parse_time(until, what="--until")
    try:
        return Window(end - length, end)
    except OverflowError as exc:
        raise ConfigError(
            f"--last {last!r} reaches before the year 1; write a shorter window, e.g. 30d"
        ) from exc


@dataclass(frozen=True)
class Baseline:
    """What a window is compared with: ``reference`` or an earlier window of the log."""

    kind: str  # reference | previous | window
    length: timedelta | None = None

    def window(self, current: Window) -> Window | None:
        if self.kind == "reference":
            return None
        return current.before(self.length or current.length)

    def label(self) -> str:
        if self.kind == "window" and self.length is not None:
            return f"window:{format_duration(self.length)}"
        return self.kind


def parse_baseline(text: str) -> Baseline:
    """``reference`` | ``previous`` | ``window:<duration>``."""
    value = text.strip()
    if value in ("reference", "previous"):
        return Baseline(value)
    if value.startswith("window:"):
        length = parse_duration(value.split(":", 1)[1], what="--compare-to window")
        if length.total_seconds() <= 0:
            raise ConfigError("--compare-to window:<duration> needs a positive duration")
        return Baseline("window", length)
    raise ConfigError(
        f"--compare-to {text!r} is not one of reference, previous, window:<duration> "
        "(e.g. window:7d)",
        field="compare_to",
    )
