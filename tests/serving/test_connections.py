"""A real ``modelward serve`` bounds its connections: a slow-loris client, an idle
connection and an idle keep-alive connection are closed by the SERVER, and connections
over ``serving.max_connections`` are answered 503 with Retry-After. The bounds come from
policy.yml's serving section."""

from __future__ import annotations

import asyncio
import socket
import time

import httpx
import pytest

from .conftest import set_policy

pytestmark = pytest.mark.sqlite_only


def _connect(url: str) -> socket.socket:
    host, port = url.removeprefix("http://").rsplit(":", 1)
    return socket.create_connection((host, int(port)), timeout=30)


def _closed_by_server(sock: socket.socket, within: float, *, trickle: bool = False) -> bool:
    """Whether the server closes ``sock`` within ``within`` seconds (reading whatever it
    answers first); with ``trickle``, one more header byte is sent every second."""
    deadline = time.monotonic() + within
    while time.monotonic() < deadline:
        sock.settimeout(1.0)
        try:
            if sock.recv(4096) == b"":
                return True
            continue  # an answer (408) before the close: read on
        except TimeoutError:
            pass
        except (ConnectionResetError, BrokenPipeError):
            return True
        if trickle:
            try:
                sock.sendall(b"a")
            except (ConnectionResetError, BrokenPipeError):
                return True
    return False


def test_a_slow_loris_is_closed_within_the_header_timeout(deployed, start_server):
    set_policy(deployed, "serving", "header_timeout_s", 2)
    server = start_server()
    with _connect(server.url) as sock:
        sock.sendall(b"POST /v1/models/heart/predict HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        # One byte a second, for much longer than the bound: the server must hang up.
        assert _closed_by_server(sock, within=2 + 6, trickle=True)
    with httpx.Client(base_url=server.url) as http:  # and it still serves everyone else
        assert http.get("/healthz").status_code == 200
    assert server.stop() == 0, server.output()


def test_a_connection_that_sends_nothing_is_closed(deployed, start_server):
    set_policy(deployed, "serving", "header_timeout_s", 2)
    server = start_server()
    with _connect(server.url) as sock:
        assert _closed_by_server(sock, within=2 + 6)


def test_an_idle_keep_alive_connection_is_closed_after_the_keep_alive_timeout(
    deployed, start_server
):
    set_policy(deployed, "serving", "keep_alive_s", 1)
    server = start_server()
    with _connect(server.url) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        answer = b""
        while not answer.endswith(b'{"status":"ok"}'):
            answer += sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 200") and b"connection: close" not in answer.lower()
        # uvicorn's own default is 5 s: closing within 1 + 2.5 s shows the policy's bound.
        assert _closed_by_server(sock, within=1 + 2.5)


def test_connections_over_the_limit_get_503_with_retry_after(deployed, start_server):
    set_policy(deployed, "serving", "max_connections", 2)
    server = start_server()
    held = [_connect(server.url) for _ in range(2)]
    try:
        for sock in held:  # both are served: the limit is on open connections
            sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
            assert sock.recv(4096).startswith(b"HTTP/1.1 200")
        with httpx.Client(base_url=server.url) as http:
            busy = http.get("/healthz")
        assert busy.status_code == 503, busy.text
        assert busy.headers["retry-after"] == "1" and busy.headers["connection"] == "close"
        assert busy.json()["error"]["code"] == "busy"
    finally:
        for sock in held:
            sock.close()
    deadline = time.monotonic() + 30  # closing them makes room again
    while time.monotonic() < deadline:
        with httpx.Client(base_url=server.url) as http:
            if http.get("/healthz").status_code == 200:
                break
        time.sleep(0.1)
    else:
        raise AssertionError("the server did not make room after connections closed")
    assert server.stop() == 0, server.output()


async def _hello(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"hello"})


class Bounded(str):
    """The server's URL, knowing which protocol serves it."""

    protocol: str

    def __new__(cls, url: str, protocol: str) -> Bounded:
        made = super().__new__(cls, url)
        made.protocol = protocol
        return made


@pytest.fixture(params=[True, False], ids=["httptools", "h11"])
def bounded(request):
    """uvicorn with our bounded protocol (both parsers), 1 s header timeout, 2 connections."""
    import threading

    import uvicorn

    from modelward.serving.connections import MAX_HEADER_BYTES, Limits, ServerConfig, protocol

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(16)
    config = ServerConfig(
        _hello,
        http=protocol(request.param),
        limits=Limits(header_timeout_s=1, max_connections=2),
        timeout_keep_alive=1,
        h11_max_incomplete_event_size=MAX_HEADER_BYTES,
        lifespan="off",
        log_config=None,
        loop="asyncio",
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    while not server.started:
        assert thread.is_alive()
        time.sleep(0.02)
    yield Bounded(f"http://127.0.0.1:{sock.getsockname()[1]}", config.http)
    server.should_exit = True
    thread.join(timeout=30)


def _answer(sock: socket.socket) -> bytes:
    got = b""
    sock.settimeout(10)
    while chunk := sock.recv(4096):
        got += chunk
    return got


def test_a_partial_request_is_answered_408_then_closed(bounded):
    with _connect(bounded) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n")
        answer = _answer(sock)
    assert answer.startswith(b"HTTP/1.1 408") and b"request_timeout" in answer


def test_the_timeout_applies_again_to_the_next_request_on_a_kept_alive_connection(bounded):
    with _connect(bounded) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
        first = sock.recv(4096)
        sock.sendall(b"GET / HTTP/1.1\r\nHost: x\r\nX-Slow: ")
        assert first.startswith(b"HTTP/1.1 200") and _closed_by_server(sock, 1 + 6, trickle=True)


def test_headers_over_the_size_limit_are_431(bounded):
    from modelward.serving.connections import MAX_HEADER_BYTES

    with _connect(bounded) as sock:
        sent = b"GET / HTTP/1.1\r\nHost: x\r\n"
        sock.sendall(sent)
        filler = b"X-Filler: " + b"a" * 1000 + b"\r\n"
        total = len(sent)
        while total <= MAX_HEADER_BYTES:  # just over the limit, then nothing more
            sock.sendall(filler)
            total += len(filler)
        answer = _answer(sock)
    # h11 refuses oversized headers itself (a 400), httptools through our limit (a 431)
    assert answer.startswith(
        b"HTTP/1.1 431" if bounded.protocol.endswith("HttpTools") else b"HTTP/1.1 400"
    )


def test_a_large_body_is_not_taken_for_headers(bounded):
    body = b"x" * (4 * 64 * 1024)
    with httpx.Client(base_url=bounded) as http:
        assert http.post("/", content=body).text == "hello"


class _Recording(asyncio.Transport):
    """The event loop's side of a connection, keeping what the protocol writes."""

    def __init__(self) -> None:
        super().__init__()
        self.writes: list[bytes] = []
        self.closed = False

    def write(self, data) -> None:
        self.writes.append(bytes(data))

    def is_closing(self) -> bool:
        return self.closed

    def close(self) -> None:
        self.closed = True

    def get_extra_info(self, name, default=None):
        return {"sockname": ("127.0.0.1", 8000), "peername": ("127.0.0.1", 50000)}.get(
            name, default
        )

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass


async def _answered(app, request: bytes, kind: str = "OneWriteHttpTools") -> list[bytes]:
    """What an httptools protocol of modelward.serving.connections (the gateway's, or
    ``modelward serve``'s ``BoundedHttpTools``) writes answering ``request`` with ``app``."""
    import uvicorn
    from uvicorn.server import ServerState

    from modelward.serving import connections

    config = uvicorn.Config(app, lifespan="off", log_config=None)
    config.load()
    protocol = getattr(connections, kind)(config, ServerState(), {})
    transport = _Recording()
    protocol.connection_made(transport)
    protocol.data_received(request)
    for _ in range(100):
        if protocol.cycle is not None and protocol.cycle.response_complete:
            break
        await asyncio.sleep(0.01)
    await asyncio.sleep(0.01)  # a held head would be written by now
    protocol.connection_lost(None)
    return transport.writes


async def _streamed(scope, receive, send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": []})
    await send({"type": "http.response.body", "body": b"one", "more_body": True})
    await send({"type": "http.response.body", "body": b"two"})


async def _sized(scope, receive, send) -> None:
    body = b'{"answer": "hello"}'
    headers = [(b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": 200, "headers": headers})
    await send({"type": "http.response.body", "body": body})


@pytest.mark.parametrize("kind", ["OneWriteHttpTools", "BoundedHttpTools"])
def test_an_answer_of_known_length_leaves_in_one_write_head_and_body(kind):
    """For ``modelward serve`` too: a replica killed between a head and its body left
    nginx a head it had passed on, and the client no answer (tests/scale, scenario 2)."""
    writes = asyncio.run(_answered(_sized, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", kind))
    assert len(writes) == 1
    assert writes[0].startswith(b"HTTP/1.1 200") and writes[0].endswith(b'{"answer": "hello"}')


def test_a_streamed_answer_sends_its_head_at_once_and_a_head_request_gets_only_the_head():
    streamed = asyncio.run(_answered(_streamed, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert streamed[0].startswith(b"HTTP/1.1 200") and streamed[0].endswith(b"\r\n\r\n")
    assert b"".join(streamed[1:]) == b"3\r\none\r\n3\r\ntwo\r\n0\r\n\r\n"
    head = asyncio.run(_answered(_sized, b"HEAD / HTTP/1.1\r\nHost: x\r\n\r\n"))
    assert len(head) == 1 and head[0].endswith(b"\r\n\r\n")
