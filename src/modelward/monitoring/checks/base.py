"""The one interface of a monitoring check: ``run(context) -> CheckResult``.

A check is a small dataclass of its own options (``Drift(compare_to="previous")``) with
a name, a default window and ``run``. ``Monitor`` resolves the context (model, window,
environment, the log's reader, the policy), runs the check, records its result and fires
or resolves its alert; the check only reads and judges. A new check is one module in
this package, listed in ``CHECKS`` (``checks/__init__.py``).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, ClassVar, Generic, TypeVar

from modelward.monitoring.result import CheckResult
from modelward.monitoring.window import Window, window_for

if TYPE_CHECKING:
    from modelward.monitoring.context import Context

__all__ = ["Check", "R"]

R = TypeVar("R", bound=CheckResult, covariant=True)


class Check(Generic[R]):
    name: ClassVar[str]
    #: the default ``--last``; None: the check has no window (the machine's resources)
    last: ClassVar[str | None] = "24h"

    def window(self, last: str, until: str | datetime | None) -> Window:
        """The window ``last`` ending at ``until`` (a check may read ``last`` otherwise)."""
        return window_for(last, until=until)

    def run(self, context: Context) -> R:  # pragma: no cover - every check defines it
        raise NotImplementedError
