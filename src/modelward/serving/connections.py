"""Bounded connections for uvicorn (``serving.header_timeout_s``, ``max_connections``).

uvicorn closes a keep-alive connection that stays idle after a response
(``timeout_keep_alive``), but nothing else: a connection that never sends a request, or
sends its headers one byte a second (slow loris), is held forever. Its
``limit_concurrency`` answers a plain-text 503 counting tasks as well as connections.
The protocols here add, for httptools and h11 alike:

- **a header timeout**: the headers of a request must be complete within
  ``header_timeout_s`` of the connection opening (or of the request's first byte on a
  kept-alive connection); else a partial request is answered 408 and the connection
  closed, and a connection that sent nothing is closed;
- **a header size limit**: more than ``MAX_HEADER_BYTES`` of unfinished headers is a 431;
- **a connection limit**: beyond ``max_connections`` open connections per process, a new
  connection's requests are answered 503 (``Retry-After: 1``, ``Connection: close``)
  in the edge's one JSON error shape (:mod:`modelward.http.failure`).

:class:`OneWriteHttpTools` (the standalone gateway's protocol) sends an answer of known
length in ONE write, head and body together (:class:`_OneWrite`): uvicorn writes them
apart, two syscalls and two TCP segments, and a client woken by the head waits on for
the body (with the client's and the gateway's CPUs busy or idle in between, 0.2-1.5 ms a
call on the gateway's path). ``modelward serve``'s :class:`BoundedHttpTools` does the
same, for another reason: a replica killed (SIGKILL, OOM) between the two writes left
the load balancer a head it had already passed on to the client and no body, so the
client's request failed (nginx cannot ask another replica once it has answered). With
one write, a replica killed before that write has sent nothing, and nginx sends the request to
the next replica (``proxy_next_upstream error``).

The limits ride on :class:`ServerConfig`, which uvicorn hands to every protocol it
makes (and pickles to each ``--workers`` process).
"""

from __future__ import annotations

import asyncio
import socket
from dataclasses import dataclass
from typing import Any

import uvicorn
from uvicorn.protocols.http.h11_impl import H11Protocol
from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from modelward.http.failure import error_body

__all__ = ["MAX_HEADER_BYTES", "Limits", "OneWriteHttpTools", "ServerConfig", "protocol"]

MAX_HEADER_BYTES = 64 * 1024


@dataclass(frozen=True)
class Limits:
    header_timeout_s: float = 10.0
    max_connections: int = 1000


class ServerConfig(uvicorn.Config):
    """uvicorn's config with the connection limits the protocols read."""

    def __init__(self, app: Any, *, limits: Limits, **kwargs: Any) -> None:
        super().__init__(app, **kwargs)
        self.limits = limits


class ListeningServer(uvicorn.Server):
    """uvicorn's server, telling ``on_listening`` once its socket takes connections.

    The socket it is given is bound but not listening: asyncio listens on it when the
    server starts serving, after the app's startup (the models loaded, the log replayed).
    Until then a connection is refused, so a load balancer tries another replica at once
    instead of queueing a request behind a replica that is still starting (for as long as
    its startup takes, past a client's timeout on a busy host)."""

    def __init__(self, config: uvicorn.Config, on_listening: Any = None) -> None:
        super().__init__(config)
        self.on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started and self.on_listening is not None:
            self.on_listening()


def protocol(httptools: bool) -> str:
    """The import path of the bounded protocol for uvicorn's ``http`` option."""
    return f"{__name__}:{'BoundedHttpTools' if httptools else 'BoundedH11'}"


def _error(status: str, code: str, message: str, extra: bytes = b"") -> bytes:
    body = error_body(code, message)
    head = (
        f"HTTP/1.1 {status}\r\ncontent-type: application/json\r\n"
        f"content-length: {len(body)}\r\nconnection: close\r\n"
    ).encode()
    return head + extra + b"\r\n" + body


_TIMEOUT = _error(
    "408 Request Timeout",
    "request_timeout",
    "the request headers did not arrive in time (serving.header_timeout_s); send them at once",
)
_TOO_LARGE = _error(
    "431 Request Header Fields Too Large",
    "headers_too_large",
    f"the request headers are over {MAX_HEADER_BYTES // 1024} KiB; send fewer or shorter ones",
)


async def _busy(scope: dict[str, Any], receive: Any, send: Any) -> None:
    body = error_body(
        "busy",
        "the server has as many connections open as it takes (serving.max_connections); "
        "retry in a second",
    )
    headers = [
        (b"content-type", b"application/json"),
        (b"content-length", str(len(body)).encode()),
        (b"retry-after", b"1"),
        (b"connection", b"close"),
    ]
    await send({"type": "http.response.start", "status": 503, "headers": headers})
    await send({"type": "http.response.body", "body": body})


class _Bounded(asyncio.Protocol):
    """The bounds, mixed into uvicorn's protocols (which set the attributes below)."""

    config: Any
    app: Any
    cycle: Any
    connections: Any
    transport: Any
    loop: Any
    _timer: asyncio.TimerHandle | None = None
    _header_bytes = 0

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        limits: Limits = getattr(self.config, "limits", Limits())
        if len(self.connections) > limits.max_connections:
            self.app = _busy  # this connection's requests only
        self._arm()

    def data_received(self, data: bytes) -> None:
        before = self.cycle
        if self._timer is None and _idle(before):
            self._arm()  # the first byte of a request on a kept-alive connection
        super().data_received(data)
        if self.cycle is not before:
            self._disarm()  # the headers are complete: the app has the request
        elif self._timer is not None:
            self._header_bytes += len(data)
            if self._header_bytes > MAX_HEADER_BYTES:
                self._hang_up(_TOO_LARGE)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def _arm(self) -> None:
        limits: Limits = getattr(self.config, "limits", Limits())
        self._header_bytes = 0
        self._timer = self.loop.call_later(limits.header_timeout_s, self._expired)

    def _disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None

    def _expired(self) -> None:
        self._timer = None
        self._hang_up(_TIMEOUT if self._header_bytes else b"")

    def _hang_up(self, answer: bytes) -> None:
        self._disarm()
        if not self.transport.is_closing():
            if answer:
                self.transport.write(answer)
            self.transport.close()


def _idle(cycle: Any) -> bool:
    """No request on the connection is being received or answered."""
    return cycle is None or (cycle.response_complete and not cycle.more_body)


class _OneWrite:
    """A connection's transport that holds a response's head until its body is written,
    then writes both at once. Only a head whose body follows is held: a known, non-zero
    length (not chunked, not a HEAD), so a stream's head still leaves at once. Should the
    body not come in the same turn of the event loop, the head is written then; closing
    the connection writes it first."""

    __slots__ = ("_held", "_protocol", "_seen", "_transport")

    def __init__(self, transport: asyncio.Transport, protocol: HttpToolsProtocol) -> None:
        self._transport = transport
        self._protocol = protocol
        self._seen: Any = None  # the last request cycle whose head went through here
        self._held: bytes | None = None

    def write(self, data: bytes) -> None:
        held = self._held
        if held is not None:
            self._held = None
            self._transport.write(held + data)
            return
        cycle = self._protocol.cycle
        if cycle is not None and cycle is not self._seen and cycle.response_started:
            self._seen = cycle  # this is its head
            if (
                cycle.chunked_encoding is False
                and cycle.expected_content_length > 0
                and cycle.scope["method"] != "HEAD"
            ):
                self._held = data
                self._protocol.loop.call_soon(self._flush)
                return
        self._transport.write(data)

    def _flush(self) -> None:
        held, self._held = self._held, None
        if held is not None and not self._transport.is_closing():
            self._transport.write(held)

    def close(self) -> None:
        self._flush()
        self._transport.close()

    def abort(self) -> None:
        self._held = None
        self._transport.abort()

    def is_closing(self) -> bool:
        return self._transport.is_closing()

    def __getattr__(self, name: str) -> Any:  # the rest of the transport's interface
        return getattr(self._transport, name)


class BoundedHttpTools(_Bounded, HttpToolsProtocol):
    """``modelward serve``'s protocol: the bounds, and an answer of known length in one
    write (a replica killed between uvicorn's two writes left the load balancer a head
    it had passed on and no body: the client's request failed, with no other replica
    asked)."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(_OneWrite(transport, self))


class OneWriteHttpTools(HttpToolsProtocol):
    """uvicorn's httptools protocol, an answer of known length in one write (the
    standalone gateway's: ``modelward llm gateway``)."""

    def connection_made(self, transport: Any) -> None:
        super().connection_made(_OneWrite(transport, self))  # type: ignore[arg-type]


class BoundedH11(_Bounded, H11Protocol):
    pass
