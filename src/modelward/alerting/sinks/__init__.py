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

from typing import TYPE_CHECKING

from modelward.alerting.sinks.apprise import AppriseSink
from modelward.alerting.sinks.base import Sink, shown
from modelward.alerting.sinks.console import ConsoleSink
from modelward.alerting.sinks.file import FileSink
from modelward.alerting.sinks.webhook import WebhookSink

if TYPE_CHECKING:
    from modelward.policy.model import AlertSink

__all__ = ["Sink", "shown", "sink_for"]


def sink_for(spec: AlertSink) -> Sink:
    if spec.kind == "console":
        return ConsoleSink()
    if spec.kind == "file":
        return FileSink(str(spec.path))
    if spec.kind == "apprise":
        return AppriseSink(str(spec.url))
    return WebhookSink(str(spec.url), slack=spec.kind == "slack")
