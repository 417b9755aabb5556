"""What every sink receives: one :class:`Notice`, as a dict (``to_dict``) or text."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from modelward.timeutil import utcnow

__all__ = ["LEVELS", "SOURCES", "Notice"]

#: Levels in increasing order of urgency (a sink's ``min_level`` is one of them).
LEVELS = {"info": 0, "warning": 1, "critical": 2}
#: Where messages come from (a sink's ``sources`` lists some of them).
SOURCES = ("monitor", "llm", "rollout", "lifecycle", "serving")


@dataclass(frozen=True)
class Notice:
    """An alert firing or resolved (``kind="alert"``), or a notification.

    ``key`` is the dedupe key: an alert's fingerprint (the same for its firing and its
    resolution), a notification's own identity (``rollout:3:rollout-advanced:2``)."""

    source: str
    event: str
    level: str
    message: str
    key: str
    kind: str = "notification"
    status: str | None = None  # alerts: firing | resolved
    model: str | None = None
    version: int | None = None
    environment: str | None = None
    details: dict[str, Any] = field(default_factory=dict)
    at: datetime = field(default_factory=utcnow)
    alert: dict[str, Any] | None = None  # the stored alert (AlertInfo.to_dict())

    def to_dict(self) -> dict[str, Any]:
        """The JSON body of the webhook and file sinks (an alert's own fields included)."""
        return {
            **(self.alert or {}),
            "kind": self.kind,
            "status": self.status,
            "source": self.source,
            "event": self.event,
            "level": self.level,
            "key": self.key,
            "model": self.model,
            "version": self.version,
            "environment": self.environment,
            "message": self.message,
            "details": self.details,
            "at": self.at.isoformat(),
        }

    @property
    def title(self) -> str:
        """``RESOLVED warning: drift`` / ``critical: llm-budget`` / ``info: rollout-advanced``."""
        prefix = "RESOLVED " if self.status == "resolved" else ""
        return f"{prefix}{self.level}: {self.event}"
