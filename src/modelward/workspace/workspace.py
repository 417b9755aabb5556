"""The workspace: where state lives, and the Python entry point to everything.

A workspace is a folder (``--workspace``, ``$MODELWARD_HOME`` or ``./.modelward``) with
``policy.yml``, a SQLite metadata DB, an artifact store and the logs. Each location can
be pointed elsewhere: ``MODELWARD_DB_URL`` (PostgreSQL), ``MODELWARD_ARTIFACTS`` and
``MODELWARD_LOGS`` (any fsspec URL). Same code, same commands.
"""

from __future__ import annotations

import os
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import yaml

from modelward.artifacts.store import open_store
from modelward.atomic import write_atomic
from modelward.errors import AlreadyExists, WorkspaceError, WorkspaceTooNew
from modelward.redact import redact
from modelward.registry.catalog import Catalog
from modelward.store.plain import PlainDB
from modelward.store.revision import HEAD_REVISION
from modelward.workspace.layout import Layout

if TYPE_CHECKING:
    import pandas as pd

    from modelward.alerting import Alerting
    from modelward.artifacts.store import ArtifactStore
    from modelward.deploy.deployments import Deployments
    from modelward.flavors.base import Flavor
    from modelward.http.tokens import Tokens
    from modelward.llm.fleet import LLMFleet
    from modelward.monitoring import Monitor
    from modelward.policy import Policy
    from modelward.registry.records import EventInfo, VersionInfo
    from modelward.registry.registry import Registry
    from modelward.store.db import Database

__all__ = ["Workspace", "resolve_root"]

FORMAT = 1


def resolve_root(path: str | Path | None = None) -> Path:
    """``path``, else ``$MODELWARD_HOME``, else ``./.modelward``."""
    if path is not None:
        return Path(path).expanduser().resolve()
    home = os.environ.get("MODELWARD_HOME")
    return Path(home).expanduser().resolve() if home else Path.cwd() / ".modelward"


class Workspace:
    """An open workspace. ``Workspace.open()`` finds one; ``Workspace.init(path)`` makes one."""

    def __init__(
        self,
        root: Path,
        *,
        db_url: str | None = None,
        artifacts_url: str | None = None,
        logs_url: str | None = None,
    ) -> None:
        self.layout = Layout.of(root, db_url=db_url, artifacts_url=artifacts_url, logs_url=logs_url)

    @property
    def root(self) -> Path:
        return self.layout.root

    @property
    def db_url(self) -> str:
        return self.layout.db_url

    @property
    def artifacts_url(self) -> str:
        return self.layout.artifacts_url

    @property
    def logs_url(self) -> str:
        return self.layout.logs_url

    # -- opening --------------------------------------------------------------------------

    @classmethod
    def init(
        cls,
        path: str | Path | None = None,
        *,
        policy: Policy | None = None,
        db_url: str | None = None,
    ) -> Workspace:
        """Create a workspace; refuses to touch an existing one."""
        root = resolve_root(path)
        workspace = cls(root, db_url=db_url)
        layout = workspace.layout
        if layout.policy.exists():
            raise AlreadyExists(
                f"a modelward workspace already exists at {root}; nothing was changed"
            )
        if root.exists() and not root.is_dir():
            raise WorkspaceError(f"{root} is a file; choose a folder for the workspace")
        from modelward.storage import check_url

        check_url(layout.artifacts_url, "MODELWARD_ARTIFACTS")  # before anything is made
        check_url(layout.logs_url, "MODELWARD_LOGS")
        for folder in layout.folders:
            folder.mkdir(parents=True, exist_ok=True)
        workspace.db.migrate()  # creates the schema
        write_atomic(layout.meta, workspace._meta())
        # policy.yml is written last: its presence marks a complete workspace.
        from modelward.policy import Policy, dump_policy

        write_atomic(layout.policy, dump_policy(policy or Policy()))
        return workspace

    @staticmethod
    def exists(path: str | Path | None = None) -> bool:
        """Whether a workspace is there (``path``, else where :meth:`open` looks)."""
        return (resolve_root(path) / Layout.POLICY).exists()

    @classmethod
    def open(
        cls,
        path: str | Path | None = None,
        *,
        db_url: str | None = None,
        check_policy: bool = True,
    ) -> Workspace:
        """The workspace at ``path``; its policy.yml is validated now (a malformed one is
        reported before anything runs) unless ``check_policy=False``, for readers of the
        registry that may never need it (then on first use)."""
        root = resolve_root(path)
        workspace = cls(root, db_url=db_url)
        if not workspace.layout.policy.exists():
            raise WorkspaceError(
                f"no modelward workspace at {root}; create one with `modelward init {root}` "
                "or point --workspace or MODELWARD_HOME at an existing one"
            )
        workspace._check_meta()
        if check_policy:
            _ = workspace.policy
        return workspace

    def _meta(self) -> str:
        default = self.layout.db_in_folder
        return yaml.safe_dump(
            {"format": FORMAT, "metadata": "workspace" if default else redact(self.db_url)},
            sort_keys=False,
        )

    def _check_meta(self) -> None:
        """Refuse to open a PostgreSQL-backed workspace against a fresh SQLite file."""
        path = self.layout.meta
        if not path.exists():
            return
        try:
            meta = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except yaml.YAMLError as exc:
            raise WorkspaceError(f"{path} is not valid YAML; restore it from a backup") from exc
        if not isinstance(meta, dict):
            raise WorkspaceError(f"{path} must be a mapping; restore it from a backup")
        if int(meta.get("format", FORMAT)) > FORMAT:
            raise WorkspaceTooNew(
                f"the workspace at {self.root} has format {meta['format']}, written by a newer "
                "modelward; upgrade modelward (pip install -U modelward) to open it"
            )
        stored = meta.get("metadata", "workspace")
        if isinstance(stored, str) and redact(stored) != stored:  # written before masking
            stored = redact(stored)
            try:
                write_atomic(path, yaml.safe_dump({**meta, "metadata": stored}, sort_keys=False))
            except OSError:  # a read-only workspace still opens; the secret stays masked here
                pass
        if stored != "workspace" and self.layout.db_in_folder:
            raise WorkspaceError(
                f"the workspace at {self.root} keeps its metadata in {stored}; set "
                "MODELWARD_DB_URL to that database (with its password) to open it"
            )

    def close(self) -> None:
        if "db" in self.__dict__:
            self.db.dispose()
        if "sql" in self.__dict__:
            self.sql.close()

    def __enter__(self) -> Workspace:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- parts ----------------------------------------------------------------------------

    @cached_property
    def policy(self) -> Policy:
        from modelward.policy import load_policy  # pydantic models: a read may not need them

        return load_policy(self.layout.policy)

    def policy_for(self, name: str) -> Policy:
        """The effective policy of model ``name``: the workspace's, with the model's
        ``models: {NAME: ...}`` section of policy.yml merged in (key by key)."""
        return self.policy.for_model(name)

    def policy_sources(self, name: str) -> dict[str, dict[str, Any]]:
        """Model ``name``'s effective policy by key path, each value with where it came from:
        ``default``, ``workspace`` (policy.yml) or ``models.NAME`` (its section)."""
        self.registry.get_model(name)  # an unknown model is an error naming it
        from modelward.policy import explain

        return explain(self.policy, name)

    def check_policy(self, path: str | Path | None = None) -> Policy:
        """Validate a policy file (default: the workspace's policy.yml) and its ``models:``
        sections, each of which must name a model of this workspace's registry."""
        from modelward.policy import check_models, load_policy

        file = Path(path) if path is not None else self.layout.policy
        policy = load_policy(file)
        known = [model.name for model in self.registry.list_models()]
        check_models(policy, known, source=str(file))
        return policy

    @cached_property
    def db(self) -> Database:
        from modelward.store.db import Database  # SQLAlchemy: for writes, not for reads

        return Database(self.db_url)

    @cached_property
    def sql(self) -> PlainDB:
        """The metadata DB through its own driver (no SQLAlchemy), on an up-to-date schema:
        the registry's reads and its append-only records."""
        plain = PlainDB(self.db_url)
        if plain.revision() != HEAD_REVISION:
            _ = self.db  # brings the schema up to date, or refuses a newer one
        return plain

    @cached_property
    def catalog(self) -> Catalog:
        """The registry's reads alone: what read-only commands open (no SQLAlchemy)."""
        from modelward.workspace.criteria import PolicyCriteria

        return Catalog(self.sql, self.artifacts, criteria=PolicyCriteria(self))

    @cached_property
    def artifacts(self) -> ArtifactStore:
        return open_store(self.artifacts_url)

    @cached_property
    def registry(self) -> Registry:
        from modelward.registry.registry import Registry
        from modelward.workspace.criteria import PolicyCriteria

        return Registry(
            self.db,
            self.artifacts,
            notify=self._notify,
            criteria=PolicyCriteria(self),
            sql=self.sql,
        )

    @property
    def alerting(self) -> Alerting:
        """Alerts and notifications, sent to the sinks of ``policy.yml`` (``alerts.sinks``)."""
        from modelward.alerting import Alerting

        return Alerting(self)

    def _notify(self, **notice: Any) -> None:
        self.alerting.notify(**notice)

    @cached_property
    def deployments(self) -> Deployments:
        """Deployments: environment -> versions with traffic weights (docs/serving.md)."""
        from modelward.deploy.deployments import Deployments

        return Deployments(self.registry, prepare=self._prepare_serving, path_of=self._serving_path)

    def _prepare_serving(self, name: str, version: int) -> str:
        from modelward.serving.models import prepare_model

        return prepare_model(self, name, version)

    def _serving_path(self, name: str, version: int) -> tuple[str, str | None]:
        from modelward.serving.models import serving_path

        return serving_path(self, name, version)

    @cached_property
    def tokens(self) -> Tokens:
        """API tokens for ``modelward serve``: create, list, revoke (docs/serving.md)."""
        from modelward.http.tokens import Tokens

        return Tokens(self.registry)

    @cached_property
    def llm(self) -> LLMFleet:
        """The LLM fleet: providers from ``llm.yml``, endpoint models, cached calls."""
        from modelward.llm.fleet import LLMFleet

        return LLMFleet(self)

    @cached_property
    def monitor(self) -> Monitor:
        """Production monitoring over the prediction log (metrics, drift, quality, …)."""
        from modelward.monitoring import Monitor

        return Monitor(self)

    def write_report(self, name: str, **options: Any) -> dict[str, Any]:
        """The monitoring report of ``name`` (metrics over time, drift, quality,
        degradation, alerts) written as HTML and JSON (``out``, default in the reports
        folder) and stored as a run; its content with ``files`` and ``run_id``."""
        from modelward.monitoring.report import publish_report

        return publish_report(self.monitor, name, **options)

    def runbook(self, schedule: str, name: str, **options: Any) -> dict[str, Any]:
        """Run the daily, weekly or monthly checklist of ``name`` and write its report."""
        from modelward.monitoring.runbook import run_runbook

        return run_runbook(self.monitor, schedule, name, **options)

    # -- the registry, for Python callers -------------------------------------------------

    def register(self, name: str, model: Any, *, data: pd.DataFrame, **options: Any) -> VersionInfo:
        """Register a fitted scikit-learn estimator (or ONNX bytes) as a new version.

        ``data`` is the training data; with ``target=`` it also holds the label column.
        The input schema, fingerprint and reference profile are computed from it. The other
        options (``task``, ``params``, ``metrics``, ``tags``, ``description``, ``source``,
        ``reference_profile``, ``accepts_missing``: the inputs the model imputes, which may
        be null) are :func:`~modelward.workspace.registration.register_model`'s.
        """
        from modelward.workspace.registration import register_model

        return register_model(self, name, model, data=data, **options)

    def register_file(
        self, name: str, path: str | Path, *, data: pd.DataFrame | Path | str, **options: Any
    ) -> VersionInfo:
        """Register a model file (.skops or .onnx); it is loaded under the trust rules first.

        ``data`` is the training data: a DataFrame, or a file or dataset spec to read. The
        other options (``target``, ``task``, ``tags``, ``description``,
        ``accepts_missing``) are
        :func:`~modelward.workspace.registration.register_file`'s."""
        from modelward.workspace.registration import register_file

        return register_file(self, name, path, data=data, **options)

    def load_model(self, name: str, version: int | str = "latest") -> Flavor:
        return self.registry.load_model(name, version)

    def transition(
        self, name: str, version: int | str, to: str, *, reason: str, **options: Any
    ) -> EventInfo:
        return self.registry.transition(name, version, to, reason=reason, **options)
