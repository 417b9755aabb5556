"""Notices through Apprise: one URL reaches email (``mailtos://``), Microsoft Teams
(``workflows://``), PagerDuty (``pagerduty://``), Opsgenie, Telegram, Discord, a JSON
endpoint (``json://``) and the rest of Apprise's list. The title says the level and the
event; the body is the message. Apprise's notification type follows the level
(info, warning, critical → failure; a resolution → success)."""

from __future__ import annotations

from modelward.alerting.notice import Notice
from modelward.errors import ConfigError

__all__ = ["AppriseSink"]

_TYPES = {"info": "info", "warning": "warning", "critical": "failure"}


def _scheme(url: str) -> str:
    return url.split("://", 1)[0] if "://" in url else "?"


class AppriseSink:
    def __init__(self, url: str) -> None:
        self.url = url

    def send(self, notice: Notice) -> None:
        import apprise

        client = apprise.Apprise()
        if not client.add(self.url):
            raise ConfigError(
                f"apprise cannot use the {_scheme(self.url)}:// URL of an alert sink; fix "
                "alerts.sinks in policy.yml (see the Apprise list of services)"
            )
        kind = "success" if notice.status == "resolved" else _TYPES[notice.level]
        if not client.notify(
            body=notice.message, title=f"modelward {notice.title}", notify_type=kind
        ):
            raise ConfigError(
                f"alert apprise {_scheme(self.url)}:// did not deliver the notification; "
                "check alerts.sinks in policy.yml"
            )
