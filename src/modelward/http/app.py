"""The ASGI application every modelward HTTP process runs: route groups on one router.

    app = App([PredictionRoutes(...), GatewayRoutes(...), Operations(...), Docs(...)],
              auth=Auth(source))

A :class:`Group` brings its routes and what they need started and stopped. For a request
the app finds the route (404 / 405 with ``Allow``), checks the caller's token when the
route names a scope, runs the handler and sends its :class:`Response`. Every error on the
way becomes an answer in one place (:mod:`modelward.http.failure`). Lifespan: the groups
start in mount order and stop in reverse; one group failing to stop never keeps the
others from stopping.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from types import SimpleNamespace
from typing import Any

from modelward.errors import ModelwardError
from modelward.http.auth import Auth
from modelward.http.failure import INTERNAL, bug, failure
from modelward.http.request import MAX_BODY, Request
from modelward.http.router import Route, Router

__all__ = ["App", "Group"]

log = logging.getLogger("modelward.http")


class Group:
    """A set of routes mounted on an app (the prediction API, the gateway, the docs).

    ``Group(routes)`` mounts plain routes; a subclass usually builds them from its parts.
    """

    def __init__(self, routes: Sequence[Route] = ()) -> None:
        self._routes = tuple(routes)

    def routes(self) -> Sequence[Route]:
        return self._routes

    def metrics(self) -> Sequence[Callable[[], tuple[bytes, str]]]:
        """Prometheus renderers (text, content type) of what the group counts."""
        return ()

    def mounted(self, app: App) -> None:
        """Called once the app holds every group (the docs read the other routes)."""

    def detail(self) -> dict[str, Any]:
        """What the group adds to the process's ``/readyz`` body: how a part it depends on
        is doing when the process serves on without it (the gateway's Redis)."""
        return {}

    async def startup(self) -> None:
        """Before the first request."""

    async def shutdown(self) -> None:
        """After the last request."""


class App:
    """``groups`` mounted in order; ``auth`` checks the routes that name a scope;
    ``on_error`` is told the code of every error answer (metrics); ``state`` is what the
    process keeps between requests (the server's ``ServingState``; a namespace by
    default, where the standalone gateway puts ``app.state.gateway``)."""

    def __init__(
        self,
        groups: Sequence[Group],
        *,
        auth: Auth | None = None,
        on_error: Callable[[str], None] | None = None,
        max_body: int = MAX_BODY,
        state: Any = None,
    ) -> None:
        self.state = SimpleNamespace() if state is None else state
        self.groups = list(groups)
        self.auth = auth
        self.on_error = on_error
        self.max_body = max_body
        self.router = Router()
        for group in self.groups:
            for route in group.routes():
                if route.scope is not None and auth is None:
                    raise ValueError(f"{route.method} {route.path} needs a scope but no auth")
                self.router.add(route)
        for group in self.groups:
            group.mounted(self)

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self.http(scope, receive, send)
        elif kind == "lifespan":
            await self.lifespan(receive, send)

    async def http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        try:
            route, params = self.router.match(scope["method"], scope["path"])
            request = Request(scope, receive, params, self.max_body)
            if route.scope is not None:
                request.token = self.auth.require(request, route.scope)  # type: ignore[union-attr]
            response = await route.handler(request)
        except ModelwardError as exc:
            if self.on_error is not None:
                self.on_error(exc.code)
            response = failure(exc, scope["path"])
        except Exception:  # noqa: BLE001 - a bug: logged, answered 500 in the one shape
            if self.on_error is not None:
                self.on_error(INTERNAL)
            response = bug(scope["path"])
        await response.send(send, receive)

    # -- lifespan -------------------------------------------------------------------------

    async def lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self.startup()
                except Exception as exc:  # noqa: BLE001 - report and refuse to start
                    text = getattr(exc, "message", None) or repr(exc)
                    log.error("startup failed: %s", text)
                    await send({"type": "lifespan.startup.failed", "message": text})
                    return
                await send({"type": "lifespan.startup.complete"})
                self.ready()
            elif message["type"] == "lifespan.shutdown":
                await self.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def startup(self) -> None:
        for group in self.groups:
            await group.startup()

    def ready(self) -> None:
        """Called once the server takes requests."""

    async def shutdown(self) -> None:
        for group in reversed(self.groups):
            try:
                await group.shutdown()
            except Exception:  # noqa: BLE001 - the other groups still stop
                log.exception("stopping %s failed", type(group).__name__)
