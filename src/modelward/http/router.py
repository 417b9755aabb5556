"""Routes: a method and a path pattern, matched to a handler.

A pattern is a path whose segments may be parameters: ``/v1/models/{name}/predict``
(``{name}``: one segment, never empty, no ``/``) or ``/hf/models/{model:path}`` (the rest
of the path, ``/`` included). Paths without parameters are found with one dict lookup;
patterns are tried in the order they were mounted. Every ``GET`` route answers ``HEAD``
too. A path no route has is a 404; a path whose routes take other methods is a 405 whose
``Allow`` header names them.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.errors import MethodNotAllowed, NotFound

if TYPE_CHECKING:
    from modelward.http.request import Request
    from modelward.http.response import Response

__all__ = ["Handler", "Route", "Router"]

Handler = Callable[["Request"], Awaitable["Response"]]

_PARAM = re.compile(r"\{([A-Za-z_][A-Za-z0-9_]*)(:path)?\}")


@dataclass(frozen=True, slots=True)
class Route:
    """``method path`` answered by ``handler``.

    ``scope``: the token scope a caller needs (checked by the app before the handler runs,
    see :class:`modelward.http.auth.Auth`); ``None`` for an open route. ``doc``: the
    route's OpenAPI operation (summary, request body, responses); ``None`` keeps it out of
    ``/openapi.json`` (the docs page itself, static files).
    """

    method: str
    path: str
    handler: Handler
    scope: str | None = None
    doc: dict[str, Any] | None = None

    @property
    def params(self) -> list[str]:
        return [m.group(1) for m in _PARAM.finditer(self.path)]

    @property
    def template(self) -> str:
        """The path as OpenAPI writes it (``{model}`` for ``{model:path}``)."""
        return _PARAM.sub(lambda m: "{" + m.group(1) + "}", self.path)


class Router:
    def __init__(self, routes: Iterable[Route] = ()) -> None:
        self.routes: list[Route] = []
        self._static: dict[str, dict[str, Route]] = {}
        self._patterns: list[tuple[re.Pattern[str], dict[str, Route]]] = []
        for route in routes:
            self.add(route)

    def add(self, route: Route) -> None:
        if not route.path.startswith("/"):
            raise ValueError(f"route path {route.path!r} must start with /")
        if "{" in route.path:
            regex = _compile(route.path)
            methods = next((m for p, m in self._patterns if p.pattern == regex.pattern), None)
            if methods is None:
                methods = {}
                self._patterns.append((regex, methods))
        else:
            methods = self._static.setdefault(route.path, {})
        if route.method in methods:
            raise ValueError(f"two routes for {route.method} {route.path}")
        methods[route.method] = route
        self.routes.append(route)

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]]:
        """The route for ``method path`` and its path parameters; NotFound or
        MethodNotAllowed (with the methods the path takes) when there is none."""
        methods = self._static.get(path)
        if methods is not None:
            route = methods.get(method)
            if route is not None:
                return route, {}
        params: dict[str, str] = {}
        allowed = methods
        for regex, candidates in self._patterns:
            found = regex.fullmatch(path)
            if found is None:
                continue
            route = candidates.get(method)
            if route is not None:
                return route, found.groupdict()
            allowed = allowed or candidates
            params = found.groupdict()
        if allowed is None:
            raise NotFound(f"no route {path[:200]!r}; see /docs for the API", field="path")
        if method == "HEAD" and "GET" in allowed:
            return allowed["GET"], params
        allow = _allow(allowed)
        raise MethodNotAllowed(
            f"use {', '.join(allow)} for this route, not {method[:20]}", allow=allow
        )


def _compile(path: str) -> re.Pattern[str]:
    pattern, end = "", 0
    for found in _PARAM.finditer(path):
        pattern += re.escape(path[end : found.start()])
        name, rest = found.group(1), found.group(2)
        pattern += f"(?P<{name}>.+)" if rest else f"(?P<{name}>[^/]+)"
        end = found.end()
    return re.compile(pattern + re.escape(path[end:]))


def _allow(methods: dict[str, Route]) -> tuple[str, ...]:
    out: list[str] = []
    for method in methods:
        out.append(method)
        if method == "GET" and "HEAD" not in methods:
            out.append("HEAD")
    return tuple(out)
