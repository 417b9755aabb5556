"""Alerts: stored in the ``alerts`` table, deduplicated, sent to the policy's sinks.

An alert's *fingerprint* is sha256 of (model, check, the stable keys of what breached —
``v1:accuracy``, ``drift:chol``; never the numbers). A repeat of an open alert within
``alerts.dedupe_window`` only bumps its ``count`` and ``last_at``; it is not sent again,
unless it escalates from warning to critical. A check that passes again resolves the open
alerts of that check. Sinks that fail are reported, never hide the alert: it is stored first.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError, NotFound
from modelward.timeutil import parse_duration, utcnow

if TYPE_CHECKING:
    from modelward.monitoring.result import CheckResult
    from modelward.workspace import Workspace

__all__ = ["AlertInfo", "Alerts", "fingerprint"]

LEVELS = {"warning": 1, "critical": 2}


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


class Alerts:
    """``ws.alerts``-style access: fire, list, resolve."""

    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def sinks(self) -> list[Any]:
        from modelward.monitoring.sinks import sink_for

        return [sink_for(spec) for spec in self.ws.policy.alerts.sinks]

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
    ) -> tuple[AlertInfo, list[str]]:
        """Store (or bump) an alert and send it unless it is a duplicate.

        Returns the alert and the sink errors (empty when every sink took it)."""
        from sqlalchemy import select

        from modelward.registry.records import aware
        from modelward.store.tables import AlertRow, ModelRow

        if level not in LEVELS:
            raise ConfigError(f"alert level {level!r} is not warning or critical")
        window = parse_duration(self.ws.policy.alerts.dedupe_window, what="alerts.dedupe_window")
        print_ = fingerprint(model, check, keys, environment)
        details = {**(details or {}), **({"environment": environment} if environment else {})}
        now = utcnow()
        send = True
        with self.ws.db.session() as session:
            model_id = None
            if model is not None:
                row_model = session.execute(
                    select(ModelRow).where(ModelRow.name == model)
                ).scalar_one_or_none()
                model_id = row_model.id if row_model is not None else None
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
                open_row.details = details or {}
                if escalates:
                    open_row.level = level
                row = open_row
            else:
                row = AlertRow(
                    fingerprint=print_,
                    model_id=model_id,
                    check=check,
                    level=level,
                    message=message,
                    details=details or {},
                    first_at=now,
                    last_at=now,
                    count=1,
                )
                session.add(row)
            session.flush()
            info = _info(row, model, sent=send)
        errors: list[str] = []
        if send:
            body = info.to_dict()
            for sink in self.sinks():
                if LEVELS[level] < LEVELS[sink.min_level]:
                    continue
                try:
                    sink.send(body)
                except ConfigError as exc:
                    errors.append(exc.message)
        return info, errors

    def for_result(self, result: CheckResult) -> tuple[AlertInfo | None, list[str]]:
        """Fire an alert for a failed check; resolve this check's open alerts when it passed."""
        environment = result.inputs.get("environment")  # None: every environment
        if result.failed:
            return self.fire(
                model=result.model,
                check=result.check,
                level=result.level,
                message=result.summary(),
                keys=result.keys or [result.verdict],
                details={"run_id": result.run_id, "breaches": result.breaches},
                environment=environment,
            )
        if result.verdict == "pass":
            self.resolve_check(result.model, result.check, environment)
        return None, []

    def resolve_check(self, model: str | None, check: str, environment: str | None = None) -> int:
        """Resolve the open alerts of ``check`` (of ``environment`` only, when given)."""
        from sqlalchemy import select

        from modelward.store.tables import AlertRow, ModelRow

        with self.ws.db.session() as session:
            query = select(AlertRow).where(AlertRow.check == check, AlertRow.resolved_at.is_(None))
            if model is not None:
                query = query.join(ModelRow, AlertRow.model_id == ModelRow.id).where(
                    ModelRow.name == model
                )
            rows = [
                row
                for row in session.execute(query).scalars().all()
                if environment is None
                or (row.details or {}).get("environment") in (None, environment)
            ]
            for row in rows:
                row.resolved_at = utcnow()
            return len(rows)

    def resolve(self, alert_id: int) -> AlertInfo:
        from sqlalchemy import select

        from modelward.store.tables import AlertRow, ModelRow

        with self.ws.db.session() as session:
            row = session.get(AlertRow, alert_id)
            if row is None:
                raise NotFound(f"no alert #{alert_id}; see `modelward monitor alerts`")
            if row.resolved_at is None:
                row.resolved_at = utcnow()
            name = None
            if row.model_id is not None:
                name = session.execute(
                    select(ModelRow.name).where(ModelRow.id == row.model_id)
                ).scalar_one_or_none()
            return _info(row, name)

    def list(
        self, *, model: str | None = None, include_resolved: bool = False, limit: int = 100
    ) -> list[AlertInfo]:
        from sqlalchemy import select

        from modelward.store.tables import AlertRow, ModelRow

        with self.ws.db.session(readonly=True) as session:
            query = select(AlertRow, ModelRow.name).outerjoin(
                ModelRow, AlertRow.model_id == ModelRow.id
            )
            if model is not None:
                self.ws.registry.get_model(model)  # a one-line error for an unknown name
                query = query.where(ModelRow.name == model)
            if not include_resolved:
                query = query.where(AlertRow.resolved_at.is_(None))
            query = query.order_by(AlertRow.last_at.desc(), AlertRow.id.desc()).limit(limit)
            return [_info(row, name) for row, name in session.execute(query).all()]


def _info(row: Any, model: str | None, *, sent: bool = False) -> AlertInfo:
    from modelward.registry.records import aware

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
