"""The lean keep-alive transport: reuse, stale connections, timeouts, errors as httpx's."""

from __future__ import annotations

import asyncio

import httpx
import pytest

from modelward.llm.providers.transport import LeanTransport

RESPONSE = b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 2\r\n\r\nok"


async def _server(handler):
    async def closing(reader, writer):  # a handler's connection is closed however it ends
        try:
            await handler(reader, writer)
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(closing, "127.0.0.1", 0)
    return server, server.sockets[0].getsockname()[1]


async def _read_request(reader: asyncio.StreamReader) -> bytes:
    head = await reader.readuntil(b"\r\n\r\n")
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    return head + (await reader.readexactly(length) if length else b"")


def test_connections_are_reused():
    connections = 0

    async def handler(reader, writer):
        nonlocal connections
        connections += 1
        while True:
            await _read_request(reader)
            writer.write(RESPONSE)
            await writer.drain()

    async def main():
        server, port = await _server(handler)
        async with server, httpx.AsyncClient(transport=LeanTransport()) as client:
            for _ in range(5):
                answer = await client.post(f"http://127.0.0.1:{port}/x", json={"a": 1})
                assert answer.text == "ok"
        return connections

    assert asyncio.run(main()) == 1


def test_a_stale_keep_alive_connection_is_retried_on_a_fresh_one():
    async def handler(reader, writer):  # answers one request, then hangs up
        await _read_request(reader)
        writer.write(RESPONSE)
        await writer.drain()
        writer.close()

    async def main():
        server, port = await _server(handler)
        async with server, httpx.AsyncClient(transport=LeanTransport()) as client:
            first = await client.get(f"http://127.0.0.1:{port}/")
            await asyncio.sleep(0.05)  # the server has closed the idle connection
            second = await client.get(f"http://127.0.0.1:{port}/")
            return first.text, second.text

    assert asyncio.run(main()) == ("ok", "ok")


def test_read_timeout_and_connect_error_are_httpx_errors():
    async def handler(reader, writer):
        await asyncio.sleep(1)
        writer.close()

    async def main():
        server, port = await _server(handler)
        async with server, httpx.AsyncClient(transport=LeanTransport(), timeout=0.1) as client:
            with pytest.raises(httpx.ReadTimeout):
                await client.get(f"http://127.0.0.1:{port}/")
        async with httpx.AsyncClient(transport=LeanTransport()) as client:
            with pytest.raises(httpx.ConnectError):
                await client.get("http://127.0.0.1:9/")

    asyncio.run(main())


def test_a_body_cut_short_is_a_protocol_error():
    async def handler(reader, writer):
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc")
        await writer.drain()
        writer.close()

    async def main():
        server, port = await _server(handler)
        async with server, httpx.AsyncClient(transport=LeanTransport()) as client:
            with pytest.raises(httpx.HTTPError):
                await client.get(f"http://127.0.0.1:{port}/")

    asyncio.run(main())


def test_a_request_lost_on_a_stale_connection_is_resent_on_a_fresh_one_not_a_pooled_one():
    connections = 0

    async def handler(reader, writer):  # answers one request a connection, then takes the
        nonlocal connections  # next one and hangs up without an answer (the keep-alive race)
        connections += 1
        await _read_request(reader)
        writer.write(RESPONSE)
        await writer.drain()
        await _read_request(reader)
        writer.close()

    async def main():
        server, port = await _server(handler)
        url = f"http://127.0.0.1:{port}/"
        async with server, httpx.AsyncClient(transport=LeanTransport()) as client:
            first = await asyncio.gather(client.get(url), client.get(url))  # two pooled
            second = await client.post(url, json={"q": 1})
        return [r.text for r in first], second.text

    assert asyncio.run(main()) == (["ok", "ok"], "ok")
    assert connections == 3  # the second pooled one, as stale, was not tried


def test_an_answer_cut_off_after_its_first_byte_is_not_sent_again():
    requests = 0

    async def handler(reader, writer):
        nonlocal requests
        await _read_request(reader)
        requests += 1
        writer.write(RESPONSE)
        await writer.drain()
        await _read_request(reader)
        requests += 1
        writer.write(b"HTTP/1.1 200 O")  # processed: the answer had begun
        await writer.drain()
        writer.close()

    async def main():
        server, port = await _server(handler)
        url = f"http://127.0.0.1:{port}/"
        async with server, httpx.AsyncClient(transport=LeanTransport()) as client:
            assert (await client.get(url)).text == "ok"
            with pytest.raises(httpx.ReadError):
                await client.post(url, json={"q": 1})

    asyncio.run(main())
    assert requests == 2


def test_an_idle_connection_past_its_keepalive_expiry_is_not_reused():
    connections = 0

    async def handler(reader, writer):  # keeps every connection open
        nonlocal connections
        connections += 1
        while True:
            await _read_request(reader)
            writer.write(RESPONSE)
            await writer.drain()

    async def main():
        server, port = await _server(handler)
        url = f"http://127.0.0.1:{port}/"
        transport = LeanTransport(keepalive_expiry=0.05)
        async with server, httpx.AsyncClient(transport=transport) as client:
            await client.get(url)
            await client.get(url)  # at once: reused
            await asyncio.sleep(0.1)
            await client.get(url)  # idle 0.1 s > 0.05 s: a new connection

    asyncio.run(main())
    assert connections == 2


def test_a_header_that_would_split_the_request_is_refused_and_nothing_is_sent():
    received = []

    async def handler(reader, writer):
        received.append(await reader.read(1024))

    async def main():
        server, port = await _server(handler)
        async with server, httpx.AsyncClient(transport=LeanTransport()) as client:
            with pytest.raises(httpx.LocalProtocolError):
                await client.get(
                    f"http://127.0.0.1:{port}/", headers={"x-key": "sk-1\r\nX-Admin: yes"}
                )

    asyncio.run(main())
    assert all(b"X-Admin" not in data for data in received)


@pytest.mark.parametrize(
    ("answer", "reused"),
    [
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n", True),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok", False),
        (b"HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok", False),
        (b"HTTP/1.1 200 OK\r\n\r\nok", False),  # no length: the body ends with the connection
    ],
)
def test_answers_are_read_whole_and_their_connection_kept_only_when_the_server_keeps_it(
    answer: bytes, reused: bool
):
    connections = 0
    unframed = b"Length" not in answer and b"chunked" not in answer

    async def handler(reader, writer):  # keeps the connection open, unless the body needs
        nonlocal connections  # its end
        connections += 1
        while True:
            await _read_request(reader)
            writer.write(answer)
            await writer.drain()
            if unframed:
                writer.close()
                return

    async def main():
        server, port = await _server(handler)
        url = f"http://127.0.0.1:{port}/"
        async with server, httpx.AsyncClient(transport=LeanTransport()) as client:
            return [(await client.post(url, json={"q": i})).text for i in range(3)]

    assert asyncio.run(main()) == ["ok", "ok", "ok"]
    assert connections == (1 if reused else 3)
