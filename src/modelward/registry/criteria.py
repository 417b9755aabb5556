"""What the lifecycle's human criteria read beside the registry: the policy's numbers for a
model and its traffic in the prediction log.

The registry knows neither the policy nor the log; the workspace hands it a
:class:`Criteria` (``modelward.workspace.criteria``). A registry opened without one
(:data:`NO_CRITERIA`) requires no approvals and sees no traffic.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

__all__ = ["NO_CRITERIA", "Criteria", "Traffic"]


@dataclass(frozen=True)
class Traffic:
    """A version's predictions in the log: how many, the last one's time, and who sent
    them (client name -> predictions; ``-`` is anonymous)."""

    rows: int = 0
    last: datetime | None = None
    clients: tuple[tuple[str, int], ...] = ()


class Criteria(Protocol):
    def approvals_required(self, model: str) -> int:
        """Approvals by distinct people a version of ``model`` needs to enter production."""
        ...

    def migration_days(self, model: str) -> int:
        """Days without traffic a version of ``model`` needs before it is retired."""
        ...

    def notice_days(self, model: str) -> int:
        """How far back a deprecation notice looks for the version's clients."""
        ...

    def traffic(self, model: str, version: int, since: datetime | None = None) -> Traffic | None:
        """The version's predictions since ``since`` (all time when None); None: no log."""
        ...


class _NoCriteria:
    def approvals_required(self, model: str) -> int:
        return 0

    def migration_days(self, model: str) -> int:
        return 0

    def notice_days(self, model: str) -> int:
        return 30

    def traffic(self, model: str, version: int, since: datetime | None = None) -> Traffic | None:
        return None


NO_CRITERIA: Criteria = _NoCriteria()
