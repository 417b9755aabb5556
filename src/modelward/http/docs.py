"""The docs route group: ``GET /openapi.json`` and ``GET /docs`` (Swagger UI).

The page and everything it loads come from this process: Swagger UI's bundle and CSS are
shipped in the package (``static/``, with their LICENSE and a NOTICE of the version), so
``/docs`` works without internet. The page references only relative URLs of its own and
allows nothing else (``Content-Security-Policy``); it has no inline script.
"""

from __future__ import annotations

import html
from collections.abc import Sequence
from typing import TYPE_CHECKING

import orjson

from modelward.http.app import Group
from modelward.http.openapi import document
from modelward.http.response import Response, html_response
from modelward.http.router import Route
from modelward.http.static import StaticFiles

if TYPE_CHECKING:
    from modelward.http.app import App
    from modelward.http.request import Request

__all__ = ["Docs"]

#: What the page may load: its own files, the document, Swagger UI's inline styles and
#: data: images (its icons).
CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    b"img-src 'self' data:; connect-src 'self'; frame-ancestors 'none'; base-uri 'none'"
)
FILES = ("swagger-ui-bundle.js", "swagger-ui.css", "docs.js", "favicon-32x32.png")

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{title}</title>
<link rel="icon" type="image/png" href="docs/static/favicon-32x32.png">
<link rel="stylesheet" href="docs/static/swagger-ui.css">
</head>
<body data-openapi="openapi.json">
<div id="swagger-ui"></div>
<script src="docs/static/swagger-ui-bundle.js"></script>
<script src="docs/static/docs.js"></script>
</body>
</html>
"""


class Docs(Group):
    """``/openapi.json`` of every route mounted beside it, and the page that shows it."""

    def __init__(self, title: str) -> None:
        self.title = title
        self.files = StaticFiles("modelward.http", "static", FILES)
        self.app: App | None = None
        self._document: bytes | None = None

    def routes(self) -> Sequence[Route]:
        return (
            Route("GET", "/openapi.json", self.openapi),
            Route("GET", "/docs", self.page),
            Route("GET", "/docs/static/{name}", self.static),
        )

    def mounted(self, app: App) -> None:
        self.app = app

    async def openapi(self, request: Request) -> Response:
        if self._document is None:
            routes = self.app.router.routes if self.app is not None else ()
            self._document = orjson.dumps(document(self.title, routes))
        return Response(self._document)

    async def page(self, request: Request) -> Response:
        text = PAGE.format(title=html.escape(self.title))
        return html_response(text, headers=[(b"content-security-policy", CSP)])

    async def static(self, request: Request) -> Response:
        return self.files.response(request, request.params["name"])
