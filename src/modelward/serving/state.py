"""What a server process knows: routes (from the deployments), loaded models, tokens.

A watcher thread re-reads the deployments and tokens every ``poll`` seconds. When a
deployment changes, the versions it needs are loaded first (off the event loop) and the
routing table is then replaced in one assignment: requests in flight keep the table
they started with, new requests see the new one. Models are loaded once and shared by
every route that uses them; versions no route needs any more are released.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, select
from sqlalchemy.engine import make_url

from modelward.deploy.routing import pick_version
from modelward.errors import ModelwardError, NotFound, StorageError
from modelward.http.tokens import active_tokens
from modelward.serving.models import load_model
from modelward.store.tables import DeploymentRow, TokenRow

if TYPE_CHECKING:
    from modelward.http.tokens import TokenInfo
    from modelward.serving.models import LoadedModel
    from modelward.workspace import Workspace

__all__ = ["Route", "ServingState"]

log = logging.getLogger("modelward.serving")


@dataclass(frozen=True)
class Route:
    model: str
    environment: str
    revision: int
    targets: tuple[tuple[int, float], ...]
    models: dict[int, LoadedModel]

    def pick(self, request_id: str) -> LoadedModel:
        return self.models[pick_version(self.targets, request_id)]


class ServingState:
    def __init__(self, ws: Workspace, *, poll: float = 0.5, require_auth: bool = False) -> None:
        self.ws = ws
        self.poll = poll
        self.require_auth = require_auth
        self.routes: dict[tuple[str, str], Route] = {}
        self.models: dict[tuple[str, int], LoadedModel] = {}
        self.tokens: dict[str, TokenInfo] = {}
        self.db_ok = False
        self.db_error: str | None = None  # why the metadata database did not answer
        self.loaded = False
        self.failures: dict[tuple[str, str], str] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.on_change: list[Any] = []
        self._last: tuple[Any, ...] | None = None

    @property
    def auth_on(self) -> bool:
        """Whether requests need a token: always beyond loopback (``require_auth``), and on
        loopback while any token is active. Revoking every token never opens a server
        bound beyond loopback: with no active token, every request there is 401."""
        return self.require_auth or bool(self.tokens)

    def start(self) -> None:
        self.refresh()
        self._thread = threading.Thread(target=self._run, name="deployment-watcher", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def _run(self) -> None:
        while not self._stop.wait(self.poll):
            self.refresh()

    def _fingerprint(self) -> tuple[Any, ...]:
        """Cheap: deployment revisions and token counts, to skip unchanged polls."""
        with self.ws.db.session(readonly=True) as session:
            deps = session.execute(
                select(DeploymentRow.id, DeploymentRow.revision).order_by(DeploymentRow.id)
            ).all()
            tokens = session.execute(
                select(
                    func.count(TokenRow.id), func.max(TokenRow.id), func.count(TokenRow.revoked_at)
                )
            ).one()
        return (tuple(map(tuple, deps)), tuple(tokens))

    def refresh(self) -> None:
        try:
            fingerprint = self._fingerprint()
            if fingerprint == self._last and self.db_ok and not self.failures:
                return
            deployments = self.ws.deployments.list()
            tokens = active_tokens(self.ws.db)
        except Exception as exc:  # noqa: BLE001 - the watcher must survive anything
            self._unreachable(exc)
            return
        if self.db_error is not None:
            log.info("metadata database reachable again")
        self.db_error = None
        self.db_ok = True
        self.tokens = tokens
        routes: dict[tuple[str, str], Route] = {}
        failed: dict[tuple[str, str], str] = {}
        for dep in deployments:
            key = (dep.model, dep.environment)
            old = self.routes.get(key)
            if old is not None and old.revision == dep.revision:
                routes[key] = old
                continue
            models = {}
            try:
                for version, _ in dep.weights():
                    models[version] = self._model(dep.model, version)
            except Exception as exc:  # noqa: BLE001 - keep serving the old split
                message = getattr(exc, "message", None) or repr(exc)
                failed[key] = message
                log.error(
                    "cannot load %s for %s; keeping revision %s: %s",
                    dep.model,
                    dep.environment,
                    old.revision if old else None,
                    message,
                )
                if old is not None:
                    routes[key] = old
                continue
            routes[key] = Route(
                dep.model, dep.environment, dep.revision, tuple(dep.weights()), models
            )
            log.info(
                "deployment changed",
                extra={
                    "model": dep.model,
                    "environment": dep.environment,
                    "revision": dep.revision,
                    "targets": [list(t) for t in dep.weights()],
                },
            )
        self.routes = routes  # one assignment: in-flight requests keep the old table
        self.failures = failed  # retried on the next poll
        self._last = fingerprint
        used = {(r.model, v) for r in routes.values() for v in r.models}
        for loaded in list(self.models):
            if loaded not in used:
                del self.models[loaded]
        self.loaded = True
        for callback in self.on_change:
            callback(routes)

    def _unreachable(self, exc: Exception) -> None:
        """Not ready until the database answers: said once (with the URL's password masked),
        not at every poll."""
        message = _masked(getattr(exc, "message", None) or repr(exc), self.ws.db_url)
        if self.db_error is None:
            then = "serving the last known deployments" if self.loaded else "not ready"
            log.error(
                "metadata database unreachable; %s until it answers: %s",
                then,
                message,
                exc_info=not isinstance(exc, ModelwardError),  # a bug: show where
            )
        self.db_error = f"metadata database unreachable: {message}"
        self.db_ok = False

    def _model(self, name: str, version: int) -> LoadedModel:
        key = (name, version)
        found = self.models.get(key)
        if found is None:
            started = time.perf_counter()
            found = load_model(self.ws, name, version)
            log.info(
                "model ready",
                extra={
                    "model": name,
                    "version": version,
                    "path": found.path,
                    "seconds": round(time.perf_counter() - started, 3),
                },
            )
            self.models[key] = found
        return found

    def route(self, name: str, env: str) -> Route:
        found = self.routes.get((name, env))
        if found is None and not self.loaded:
            raise StorageError(
                f"this server has not loaded its deployments yet ({self.db_error or 'starting'}); "
                "retry shortly"
            )
        if found is None:
            raise NotFound(
                f"model {name!r} is not deployed to {env}; deploy it with "
                f"`modelward deploy {name} --version N --env {env}`, or send the "
                "X-Modelward-Environment header for another environment",
                field="name",
            )
        return found


def _masked(text: str, url: str) -> str:
    """``text`` without the database password (whatever quoted the URL)."""
    try:
        password = make_url(url).password
    except Exception:  # noqa: BLE001 - an unparsable URL has no password we can find
        return text
    return text.replace(str(password), "***") if password else text
