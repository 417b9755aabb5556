"""What every sink is (``send(notice) -> None``), and how an error may show its URL."""

from __future__ import annotations

from typing import Protocol
from urllib.parse import urlsplit

from modelward.alerting.notice import Notice

__all__ = ["Sink", "shown"]


class Sink(Protocol):
    def send(self, notice: Notice) -> None: ...


def shown(url: str) -> str:
    """A URL as errors may show it: scheme and host only (paths and users hold secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")
