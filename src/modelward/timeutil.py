"""Time helpers shared by every subpackage: UTC now, durations like ``30m`` or ``7d``, and a
time as the prediction log's ``ts`` (microseconds since the epoch)."""

from __future__ import annotations

import os
import re
import time
from datetime import UTC, datetime, timedelta

from modelward.errors import ConfigError

__all__ = [
    "format_duration",
    "from_micros",
    "micros",
    "parse_duration",
    "parse_time",
    "process_started_at",
    "utcnow",
]

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_US = timedelta(microseconds=1)


def micros(moment: datetime) -> int:
    """A timezone-aware time as the log's ``ts``: whole microseconds since the epoch."""
    return (moment - _EPOCH) // _ONE_US


def from_micros(value: int) -> datetime:
    """The time of a log's ``ts`` given as microseconds since the epoch (:func:`micros`)."""
    return _EPOCH + timedelta(microseconds=value)


_UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400, "w": 604800}
_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d|w)\s*$")


def utcnow() -> datetime:
    """The current time, timezone-aware, in UTC."""
    return datetime.now(UTC)


def process_started_at() -> datetime | None:
    """When this process started, to the clock tick (Linux: /proc), or None if unknown.

    Measured as time since boot on both sides, so it does not depend on the wall clock's
    boot-time rounding (psutil's ``create_time`` can be a second off).
    """
    try:
        with open("/proc/self/stat", "rb") as stat:
            fields = stat.read().rsplit(b")", 1)[1].split()
        ticks = int(fields[19])  # field 22, starttime: clock ticks after boot
        age = time.clock_gettime(time.CLOCK_BOOTTIME) - ticks / os.sysconf("SC_CLK_TCK")
    except (OSError, ValueError, IndexError, AttributeError):
        return None
    return utcnow() - timedelta(seconds=age) if age >= 0 else None


def parse_duration(text: str | int | float | timedelta, *, what: str = "duration") -> timedelta:
    """``"30m"`` -> 30 minutes. Units: ms, s, m, h, d, w. Bare numbers are seconds."""
    if isinstance(text, timedelta):
        return text
    if isinstance(text, int | float) and not isinstance(text, bool):
        if text < 0:
            raise ConfigError(f"{what} must not be negative, got {text}")
        return timedelta(seconds=float(text))
    match = _DURATION.match(str(text))
    if not match:
        raise ConfigError(
            f"{what} {text!r} is not a duration; write a number and a unit, e.g. 30m, 24h or 7d"
        )
    try:
        return timedelta(seconds=float(match.group(1)) * _UNITS[match.group(2)])
    except OverflowError as exc:
        raise ConfigError(
            f"{what} {text!r} is too long to be a duration; write e.g. 30m, 24h or 7d"
        ) from exc


def format_duration(delta: timedelta) -> str:
    seconds = delta.total_seconds()
    for unit in ("w", "d", "h", "m", "s"):
        size = _UNITS[unit]
        if seconds >= size and seconds % size == 0:
            return f"{int(seconds // size)}{unit}"
    return f"{seconds:g}s"


def parse_time(text: str, *, what: str = "time") -> datetime:
    """An ISO-8601 time (``2026-11-23T10:00``, ``2026-11-23``); naive times are UTC."""
    try:
        value = datetime.fromisoformat(text)
    except ValueError as exc:
        raise ConfigError(
            f"{what} {text!r} is not an ISO-8601 time; write e.g. 2026-11-23T10:00:00Z"
        ) from exc
    return value if value.tzinfo else value.replace(tzinfo=UTC)
