"""Alert sinks: one small class per destination, each with ``send(notice) -> None``.

- :class:`~.console.ConsoleSink`: one line on stderr;
- :class:`~.file.FileSink`: one JSON line appended to a file;
- :class:`~.webhook.WebhookSink`: a JSON POST (the notice, or Slack's ``{"text": …}``);
- :class:`~.apprise.AppriseSink`: any service Apprise reaches from one URL (email,
  Microsoft Teams, PagerDuty, Opsgenie, Telegram, …).

A sink that cannot deliver raises ``ConfigError`` with one line naming the sink but never
its URL (webhook and Apprise URLs carry tokens). ``sink_for(spec)`` builds one from its
``alerts.sinks`` entry in ``policy.yml``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from modelward.alerting.notice import Notice
    from modelward.policy.model import AlertSink

__all__ = ["Sink", "shown", "sink_for"]


class Sink(Protocol):
    def send(self, notice: Notice) -> None: ...


def shown(url: str) -> str:
    """A URL as errors may show it: scheme and host only (paths and users hold secrets)."""
    parts = urlsplit(url)
    host = parts.hostname or "?"
    return f"{parts.scheme}://{host}" + (f":{parts.port}" if parts.port else "")


def sink_for(spec: AlertSink) -> Sink:
    if spec.kind == "console":
        from modelward.alerting.sinks.console import ConsoleSink

        return ConsoleSink()
    if spec.kind == "file":
        from modelward.alerting.sinks.file import FileSink

        return FileSink(str(spec.path))
    if spec.kind == "apprise":
        from modelward.alerting.sinks.apprise import AppriseSink

        return AppriseSink(str(spec.url))
    from modelward.alerting.sinks.webhook import WebhookSink

    return WebhookSink(str(spec.url), slack=spec.kind == "slack")
