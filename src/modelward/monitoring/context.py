"""What a check runs on: the model, the window, the environment, the log's reader, the
effective policy and the reference profiles of the model's versions.

``Monitor`` resolves a :class:`Context` once per run (the model must exist and have
predictions in the log); a check asks it for scans of the window and for the reference
of the version it judges.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelward.monitoring.window import Window

if TYPE_CHECKING:
    from modelward.policy import Policy
    from modelward.predlog.engine import Scan
    from modelward.predlog.reader import LogReader
    from modelward.registry.records import ModelInfo, VersionInfo
    from modelward.workspace import Workspace

__all__ = ["Context", "Reference"]


@dataclass(frozen=True)
class Reference:
    """A version and its stored reference profile (its training data's statistics)."""

    info: VersionInfo
    profile: dict[str, Any]

    @property
    def columns(self) -> dict[str, Any]:
        """Per-feature statistics of the profile."""
        return dict(self.profile.get("columns", {}))


@dataclass
class Context:
    ws: Workspace
    log: LogReader
    model: ModelInfo | None  # None for the checks of the machine (resources)
    window: Window | None
    environment: str | None
    last: str | None = None  # the window as asked (``--last``)
    _references: dict[int | str, Reference] = field(default_factory=dict, repr=False)

    @property
    def name(self) -> str:
        if self.model is None:
            raise TypeError("this check runs on a model")
        return self.model.name

    @property
    def policy(self) -> Policy:
        """The model's effective policy (its ``models.NAME`` section merged in); the
        workspace's for the checks of the machine."""
        if self.model is None:
            return self.ws.policy
        return self.ws.policy_for(self.model.name)

    def scan(self, window: Window | None = None, **narrowing: Any) -> Scan:
        """The model's predictions in ``window`` (default: the check's) and environment."""
        return self.log.scan(
            self.name, window or self.window, environment=self.environment, **narrowing
        )

    def served(self, *, statuses: tuple[str, ...] | None = ("ok",)) -> dict[int, int]:
        """version -> predictions in the window (of ``statuses``; every one when None)."""
        out: dict[int, int] = {}
        for (version, status), n in sorted(
            self.log.census(self.scan()).items(), key=lambda kv: (kv[0][0] or 0, kv[0][1] or "")
        ):
            if version is not None and (statuses is None or status in statuses):
                out[version] = out.get(version, 0) + n
        return out

    def busiest(self, *, statuses: tuple[str, ...] | None = ("ok",)) -> int | None:
        """The version that served most in the window (the lowest on a tie)."""
        served = self.served(statuses=statuses)
        return max(sorted(served), key=served.__getitem__) if served else None

    def reference(self, version: int | str | None = None) -> Reference:
        """``version`` (default: the latest) and its reference profile."""
        ref = "latest" if version is None else version
        if ref not in self._references:
            info = self.ws.catalog.get_version(self.name, ref)
            profile = self.ws.catalog.reference_profile(self.name, info.version) or {}
            self._references[ref] = self._references[info.version] = Reference(info, profile)
        return self._references[ref]
