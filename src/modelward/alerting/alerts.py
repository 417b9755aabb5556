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
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

from modelward.alerting.notice import LEVELS, Notice
from modelward.errors import ConfigError, NotFound
from modelward.store.plain import Statements, json_value, moment
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
        with self.ws.sql.transaction() as run:
            found = run(f"{_SELECT} WHERE a.fingerprint = :fp AND a.resolved_at IS NULL "
                        "ORDER BY a.id DESC LIMIT 1", {"fp": print_})  # fmt: skip
            current = _info(found[0]) if found else None
            if current is not None and now - current.last_at <= window:
                escalates = LEVELS[level] > LEVELS.get(current.level, 1)
                info = replace(
                    current, count=current.count + 1, last_at=now, message=message,
                    details=details, level=level if escalates else current.level,
                    sent=escalates,
                )  # fmt: skip
                run.execute(
                    "UPDATE alerts SET count = count + 1, last_at = :now, message = :message, "
                    "details = :details, level = :level WHERE id = :id",
                    {"now": now, "message": message, "details": details, "level": info.level,
                     "id": info.id},
                )  # fmt: skip
            else:
                model_id = _model_id(run, model)
                row = {
                    "fingerprint": print_, "model_id": model_id, "check": check,
                    "level": level, "message": message, "details": details, "first_at": now,
                    "last_at": now, "count": 1,
                }  # fmt: skip
                alert_id = run.insert("alerts", row)
                info = AlertInfo(id=alert_id, fingerprint=print_, model=model, check=check,
                                 level=level, message=message, details=details, first_at=now,
                                 last_at=now, count=1, resolved_at=None, sent=True)  # fmt: skip
        return info, (self.send(info.notice()) if info.sent else [])

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
        found = self.ws.sql.rows(f"{_SELECT} WHERE a.id = :id", {"id": int(alert_id)})
        if not found:
            raise NotFound(f"no alert #{alert_id}; see `modelward monitor alerts`")
        return _info(found[0])  # resolved already

    def _resolve(self, wanted: Callable[[AlertInfo], bool]) -> tuple[list[AlertInfo], list[str]]:
        """Resolve the open alerts ``wanted`` picks, then send their resolutions."""
        with self.ws.sql.transaction() as run:
            now = utcnow()
            open_ = [_info(row) for row in run(f"{_SELECT} WHERE a.resolved_at IS NULL")]
            resolved = [replace(info, resolved_at=now) for info in open_ if wanted(info)]
            for info in resolved:
                run.execute(
                    "UPDATE alerts SET resolved_at = :now WHERE id = :id",
                    {"now": now, "id": info.id},
                )
        errors = [e for info in resolved for e in self.send(info.notice())]
        return resolved, errors

    def list(
        self,
        *,
        model: str | None = None,
        include_resolved: bool = False,
        limit: int | None = 100,
    ) -> list[AlertInfo]:
        """Alerts, latest first: the open ones, or all with ``include_resolved``."""
        if model is not None:
            self.ws.catalog.get_model(model)  # a one-line error for an unknown name
        where: list[str] = []
        params: dict[str, Any] = {}
        if model is not None:
            where.append("m.name = :model")
            params["model"] = model
        if not include_resolved:
            where.append("a.resolved_at IS NULL")
        sql = _SELECT + (" WHERE " + " AND ".join(where) if where else "")
        sql += " ORDER BY a.last_at DESC, a.id DESC"
        if limit is not None:
            sql += " LIMIT :limit"
            params["limit"] = int(limit)
        return [_info(row) for row in self.ws.sql.rows(sql, params)]


#: An alert with its model's name: the columns :func:`_info` reads, in its order.
_SELECT = (
    'SELECT a.id, a.fingerprint, m.name, a."check", a.level, a.message, a.details, '
    "a.first_at, a.last_at, a.count, a.resolved_at "
    "FROM alerts a LEFT JOIN models m ON a.model_id = m.id"
)


def _model_id(run: Statements, model: str | None) -> int | None:
    if model is None:
        return None
    found = run("SELECT id FROM models WHERE name = :name", {"name": model})
    return int(found[0][0]) if found else None


def _info(row: tuple[Any, ...]) -> AlertInfo:
    alert_id, print_, model, check, level, message, details, first, last, count, resolved = row
    return AlertInfo(
        id=alert_id,
        fingerprint=print_,
        model=model,
        check=check,
        level=level,
        message=message,
        details=dict(json_value(details) or {}),
        first_at=moment(first),
        last_at=moment(last),
        count=count,
        resolved_at=moment(resolved) if resolved else None,
    )
