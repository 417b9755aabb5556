"""Responses: bytes with a status and headers (JSON, HTML, text, a redirect, cookies), and
a streaming response for server-sent events.

Headers are ``(name, value)`` byte pairs with lower-case names, as ASGI sends them.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import AsyncIterator, Iterable
from typing import Any

import orjson

__all__ = [
    "Headers",
    "Response",
    "StreamingResponse",
    "html_response",
    "json_response",
    "redirect",
    "text_response",
]

log = logging.getLogger("modelward.http")

Headers = Iterable[tuple[bytes, bytes]]

JSON = b"application/json"
HTML = b"text/html; charset=utf-8"
TEXT = b"text/plain; charset=utf-8"
_NO_BODY = frozenset({204, 304})
_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
_COOKIE_VALUE = re.compile(r"[!#$%&'()*+\-./0-9:<=>?@A-Z\[\]^_`a-z{|}~]*")


class Response:
    __slots__ = ("body", "headers", "status")

    def __init__(
        self,
        body: bytes = b"",
        status: int = 200,
        headers: Headers = (),
        content_type: bytes | None = JSON,
    ) -> None:
        self.body = body
        self.status = status
        self.headers = list(headers)
        if content_type is not None:
            self.headers.append((b"content-type", content_type))

    def set_cookie(
        self,
        name: str,
        value: str,
        *,
        max_age: int | None = None,
        path: str = "/",
        secure: bool = False,
        httponly: bool = True,
        samesite: str = "Strict",
    ) -> None:
        """Add a ``Set-Cookie`` header (HttpOnly and SameSite=Strict unless told)."""
        if not _TOKEN.fullmatch(name) or not _COOKIE_VALUE.fullmatch(value):
            raise ValueError(f"cookie {name!r} has characters a cookie cannot carry")
        if samesite not in ("Strict", "Lax", "None"):
            raise ValueError(f"SameSite must be Strict, Lax or None, not {samesite!r}")
        parts = [f"{name}={value}", f"Path={path}", f"SameSite={samesite}"]
        if max_age is not None:
            parts.append(f"Max-Age={max_age}")
        if secure:
            parts.append("Secure")
        if httponly:
            parts.append("HttpOnly")
        self.headers.append((b"set-cookie", "; ".join(parts).encode("latin-1")))

    def delete_cookie(self, name: str, *, path: str = "/") -> None:
        self.set_cookie(name, "", max_age=0, path=path)

    async def send(self, send: Any, receive: Any) -> None:
        body = self.body
        headers = self.headers
        if self.status not in _NO_BODY:
            headers = [*headers, (b"content-length", str(len(body)).encode())]
        await send({"type": "http.response.start", "status": self.status, "headers": headers})
        await send({"type": "http.response.body", "body": body})


def json_response(data: Any, status: int = 200, headers: Headers = ()) -> Response:
    return Response(orjson.dumps(data), status, headers)


def html_response(text: str, status: int = 200, headers: Headers = ()) -> Response:
    return Response(text.encode(), status, headers, HTML)


def text_response(text: str, status: int = 200, headers: Headers = ()) -> Response:
    return Response(text.encode(), status, headers, TEXT)


def redirect(location: str, status: int = 303) -> Response:
    """See other (303: a form's POST answered with a GET of ``location``)."""
    return Response(b"", status, [(b"location", location.encode("latin-1"))], None)


class StreamingResponse(Response):
    """A body sent as ``chunks`` arrive (server-sent events, NDJSON). When the client goes
    away, the stream is cancelled: whatever feeds it (a provider call) stops too."""

    __slots__ = ("chunks",)

    def __init__(
        self,
        chunks: AsyncIterator[bytes],
        status: int = 200,
        headers: Headers = (),
        content_type: bytes | None = b"text/event-stream",
    ) -> None:
        super().__init__(b"", status, headers, content_type)
        self.chunks = chunks

    async def send(self, send: Any, receive: Any) -> None:
        await send({"type": "http.response.start", "status": self.status, "headers": self.headers})
        streaming = asyncio.ensure_future(self._stream(send))
        gone = asyncio.ensure_future(_disconnected(receive))
        try:
            await asyncio.wait((streaming, gone), return_when=asyncio.FIRST_COMPLETED)
        finally:
            gone.cancel()
            if not streaming.done():  # the client left: stop reading the source
                streaming.cancel()
            await asyncio.gather(streaming, gone, return_exceptions=True)

    async def _stream(self, send: Any) -> None:
        try:
            async for chunk in self.chunks:
                await send({"type": "http.response.body", "body": chunk, "more_body": True})
        except Exception:  # noqa: BLE001 - a bug mid-stream: the status is sent, end it
            log.exception("internal error while streaming a response")
        finally:
            close = getattr(self.chunks, "aclose", None)
            if close is not None:
                await close()
        await send({"type": "http.response.body", "body": b"", "more_body": False})


async def _disconnected(receive: Any) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass
