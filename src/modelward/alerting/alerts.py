"""Alerts: stored in the ``alerts`` table, deduplicated, resolved, sent through the sinks.

An alert's *fingerprint* (its dedupe key) is sha256 of (model, check, the stable keys of
what breached — ``v1:accuracy``, ``drift:chol``, ``all keys``; never the numbers — and the
environment, for a check of one). A repeat of an open alert within
``alerts.dedupe_window`` of its last occurrence only bumps ``count`` and ``last_at``; it
is not sent again unless it escalates from warning to critical. When its check passes
again the alert is resolved and the resolution is sent. An alert is stored before it is
sent: a sink that fails is reported, never loses it.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from modelward.alerting.notice import LEVELS, Notice
from modelward.errors import ConfigError, NotFound
from modelward.registry.records import aware
from modelward.store.tables import AlertRow, ModelRow
from modelward.timeutil import parse_duration, utcnow

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["AlertInfo", "Alerts", "fingerprint"]

ALERT_LEVELS = ("warning", "critical")


def fingerprint(
    model: str | None, check: str, keys: list[str], environment: str | None = None
) -> str:
    """What makes two alerts the same one: model, check, what breached and, for a check
    of one environment, which (staging's breach is not production's)."""
    scope = [model or "-", check] + ([f"env={environment}"] if environment else [])
    text = "|".join([*scope, *sorted(keys)])
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class AlertInfo:
    id: int
    fingerprint: str
    model: str | None
    check: str
    level: str
    message: str
    details: dict[str, Any]
    first_at: datetime
    last_at: datetime
    count: int
    resolved_at: datetime | None
    sent: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "fingerprint": self.fingerprint,
            "model": self.model,
            "check": self.check,
            "level": self.level,
            "message": self.message,
            "details": self.details,
            "first_at": self.first_at.isoformat(),
            "last_at": self.last_at.isoformat(),
            "count": self.count,
            "resolved_at": self.resolved_at.isoformat() if self.resolved_at else None,
            "sent": self.sent,
        }

    def notice(self) -> Notice:
        """This alert as the sinks get it: firing, or resolved once ``resolved_at`` is set."""
        return Notice(
            source=str(self.details.get("source", "monitor")),
            event=self.check,
            level=self.level,
            message=self.message,
            key=self.fingerprint,
            kind="alert",
            status="resolved" if self.resolved_at else "firing",
            model=self.model,
            environment=self.details.get("environment"),
            details=self.details,
            at=self.resolved_at or self.last_at,
            alert=self.to_dict(),
        )


class Alerts:
    """Fire, list and resolve alerts (``workspace.alerting.alerts``)."""

    def __init__(self, ws: Workspace, send: Callable[[Notice], list[str]]) -> None:
        """``send`` hands a notice to the sinks and returns what failed (``Alerting.send``)."""
        self.ws = ws
        self.send = send

    def fire(
        self,
        *,
        model: str | None,
        check: str,
        level: str,
        message: str,
        keys: list[str],
        details: dict[str, Any] | None = None,
        environment: str | None = None,
        source: str = "monitor",
    ) -> tuple[AlertInfo, list[str]]:
        """Store (or bump) an alert and send it unless it is a duplicate.

        Returns the alert and the sink errors (empty when every sink took it)."""
        if level not in ALERT_LEVELS:
            raise ConfigError(f"alert level {level!r} is not warning or critical")
        window = parse_duration(self.ws.policy.alerts.dedupe_window, what="alerts.dedupe_window")
        print_ = fingerprint(model, check, keys, environment)
        details = {
            **(details or {}),
            "source": source,
            **({"environment": environment} if environment else {}),
        }
        now = utcnow()
        send = True
        with self.ws.db.session() as session:
            model_id = None
            if model is not None:
                model_id = session.scalar(select(ModelRow.id).where(ModelRow.name == model))
            open_row = session.execute(
                select(AlertRow)
                .where(AlertRow.fingerprint == print_, AlertRow.resolved_at.is_(None))
                .order_by(AlertRow.id.desc())
                .limit(1)
            ).scalar_one_or_none()
            if open_row is not None and now - aware(open_row.last_at) <= window:
                escalates = LEVELS[level] > LEVELS.get(open_row.level, 1)
                send = escalates
                open_row.count += 1
                open_row.last_at = now
                open_row.message = message
                open_row.details = details
                if escalates:
                    open_row.level = level
                row = open_row
            else:
                row = AlertRow(
                    fingerprint=print_, model_id=model_id, check=check, level=level,
                    message=message, details=details, first_at=now, last_at=now, count=1,
                )  # fmt: skip
                session.add(row)
            session.flush()
            info = _info(row, model, sent=send)
        return info, (self.send(info.notice()) if send else [])

    def resolve_check(
        self, model: str | None, check: str, environment: str | None = None
    ) -> tuple[list[AlertInfo], list[str]]:
        """Resolve the open alerts of ``check`` (of ``environment`` only, when given)."""
        return self._resolve(
            lambda info: (
                (model is None or info.model == model)
                and info.check == check
                and (environment is None or info.details.get("environment") in (None, environment))
            )
        )

    def resolve_gone(
        self, checks: Iterable[str], firing: Iterable[str]
    ) -> tuple[list[AlertInfo], list[str]]:
        """Resolve the open alerts of ``checks`` whose fingerprint is not among ``firing``
        (a check that looked again and no longer finds them)."""
        checks, firing = set(checks), set(firing)
        return self._resolve(lambda info: info.check in checks and info.fingerprint not in firing)

    def resolve(self, alert_id: int) -> AlertInfo:
        """Resolve one alert by hand (``monitor alerts --resolve ID``)."""
        resolved, _ = self._resolve(lambda info: info.id == alert_id)
        if resolved:
            return resolved[0]
        with self.ws.db.session(readonly=True) as session:
            row = session.get(AlertRow, alert_id)
            if row is None:
                raise NotFound(f"no alert #{alert_id}; see `modelward monitor alerts`")
            name = None
            if row.model_id is not None:
                name = session.scalar(select(ModelRow.name).where(ModelRow.id == row.model_id))
            return _info(row, name)  # resolved already

    def _resolve(self, wanted: Callable[[AlertInfo], bool]) -> tuple[list[AlertInfo], list[str]]:
        """Resolve the open alerts ``wanted`` picks, then send their resolutions."""
        resolved: list[AlertInfo] = []
        with self.ws.db.session() as session:
            now = utcnow()
            for row, name in _rows(session, include_resolved=False):
                if wanted(_info(row, name)):
                    row.resolved_at = now
                    resolved.append(_info(row, name))
        errors = [e for info in resolved for e in self.send(info.notice())]
        return resolved, errors

    def list(
        self,
        *,
        model: str | None = None,
        include_resolved: bool = False,
        limit: int | None = 100,
    ) -> list[AlertInfo]:
        with self.ws.db.session(readonly=True) as session:
            if model is not None:
                self.ws.registry.get_model(model)  # a one-line error for an unknown name
            rows = _rows(session, include_resolved=include_resolved, model=model, limit=limit)
            return [_info(row, name) for row, name in rows]


def _rows(
    session: Any, *, include_resolved: bool, model: str | None = None, limit: int | None = None
) -> list[Any]:
    """(alert row, model name) pairs, latest first."""
    query = select(AlertRow, ModelRow.name).outerjoin(ModelRow, AlertRow.model_id == ModelRow.id)
    if model is not None:
        query = query.where(ModelRow.name == model)
    if not include_resolved:
        query = query.where(AlertRow.resolved_at.is_(None))
    query = query.order_by(AlertRow.last_at.desc(), AlertRow.id.desc())
    if limit is not None:
        query = query.limit(limit)
    return list(session.execute(query).all())


def _info(row: Any, model: str | None, *, sent: bool = False) -> AlertInfo:
    return AlertInfo(
        id=row.id,
        fingerprint=row.fingerprint,
        model=model,
        check=row.check,
        level=row.level,
        message=row.message,
        details=dict(row.details or {}),
        first_at=aware(row.first_at),
        last_at=aware(row.last_at),
        count=row.count,
        resolved_at=aware(row.resolved_at) if row.resolved_at else None,
        sent=sent,
    )
