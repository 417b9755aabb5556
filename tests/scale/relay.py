"""A TCP relay: ``python relay.py BIND_HOST BIND_PORT TARGET_HOST TARGET_PORT``.

The shared services of this machine (PostgreSQL, Redis) listen on 127.0.0.1 only; a host
in a network namespace reaches them at its link's far address, where this relay accepts
and forwards. Stopping the relay is that host losing the service (connections refused,
open ones cut), as a network partition would do to it.
"""

from __future__ import annotations

import asyncio
import sys


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    except (ConnectionError, OSError):
        pass
    finally:
        writer.close()


async def main(bind: str, port: int, target: str, target_port: int) -> None:
    async def relay(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        try:
            server_r, server_w = await asyncio.open_connection(target, target_port)
        except OSError:
            client_w.close()
            return
        await asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))

    server = await asyncio.start_server(relay, bind, port, reuse_address=True)
    print("relaying", flush=True)
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    host, port, target, target_port = sys.argv[1:5]
    asyncio.run(main(host, int(port), target, int(target_port)))
