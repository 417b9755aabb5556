"""A gateway served in this process on 127.0.0.1 for a moment (the update pipeline's
staging check, when no running gateway is given): ``with local_gateway(ws, "staging") as
url: ...``. It reads the environment's routing table when it starts."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from modelward.errors import DependencyError
from modelward.llm.gateway.app import create_gateway_app

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["local_gateway"]


@contextmanager
def local_gateway(ws: Workspace, environment: str) -> Iterator[str]:
    """Serve the gateway for ``environment``'s routing table; yields its base URL."""
    import uvicorn

    app = create_gateway_app(ws, environment=environment)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    # lifespan on: its shutdown closes the provider clients inside the server's loop
    config = uvicorn.Config(app, log_level="warning", access_log=False, lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 10
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                raise DependencyError("the in-process gateway did not start on 127.0.0.1")
            time.sleep(0.01)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()
        app.state.gateway.close()
