"""The registry's :class:`~modelward.registry.criteria.Criteria` in a workspace: the numbers
of each model's effective policy (``lifecycle:``) and its versions' traffic, read from the
prediction log (every environment; the ``client`` column names who sent each request)."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from modelward.registry.criteria import Traffic
from modelward.registry.records import aware
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.workspace.workspace import Workspace

__all__ = ["PolicyCriteria"]


class PolicyCriteria:
    def __init__(self, workspace: Workspace) -> None:
        self.ws = workspace

    def approvals_required(self, model: str) -> int:
        return self.ws.policy_for(model).lifecycle.approvals_required

    def migration_days(self, model: str) -> int:
        return self.ws.policy_for(model).lifecycle.migration_days

    def notice_days(self, model: str) -> int:
        return self.ws.policy_for(model).lifecycle.notice_days

    def traffic(self, model: str, version: int, since: datetime | None = None) -> Traffic:
        from modelward.predlog.files import relisted

        return relisted(lambda: self._traffic(model, version, since))

    def _traffic(self, model: str, version: int, since: datetime | None) -> Traffic:
        from modelward.predlog.reader import LogReader, Span

        reader = LogReader(self.ws.logs_url, wal=self.ws.layout.wal)
        try:
            window = Span(since, utcnow() + timedelta(days=1)) if since is not None else None
            scan = reader.scan(model, window, version=version)
            if scan.empty:
                return Traffic()
            client = "coalesce(client, '-')" if scan.has("client") else "'-'"
            found = reader.aggregate(scan, [client, "count(*)", "max(ts)"], group_by=client)
        finally:
            reader.close()
        clients = tuple(sorted((str(c), int(n)) for c, n, _ in found))
        last = max((aware(ts) for *_, ts in found if ts is not None), default=None)
        return Traffic(rows=sum(n for _, n in clients), last=last, clients=clients)
