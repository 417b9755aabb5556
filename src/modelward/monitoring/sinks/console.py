"""Alerts as one line on stderr."""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["ConsoleSink"]


class ConsoleSink:
    def __init__(self, *, min_level: str = "warning") -> None:
        self.min_level = min_level

    def send(self, alert: dict[str, Any]) -> None:
        sys.stderr.write(f"ALERT [{alert['level']}] {alert['message']}\n")
        sys.stderr.flush()
