"""Alert sinks: one small class per destination, each with ``send(alert) -> None``.

- :class:`~.console.ConsoleSink`: one line on stderr;
- :class:`~.file.FileSink`: one JSON line appended to a file;
- :class:`~.webhook.WebhookSink`: a JSON POST (generic body, or Slack's ``{"text": …}``).

``sink_for(policy_sink)`` builds one from its ``alerts.sinks`` entry in ``policy.yml``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from modelward.policy.model import AlertSink

__all__ = ["Sink", "sink_for"]


class Sink(Protocol):
    min_level: str

    def send(self, alert: dict[str, Any]) -> None: ...


def sink_for(spec: AlertSink) -> Sink:
    if spec.kind == "console":
        from modelward.monitoring.sinks.console import ConsoleSink

        return ConsoleSink(min_level=spec.min_level)
    if spec.kind == "file":
        from modelward.monitoring.sinks.file import FileSink

        return FileSink(str(spec.path), min_level=spec.min_level)
    from modelward.monitoring.sinks.webhook import WebhookSink

    return WebhookSink(str(spec.url), slack=spec.kind == "slack", min_level=spec.min_level)
