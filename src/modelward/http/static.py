"""Files shipped inside the package, served by exact name.

A :class:`StaticFiles` serves the files it was given by name (a trust list: nothing else of
the folder, and no path is ever built from the request), read once and kept in memory,
with an ``ETag`` so a browser revalidates instead of downloading again.
"""

from __future__ import annotations

import hashlib
import mimetypes
from collections.abc import Iterable
from importlib import resources

from modelward.errors import NotFound
from modelward.http.request import Request
from modelward.http.response import Response

__all__ = ["StaticFiles"]

_TEXT = ("text/", "application/javascript", "application/json")


class StaticFiles:
    """``names`` from ``folder`` of ``package`` (``modelward.http``, ``static``)."""

    def __init__(self, package: str, folder: str, names: Iterable[str]) -> None:
        self.root = resources.files(package).joinpath(folder)
        self.names = frozenset(names)
        self._loaded: dict[str, tuple[bytes, bytes, bytes]] = {}

    def response(self, request: Request, name: str) -> Response:
        if name not in self.names:
            raise NotFound(f"no file {name[:100]!r} here", field="path")
        body, etag, content_type = self._load(name)
        headers = [(b"etag", etag), (b"cache-control", b"no-cache")]
        if etag in request.headers.get("if-none-match", "").encode("latin-1"):
            return Response(b"", 304, headers, None)
        return Response(body, 200, headers, content_type)

    def _load(self, name: str) -> tuple[bytes, bytes, bytes]:
        found = self._loaded.get(name)
        if found is None:
            body = self.root.joinpath(name).read_bytes()
            etag = b'"' + hashlib.sha256(body).hexdigest()[:32].encode() + b'"'
            kind = mimetypes.guess_type(name)[0] or "application/octet-stream"
            if kind.startswith(_TEXT):
                kind += "; charset=utf-8"
            found = self._loaded[name] = (body, etag, kind.encode())
        return found
