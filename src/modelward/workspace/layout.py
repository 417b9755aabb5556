"""Where everything of one workspace lives: the one place that spells its file names.

A workspace is a folder::

    policy.yml          the runbooks' thresholds (its presence marks a complete workspace)
    workspace.yml       the format, and where the metadata lives when not in modelward.db
    modelward.db        the metadata DB (SQLite; MODELWARD_DB_URL points elsewhere)
    artifacts/          content-addressed model files (MODELWARD_ARTIFACTS: any fsspec URL)
    logs/               the prediction log and feedback, Parquet (MODELWARD_LOGS: any URL)
      quarantine/       log rows Parquet cannot hold, set aside with the reason
    wal/                the server's write-ahead segments, not yet Parquet
    llm.yml             the LLM fleet: providers and prices
    reports/            HTML reports; reports/cards/ the model cards
    backups/            the monthly runbook's backups
    cache/onnx/         converted ONNX files the server loads; cache/llm/ LLM answers

Everything else asks a :class:`Layout` (``workspace.layout``) for a path; a test fails
when a module outside ``workspace/`` spells one of these names.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import ClassVar

from modelward.predlog.layout import QUARANTINE

__all__ = ["Layout"]


@dataclass(frozen=True)
class Layout:
    """The paths and URLs of the workspace at ``root``."""

    root: Path
    db_url: str
    artifacts_url: str
    logs_url: str

    POLICY: ClassVar[str] = "policy.yml"
    META: ClassVar[str] = "workspace.yml"
    DB: ClassVar[str] = "modelward.db"
    ARTIFACTS: ClassVar[str] = "artifacts"
    LOGS: ClassVar[str] = "logs"
    QUARANTINE: ClassVar[str] = QUARANTINE
    WAL: ClassVar[str] = "wal"
    LLM_CONFIG: ClassVar[str] = "llm.yml"
    REPORTS: ClassVar[str] = "reports"
    CARDS: ClassVar[str] = "cards"
    BACKUPS: ClassVar[str] = "backups"
    CACHE: ClassVar[str] = "cache"

    @classmethod
    def of(
        cls,
        root: Path,
        *,
        db_url: str | None = None,
        artifacts_url: str | None = None,
        logs_url: str | None = None,
    ) -> Layout:
        """The layout at ``root``: each location as given, else from the environment
        (``MODELWARD_DB_URL``, ``MODELWARD_ARTIFACTS``, ``MODELWARD_LOGS``), else in the folder."""
        env = os.environ.get
        return cls(
            root=root,
            db_url=db_url or env("MODELWARD_DB_URL") or cls.sqlite_url(root),
            artifacts_url=artifacts_url or env("MODELWARD_ARTIFACTS") or str(root / cls.ARTIFACTS),
            logs_url=logs_url or env("MODELWARD_LOGS") or str(root / cls.LOGS),
        )

    @classmethod
    def sqlite_url(cls, root: Path) -> str:
        """The metadata DB's URL when it lives in the workspace folder."""
        return f"sqlite:///{root / cls.DB}"

    @property
    def db_in_folder(self) -> bool:
        """Whether the metadata DB is the folder's own ``modelward.db``."""
        return self.db_url == self.sqlite_url(self.root)

    # -- files ----------------------------------------------------------------------------

    @property
    def policy(self) -> Path:
        return self.root / self.POLICY

    @property
    def meta(self) -> Path:
        return self.root / self.META

    @property
    def llm_config(self) -> Path:
        return self.root / self.LLM_CONFIG

    # -- folders --------------------------------------------------------------------------

    @property
    def folders(self) -> tuple[Path, ...]:
        """What ``init`` creates (the artifact and log folders even when their URLs point
        elsewhere, so a later unset variable finds them)."""
        return (self.root / self.ARTIFACTS, self.root / self.LOGS, self.reports)

    @property
    def wal(self) -> Path:
        return self.root / self.WAL

    @property
    def quarantine(self) -> str:
        """Where the log writer sets aside rows Parquet cannot hold (under the log URL)."""
        return f"{self.logs_url.rstrip('/')}/{self.QUARANTINE}"

    @property
    def reports(self) -> Path:
        return self.root / self.REPORTS

    @property
    def cards(self) -> Path:
        return self.reports / self.CARDS

    @property
    def backups(self) -> Path:
        return self.root / self.BACKUPS

    @property
    def onnx_cache(self) -> Path:
        return self.root / self.CACHE / "onnx"

    @property
    def llm_cache(self) -> Path:
        return self.root / self.CACHE / "llm"

    def config_files(self) -> list[Path]:
        """The workspace's own config files (policy.yml, workspace.yml, llm.yml, …): what
        ``backup --include-config`` copies."""
        if not self.root.is_dir():
            return []
        return [
            path
            for path in sorted(self.root.iterdir())
            if path.is_file() and path.suffix in (".yml", ".yaml", ".toml", ".json")
        ]
