"""Alerts as a JSON POST: the alert itself, or Slack's incoming-webhook body ``{"text": …}``."""

from __future__ import annotations

from typing import Any

from modelward.errors import ConfigError

__all__ = ["WebhookSink"]


class WebhookSink:
    def __init__(
        self, url: str, *, slack: bool = False, min_level: str = "warning", timeout: float = 5.0
    ) -> None:
        self.url = url
        self.slack = slack
        self.min_level = min_level
        self.timeout = timeout

    def body(self, alert: dict[str, Any]) -> dict[str, Any]:
        if not self.slack:
            return alert
        icon = ":red_circle:" if alert["level"] == "critical" else ":warning:"
        return {"text": f"{icon} *{alert['level']}* {alert['message']}"}

    def send(self, alert: dict[str, Any]) -> None:
        import httpx

        try:
            response = httpx.post(self.url, json=self.body(alert), timeout=self.timeout)
        except httpx.HTTPError as exc:
            raise ConfigError(
                f"alert webhook {self.url} did not answer ({type(exc).__name__}); check "
                "alerts.sinks in policy.yml"
            ) from None
        if response.status_code >= 400:
            raise ConfigError(
                f"alert webhook {self.url} answered HTTP {response.status_code}; check "
                "alerts.sinks in policy.yml"
            )
