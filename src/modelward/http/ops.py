"""The operations route group: ``GET /healthz``, ``/readyz`` and ``/metrics``.

What each says comes from the process: ``health()`` the liveness body, ``ready()`` (when
the process has a readiness rule) whether it can serve and why; ``/metrics`` is the
Prometheus text of every group mounted beside it (:meth:`Group.metrics`), concatenated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from modelward.http.app import Group
from modelward.http.openapi import error_responses, json_content
from modelward.http.response import Response, json_response
from modelward.http.router import Route

if TYPE_CHECKING:
    from modelward.http.app import App
    from modelward.http.request import Request

__all__ = ["Operations"]

_OK = {"description": "ok", "content": json_content({"type": "object"})}

HEALTH_DOC = {"summary": "Alive", "responses": {"200": _OK}}
READY_DOC = {
    "summary": "Ready to serve (else 503 with the reason)",
    "responses": {"200": _OK, "503": _OK},
}
METRICS_DOC = {
    "summary": "Prometheus metrics",
    "responses": {
        "200": {"description": "text", "content": {"text/plain": {}}},
        **error_responses(401, 403),
    },
}


class Operations(Group):
    """``metrics_scope``: the token scope ``/metrics`` needs (None: open)."""

    def __init__(
        self,
        *,
        health: Callable[[], dict[str, Any]],
        ready: Callable[[], tuple[bool, dict[str, Any]]] | None = None,
        metrics_scope: str | None = None,
    ) -> None:
        self._health = health
        self._ready = ready
        self._renderers: list[Callable[[], tuple[bytes, str]]] = []
        self.metrics_scope = metrics_scope

    def routes(self) -> Sequence[Route]:
        routes = [Route("GET", "/healthz", self.health, doc=HEALTH_DOC)]
        if self._ready is not None:
            routes.append(Route("GET", "/readyz", self.ready, doc=READY_DOC))
        routes.append(
            Route("GET", "/metrics", self.prometheus, scope=self.metrics_scope, doc=METRICS_DOC)
        )
        return routes

    def mounted(self, app: App) -> None:
        self._renderers = [render for group in app.groups for render in group.metrics()]

    async def health(self, request: Request) -> Response:
        return json_response(self._health())

    async def ready(self, request: Request) -> Response:
        assert self._ready is not None
        ok, body = self._ready()
        return json_response(body, 200 if ok else 503)

    async def prometheus(self, request: Request) -> Response:
        parts = [render() for render in self._renderers]
        kind = parts[0][1] if parts else "text/plain; version=0.0.4; charset=utf-8"
        return Response(b"".join(text for text, _ in parts), content_type=kind.encode())
