"""The dispatcher: hands each :class:`~.notice.Notice` to the sinks that want it."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from modelward.alerting.alerts import Alerts
from modelward.alerting.notice import LEVELS, Notice
from modelward.alerting.sinks import sink_for
from modelward.errors import ModelwardError

if TYPE_CHECKING:
    from modelward.policy.model import AlertSink, AlertsPolicy
    from modelward.workspace import Workspace

__all__ = ["Alerting", "wants"]

log = logging.getLogger("modelward.alerting")


def wants(spec: AlertSink, notice: Notice) -> bool:
    """Whether a sink takes this notice: its level, its source, and resolutions."""
    if notice.status == "resolved" and not spec.send_resolved:
        return False
    if spec.sources is not None and notice.source not in spec.sources:
        return False
    return LEVELS[notice.level] >= LEVELS[spec.min_level]


class Alerting:
    """``workspace.alerting``: alerts (``.alerts``) and notifications (``.notify``)."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    @property
    def policy(self) -> AlertsPolicy:
        return self.ws.policy.alerts

    @property
    def alerts(self) -> Alerts:
        return Alerts(self.ws, self.send)

    def send(self, notice: Notice) -> list[str]:
        """Send to every sink that wants it; returns what failed, one line per sink."""
        errors = []
        for number, spec in enumerate(self.policy.sinks, start=1):
            if not wants(spec, notice):
                continue
            try:
                sink_for(spec).send(notice)
            except ModelwardError as exc:
                errors.append(exc.message)
            except Exception as exc:  # noqa: BLE001 - a broken sink never stops the caller
                errors.append(
                    f"alert sink #{number} ({spec.kind}) failed: {type(exc).__name__}; check "
                    "alerts.sinks in policy.yml"
                )
        return errors

    def notify(
        self,
        *,
        source: str,
        event: str,
        level: str,
        message: str,
        key: str,
        model: str | None = None,
        version: int | None = None,
        environment: str | None = None,
        details: dict[str, Any] | None = None,
    ) -> list[str]:
        """Tell the sinks that something happened (not stored: history keeps it).

        Never raises: the action it reports is done. What failed is logged and returned."""
        notice = Notice(
            source=source, event=event, level=level, message=message, key=key, model=model,
            version=version, environment=environment, details=details or {},
        )  # fmt: skip
        try:
            errors = self.send(notice)
        except ModelwardError as exc:  # e.g. policy.yml broken since the command started
            errors = [exc.message]
        for error in errors:
            log.warning("notification not delivered: %s", error)
        return errors
