"""A lean HTTP/1.1 keep-alive transport for httpx, for the gateway's hot path.

httpcore's connection pool scans every connection for every queued request (quadratic
under load: profiled at ~2,800 ``is_idle`` calls per request with 32 requests in flight),
which made the gateway 4x slower than the provider behind it. This transport keeps a plain
LIFO list of idle connections per origin and speaks HTTP/1.1 itself: a request's head is
written in one piece (its header names and values checked as h11 checks them) and the
answer read with httptools (llhttp, the C parser uvicorn uses; h11's pure-Python state
machine cost ~0.1 ms a call, a tenth of the gateway's time on a request), so providers keep
the httpx API (``client.send``, streaming, timeouts) and a test can still swap in
``httpx.MockTransport``. Errors are raised as httpx's own exceptions.

Keep-alive connections go stale: a server closes one idle longer than its keep-alive
timeout (uvicorn 5 s, nginx 75 s), possibly just as a request is sent on it. So an idle
connection is closed, not reused, after ``keepalive_expiry`` seconds (default 4 s, below
uvicorn's 5), or when the server has already closed it; and a request that fails on a
reused connection before any byte of an answer (reset, closed) is sent once more on a
FRESH connection, never on another pooled one that may be just as stale. An answer cut
off after its first byte is never sent again (RFC 9110 §9.2.2: retried only when the
request cannot have been applied, i.e. the keep-alive race).

Proxies come from the environment as httpx and curl read them (:mod:`.proxy`): an ``http``
URL is sent to its proxy in absolute form, an ``https`` one through a CONNECT tunnel with
TLS to the provider inside it. Only ``http://`` proxies are spoken to.

An answer is read up to ``max_response_bytes`` (head and body, default 16 MiB), never
further: past it, :class:`ResponseTooLarge` and the connection is closed.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import ssl
import time
from collections.abc import AsyncIterator
from typing import Any

import httptools
import httpx

from modelward.llm.providers.proxy import Proxy, ProxyRules

__all__ = ["MAX_RESPONSE_BYTES", "Fetched", "LeanTransport", "ResponseTooLarge"]

Origin = tuple[str, str, int]
CHUNK = 65536
_CREDENTIALS = "; it wants credentials: put user:password@ in the proxy URL"
KEEPALIVE_EXPIRY = 4.0  # s; below uvicorn's default keep-alive timeout (5 s)
CLOSE_WAIT = 1.0  # s for a TLS connection's close_notify exchange at aclose, then cut
MAX_HEAD = 64 * 1024  # bytes of an answer's status line and headers (h11's limit is 16 KiB)
MAX_RESPONSE_BYTES = 16 * 1024 * 1024  # of an answer, head and body
# h11's grammar (RFC 9110): a token; a value without line breaks or outer blanks; a target
_NAME = re.compile(rb"[-!#$%&'*+.^_`|~0-9a-zA-Z]+")
_VALUE = re.compile(rb"(?:[^\x00\s]+(?:[ \t]+[^\x00\s]+)*)?")
_TARGET = re.compile(rb"[\x21-\x7e]+")
_NO_BODY = (b"HEAD", b"CONNECT")  # their answers end with the head


def _head(method: bytes, target: bytes, headers: Any) -> bytes:
    """A request's line and headers, checked: a header that could split the request (a
    line break in an API key) is refused, never sent."""
    if not _TARGET.fullmatch(target) or not _NAME.fullmatch(method):
        raise httpx.LocalProtocolError(f"illegal request line {method!r} {target!r}")
    parts = [method, b" ", target, b" HTTP/1.1\r\n"]
    for name, value in headers:
        if not _NAME.fullmatch(name) or not _VALUE.fullmatch(value):
            raise httpx.LocalProtocolError(f"illegal header {bytes(name)!r}")
        parts += (name, b": ", value, b"\r\n")
    parts.append(b"\r\n")
    return b"".join(parts)


class _Answer:
    """What the parser has read of one answer (httptools calls these as it parses)."""

    __slots__ = ("body", "complete", "head_done", "headers", "more")

    def __init__(self) -> None:
        self.headers: list[tuple[bytes, bytes]] = []
        self.body: list[bytes] = []
        self.head_done = False
        self.complete = False
        self.more = False  # bytes after its end: the connection is not reused

    def on_message_begin(self) -> None:
        self.more = self.complete

    def on_header(self, name: bytes, value: bytes) -> None:
        if not self.complete:
            self.headers.append((name, value))

    def on_headers_complete(self) -> None:
        self.head_done = True

    def on_body(self, body: bytes) -> None:
        if not self.complete:
            self.body.append(body)

    def on_message_complete(self) -> None:
        self.complete = True


class Fetched:
    """A whole answer (:meth:`LeanTransport.fetch`) with what a provider reads of an
    ``httpx.Response``: building one costs a fifth of a call's client-side time."""

    __slots__ = ("content", "raw_headers", "status_code")

    def __init__(self, status_code: int, raw_headers: list[tuple[bytes, bytes]], content: bytes):
        self.status_code = status_code
        self.raw_headers = raw_headers
        self.content = content

    @property
    def headers(self) -> httpx.Headers:
        return httpx.Headers(self.raw_headers)

    async def aread(self) -> bytes:
        return self.content

    async def aclose(self) -> None:
        """Nothing to release: the connection went back to the pool when it was read."""


class ResponseTooLarge(httpx.RemoteProtocolError):
    """An answer longer than the transport reads (``limit`` bytes): none is read further."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"an answer over {limit} bytes")
        self.limit = limit


class _Stale(Exception):
    """A reused connection failed before any byte of an answer: send again on a fresh one."""


class _Connection:
    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limit: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.limit = limit  # bytes of an answer read at most
        self.idle_since = 0.0  # monotonic time it went back to the pool
        self.answered = False  # a byte of the current answer has arrived
        self.answer = _Answer()
        self.parser = httptools.HttpResponseParser(self.answer)
        self.no_body = False  # the answer to a HEAD or CONNECT: it ends with its head
        self.keep_alive = False  # the server keeps the connection after the answer
        self.until_close = False  # no length, not chunked: the body ends when the server closes
        self.received = 0

    def close(self) -> None:
        """Discard the connection: its socket is released at the event loop's next turn.
        (A graceful close of a TLS connection would wait for the server's close_notify,
        and an event loop ending meanwhile would leave the socket to the collector.)"""
        self.writer.transport.abort()

    async def aclose(self) -> None:
        """Close gracefully (a TLS close_notify) and wait until the socket is released."""
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), CLOSE_WAIT)
        except TimeoutError:
            self.writer.transport.abort()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()
        except OSError:
            pass

    def usable(self, now: float, expiry: float) -> bool:
        """Not idle too long, and not closed (or half-closed) by the server meanwhile."""
        return (
            now - self.idle_since < expiry
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def reusable(self) -> bool:
        """The whole answer read, nothing after it, and the server keeps the connection."""
        answer = self.answer
        return answer.complete and self.keep_alive and not answer.more and not self.until_close

    def send(self, method: bytes, target: bytes, headers: Any, body: bytes) -> None:
        """Write a request (in one piece, head and body) and expect its answer."""
        data = _head(method, target, headers) + body
        self.answer = _Answer()
        self.parser = httptools.HttpResponseParser(self.answer)
        self.no_body = method in _NO_BODY
        self.keep_alive = False
        self.until_close = False
        self.answered = False
        self.received = 0
        self.writer.write(data)

    async def _feed(self, timeout: float | None) -> bool:
        """Read what has arrived into the parser; False when the server has closed."""
        try:  # asyncio.timeout, not wait_for: no task a read (~30 us a call)
            async with asyncio.timeout(timeout):
                data = await self.reader.read(CHUNK)
        except TimeoutError as exc:
            raise httpx.ReadTimeout("timed out reading the response") from exc
        except OSError as exc:
            raise httpx.ReadError(str(exc)) from exc
        if not data:
            return False
        self.answered = True
        self.received += len(data)
        if self.received > self.limit:
            raise ResponseTooLarge(self.limit)
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as exc:
            if not self.no_body:  # a 101 to a request that asked for no upgrade
                raise httpx.RemoteProtocolError("the server switched protocols") from exc
        except httptools.HttpParserError as exc:
            if not self.answer.complete:
                raise httpx.RemoteProtocolError(f"a malformed answer ({exc})") from exc
            self.answer.more = True  # whatever follows the answer: not reused
        return True

    async def head(self, timeout: float | None) -> int:
        """Read the answer's status line and headers; its status. :class:`_Stale` when the
        server closed before any byte of it."""
        answer = self.answer
        while not answer.head_done:
            if not await self._feed(timeout):
                if not self.answered:
                    raise _Stale("the connection closed before a response")
                raise httpx.ReadError("the server closed the connection mid-head")
            if not answer.head_done and self.received > MAX_HEAD:
                raise httpx.RemoteProtocolError(f"an answer's head over {MAX_HEAD} bytes")
        status = self.parser.get_status_code()
        # HTTP/1.1 keeps the connection unless told to close it, 1.0 only when told to keep
        # it (the parser's own verdict is forgotten once it has read the whole answer)
        told = {
            token.strip()
            for name, value in answer.headers
            if name.lower() == b"connection"
            for token in value.lower().split(b",")
        }
        version = self.parser.get_http_version()
        self.keep_alive = b"close" not in told and (version == "1.1" or b"keep-alive" in told)
        if self.no_body:
            answer.complete = True
        elif not answer.complete:
            names = {name.lower() for name, _ in answer.headers}
            self.until_close = b"content-length" not in names and b"transfer-encoding" not in names
        return int(status)

    async def pieces(self, timeout: float | None) -> AsyncIterator[bytes]:
        """The answer's body as it arrives."""
        answer = self.answer
        while True:
            if answer.body:
                arrived, answer.body = answer.body, []
                for piece in arrived:
                    yield piece
            if answer.complete or not await self._more(timeout):
                return

    async def body(self, timeout: float | None) -> bytes:
        """The answer's whole body."""
        answer = self.answer
        while not answer.complete and await self._more(timeout):
            pass
        return b"".join(answer.body)

    async def _more(self, timeout: float | None) -> bool:
        """Read on in the body; False when it ended with the connection (no length)."""
        if await self._feed(timeout):
            return True
        if self.until_close:
            self.answer.complete = True
            return False
        raise httpx.RemoteProtocolError("the server closed the connection mid-body")


class _Body(httpx.AsyncByteStream):
    def __init__(
        self, transport: LeanTransport, origin: Origin, conn: _Connection, timeout: float | None
    ) -> None:
        self._transport = transport
        self._origin = origin
        self._conn: _Connection | None = conn
        self._timeout = timeout

    async def __aiter__(self) -> AsyncIterator[bytes]:
        conn = self._conn
        if conn is None:
            return
        try:
            async for piece in conn.pieces(self._timeout):
                yield piece
        except BaseException:
            await self.aclose()
            raise
        self._conn = None
        self._transport._finish(self._origin, conn)

    async def aclose(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


class LeanTransport(httpx.AsyncBaseTransport):
    def __init__(
        self,
        *,
        max_idle: int = 64,
        keepalive_expiry: float = KEEPALIVE_EXPIRY,
        proxies: ProxyRules | None = None,
        max_response_bytes: int = MAX_RESPONSE_BYTES,
    ) -> None:
        self.max_idle = max_idle
        self.keepalive_expiry = keepalive_expiry
        self.max_response_bytes = max_response_bytes
        self._idle: dict[Origin, list[_Connection]] = {}
        self._ssl: ssl.SSLContext | None = None
        self._proxies = ProxyRules.from_environment(os.environ) if proxies is None else proxies
        self._routes: dict[Origin, Proxy | None] = {}

    def _proxy(self, origin: Origin) -> Proxy | None:
        if origin not in self._routes:
            self._routes[origin] = self._proxies.for_origin(*origin)
        return self._routes[origin]

    def _context(self) -> ssl.SSLContext:
        if self._ssl is None:
            self._ssl = ssl.create_default_context()
        return self._ssl

    def _finish(self, origin: Origin, conn: _Connection) -> None:
        """An answer read to its end: its connection back to the pool, or closed."""
        if conn.reusable():
            self._release(origin, conn)
        else:
            conn.close()

    def _release(self, origin: Origin, conn: _Connection) -> None:
        now = time.monotonic()
        idle = self._idle.setdefault(origin, [])
        while idle and now - idle[0].idle_since >= self.keepalive_expiry:
            idle.pop(0).close()  # the oldest, at the bottom of the LIFO, expired
        if len(idle) < self.max_idle:
            conn.idle_since = now
            idle.append(conn)
        else:
            conn.close()

    def _pooled(self, origin: Origin) -> _Connection | None:
        """The most recently used idle connection still usable (the others are closed)."""
        idle = self._idle.get(origin)
        if not idle:
            return None
        now = time.monotonic()
        while idle:
            conn = idle.pop()
            if conn.usable(now, self.keepalive_expiry):
                return conn
            conn.close()
        return None

    async def _connect(self, origin: Origin, timeout: float | None) -> _Connection:
        scheme, host, port = origin
        proxy = self._proxy(origin)
        if proxy is None:
            return await self._open(
                host, port, self._context() if scheme == "https" else None, timeout
            )
        if proxy.url.scheme != "http":
            raise httpx.ProxyError(
                f"proxy {proxy.shown()}: not an http:// proxy, the only kind spoken to (https "
                "providers stay encrypted in its CONNECT tunnel)"
            )
        try:
            conn = await self._open(*proxy.address, None, timeout)
        except httpx.TransportError as exc:
            raise httpx.ProxyError(f"proxy {proxy.shown()}: {exc}") from exc
        return await self._tunnel(conn, proxy, host, port, timeout) if scheme == "https" else conn

    async def _open(
        self, host: str, port: int, context: ssl.SSLContext | None, timeout: float | None
    ) -> _Connection:
        try:
            reader, writer = await asyncio.wait_for(
                asyncio.open_connection(host, port, ssl=context, limit=CHUNK * 4), timeout
            )
        except TimeoutError as exc:
            raise httpx.ConnectTimeout(f"timed out connecting to {host}:{port}") from exc
        except OSError as exc:
            raise httpx.ConnectError(f"cannot connect to {host}:{port}: {exc}") from exc
        return _Connection(reader, writer, self.max_response_bytes)

    async def _tunnel(
        self, conn: _Connection, proxy: Proxy, host: str, port: int, timeout: float | None
    ) -> _Connection:
        """CONNECT through the proxy, then TLS with the provider inside the tunnel."""
        authority = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        headers = [(b"Host", authority.encode()), *proxy.authorization()]
        try:
            conn.send(b"CONNECT", authority.encode(), headers, b"")
            await conn.writer.drain()
            status = await conn.head(timeout)
        except _Stale:  # closed without a word
            conn.close()
            status = 0
        except (httpx.TransportError, OSError) as exc:
            conn.close()
            raise httpx.ProxyError(
                f"proxy {proxy.shown()}: the CONNECT to {authority} broke off ({exc})"
            ) from exc
        if not 200 <= status < 300:
            conn.close()
            answer = f"HTTP {status}" if status else "no answer"
            raise httpx.ProxyError(
                f"proxy {proxy.shown()}: the CONNECT to {authority} was refused ({answer})"
                + (_CREDENTIALS if answer == "HTTP 407" else "")
            )
        try:
            await asyncio.wait_for(
                conn.writer.start_tls(self._context(), server_hostname=host), timeout
            )
        except TimeoutError as exc:
            conn.close()
            raise httpx.ConnectTimeout(f"timed out in TLS with {authority}") from exc
        except OSError as exc:
            conn.close()
            raise httpx.ConnectError(f"TLS with {authority} failed: {exc}") from exc
        return _Connection(conn.reader, conn.writer, self.max_response_bytes)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        timeouts = request.extensions.get("timeout", {})
        body = await request.aread()  # httpx has set Host, and the length unless streamed
        headers = [
            (k, v)
            for k, v in request.headers.raw
            if k.lower() not in (b"content-length", b"transfer-encoding")
        ]
        if body or "content-length" in request.headers or "transfer-encoding" in request.headers:
            headers.append((b"Content-Length", b"%d" % len(body)))  # read whole: its length
        origin, conn, status = await self._roundtrip(
            request.method.encode(), request.url, headers, body, timeouts
        )
        return httpx.Response(
            status,
            headers=conn.answer.headers,
            stream=_Body(self, origin, conn, timeouts.get("read")),
            extensions={"http_version": b"HTTP/1.1"},
        )

    async def fetch(
        self,
        method: bytes,
        url: httpx.URL,
        headers: list[tuple[bytes, bytes]],
        body: bytes,
        timeouts: dict[str, float | None],
    ) -> Fetched:
        """A whole answer, read at once: :meth:`handle_async_request` without building an
        ``httpx.Request``, reading through httpx's stream layers or building an
        ``httpx.Response`` (~0.1 ms a call on the gateway's path). ``headers`` hold Host
        (and Content-Length with a body)."""
        origin, conn, status = await self._roundtrip(method, url, headers, body, timeouts)
        try:
            content = await conn.body(timeouts.get("read"))
        except BaseException:
            conn.close()
            raise
        self._finish(origin, conn)
        return Fetched(status, conn.answer.headers, content)

    async def _roundtrip(
        self,
        method: bytes,
        url: httpx.URL,
        headers: Any,
        body: bytes,
        timeouts: dict[str, float | None],
    ) -> tuple[Origin, _Connection, int]:
        """Send the request; the connection and the answer's head, its body unread."""
        origin = (url.scheme, url.host, url.port or (443 if url.scheme == "https" else 80))
        read_timeout = timeouts.get("read")
        target = url.raw_path
        proxy = self._proxy(origin) if url.scheme == "http" else None  # https: tunnelled
        if proxy is not None:  # a forward proxy takes the whole URL
            target = b"%b://%b%b" % (url.raw_scheme, url.netloc, url.raw_path)
            headers = [*headers, *proxy.authorization()]
        conn = self._pooled(origin)
        try:
            if conn is not None:
                try:
                    status = await self._exchange(conn, method, target, headers, body, read_timeout)
                except _Stale:  # the keep-alive race: once more, on a connection of its own
                    conn = None
            if conn is None:
                conn = await self._connect(origin, timeouts.get("connect"))
                status = await self._exchange(conn, method, target, headers, body, read_timeout)
        except _Stale as exc:
            raise httpx.ReadError(str(exc)) from exc
        if proxy is not None and status == 407:
            conn.close()
            raise httpx.ProxyError(f"proxy {proxy.shown()}: HTTP 407{_CREDENTIALS}")
        return origin, conn, status

    @staticmethod
    async def _exchange(
        conn: _Connection,
        method: bytes,
        target: bytes,
        headers: Any,
        body: bytes,
        read_timeout: float | None,
    ) -> int:
        """Send the request, read the answer's head: its status. :class:`_Stale` when the
        connection broke before any byte of an answer (the caller decides whether that may
        be retried)."""
        try:
            conn.send(method, target, headers, body)
            await conn.writer.drain()
            status = await conn.head(read_timeout)
        except (_Stale, ResponseTooLarge):
            conn.close()
            raise
        except (httpx.ReadError, httpx.RemoteProtocolError, OSError) as exc:
            conn.close()
            if not conn.answered:
                raise _Stale(str(exc)) from exc
            raise httpx.ReadError(str(exc)) from exc
        except BaseException:
            conn.close()
            raise
        if status < 200:  # an interim answer (100 Continue) to a request that asked none
            conn.close()
            raise httpx.RemoteProtocolError(f"expected a response, got an interim {status}")
        return status

    async def aclose(self) -> None:
        idle = [conn for pooled in self._idle.values() for conn in pooled]
        self._idle.clear()
        await asyncio.gather(*(conn.aclose() for conn in idle))
