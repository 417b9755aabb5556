"""The deprecation notice: what the alert sinks are told when a version is deprecated."""

from __future__ import annotations

from typing import Any

from modelward.registry.records import EventInfo, VersionInfo

__all__ = ["deprecation_notice"]


def deprecation_notice(
    info: VersionInfo, event: EventInfo, notice: dict[str, Any]
) -> dict[str, Any]:
    """``Alerting.notify``'s arguments for the deprecation ``event`` of ``info``; ``notice``
    is ``{"days": N, "clients": {name: requests} | None, "error"?: why unknown}`` (``-``
    is the anonymous client)."""
    days, clients = notice.get("days"), notice.get("clients")
    if clients is None:
        used = f"its clients are unknown ({notice.get('error')})"
    elif clients:
        named = ", ".join(
            f"{'anonymous' if name == '-' else name} ({count} requests)"
            for name, count in clients.items()
        )
        used = f"clients that used it in the last {days} days: {named}"
    else:
        used = f"no client used it in the last {days} days"
    return {
        "source": "lifecycle",
        "event": "deprecation-notice",
        "level": "warning",
        "model": info.model,
        "version": info.version,
        "key": f"deprecation:{event.id}",
        "message": f"{info.ref} is deprecated ({event.reason}); {used}. Move them to another "
        "version before it is retired",
        "details": {
            "clients": sorted(c for c in clients or {} if c != "-"),
            "requests": clients,
            "days": days,
            "actor": event.actor,
            "reason": event.reason,
        },
    }
