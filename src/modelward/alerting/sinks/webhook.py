"""Notices as a JSON POST: the notice itself, or Slack's incoming-webhook body ``{"text": …}``."""

from __future__ import annotations

from typing import Any

import orjson

from modelward.alerting.notice import Notice
from modelward.alerting.sinks.base import shown
from modelward.errors import ConfigError

__all__ = ["WebhookSink"]

_ICONS = {"critical": ":red_circle:", "warning": ":warning:", "info": ":information_source:"}


class WebhookSink:
    def __init__(self, url: str, *, slack: bool = False, timeout: float = 5.0) -> None:
        self.url = url
        self.slack = slack
        self.timeout = timeout

    def body(self, notice: Notice) -> dict[str, Any]:
        if not self.slack:
            return notice.to_dict()
        icon = ":white_check_mark:" if notice.status == "resolved" else _ICONS[notice.level]
        return {"text": f"{icon} *{notice.title}* {notice.message}"}

    def send(self, notice: Notice) -> None:
        import httpx

        kind = "slack" if self.slack else "webhook"
        try:
            response = httpx.post(
                self.url,
                content=orjson.dumps(self.body(notice), default=str),
                headers={"content-type": "application/json"},
                timeout=self.timeout,
            )
        except httpx.HTTPError as exc:
            raise ConfigError(
                f"alert {kind} {shown(self.url)} did not answer ({type(exc).__name__}); check "
                "alerts.sinks in policy.yml"
            ) from exc
        if response.status_code >= 400:
            raise ConfigError(
                f"alert {kind} {shown(self.url)} answered HTTP {response.status_code}; check "
                "alerts.sinks in policy.yml"
            )
