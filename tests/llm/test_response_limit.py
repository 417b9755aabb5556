"""A provider's answer is read up to ``max_response_mib``, never further: a provider that
sends an endless body (a fake on a real socket) is a 502 naming it and the limit, and the
gateway stops reading (the provider could send no more than the limit and the sockets'
buffers), whether the answer gives a length or ends only when the connection does."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator

import httpx
import pytest

from llm.helpers import Served, read_head
from modelward.llm.routing import save_routes

pytestmark = pytest.mark.sqlite_only

LIMIT_MIB = 1
#: what may be in flight beyond the limit: both sockets' buffers (a few MiB on Linux)
SLACK = 16 * 1024 * 1024
HEADS = {
    "content-length": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Content-Length: 1073741824\r\n\r\n",
    "until-close": b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
    b"Connection: close\r\n\r\n",
}

LLM_YML = f"""
providers:
  flood:
    kind: openai
    base_url: {{url}}/v1
    max_retries: 2
    backoff_s: 0
    max_response_mib: {LIMIT_MIB}
"""


class Flood:
    """An OpenAI-protocol provider whose every answer is a JSON body that never ends (1 GiB
    announced, or no length at all): it writes until the client hangs up."""

    def __init__(self, head: bytes) -> None:
        self.head = head
        self.requests = 0
        self.sent = 0
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self._listener.getsockname()[1]}"
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self._listener.accept()
            except OSError:  # closed: the test is over
                return
            with conn:
                self._answer(conn)

    def _answer(self, conn: socket.socket) -> None:
        if read_head(conn) is None:
            return
        self.requests += 1
        piece = b'{"choices": [' + b" " * 65536
        try:
            conn.sendall(self.head)
            while self.sent < 2**30:  # a client reading it all would get 1 GiB
                conn.sendall(piece)
                self.sent += len(piece)
        except OSError:  # the client hung up
            return

    def close(self) -> None:
        self._listener.close()


@pytest.fixture(params=sorted(HEADS))
def flood(request) -> Iterator[Flood]:
    server = Flood(HEADS[request.param])
    yield server
    server.close()


def test_an_endless_answer_is_a_502_naming_the_provider_and_the_limit(workspace, flood):
    from modelward.llm.gateway import create_gateway_app

    (workspace.root / "llm.yml").write_text(LLM_YML.format(url=flood.url))
    workspace.llm.register("big", provider="flood", model="big")
    save_routes(workspace, {"factual": {"models": ["big"]}}, reason="test")
    served = Served(create_gateway_app(workspace))
    try:
        body = {"model": "route:factual", "messages": [{"role": "user", "content": "Hi"}]}
        answer = httpx.post(served.url + "/v1/chat/completions", json=body, timeout=60)
    finally:
        served.stop()
    assert answer.status_code == 502
    message = answer.json()["error"]["message"]
    assert "'flood'" in message and f"{LIMIT_MIB} MiB" in message and "max_response_mib" in message
    assert "\n" not in message
    assert flood.requests == 1  # not tried again: it would be read again
    assert flood.sent < LIMIT_MIB * 1024 * 1024 + SLACK  # the read stopped at the limit


def test_a_streamed_answer_stops_at_the_limit_too(flood):
    import asyncio

    from modelward.llm.providers.transport import LeanTransport, ResponseTooLarge

    async def main() -> int:
        transport = LeanTransport(max_response_bytes=LIMIT_MIB * 1024 * 1024)
        read = 0
        async with httpx.AsyncClient(transport=transport, timeout=60) as client:
            async with client.stream("POST", flood.url + "/v1/chat/completions", json={}) as r:
                with pytest.raises(ResponseTooLarge):
                    async for piece in r.aiter_raw():
                        read += len(piece)
        return read

    read = asyncio.run(main())
    assert read <= LIMIT_MIB * 1024 * 1024
    assert flood.sent < LIMIT_MIB * 1024 * 1024 + SLACK
