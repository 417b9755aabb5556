"""The LLM gateway served on its own (``modelward llm gateway``), not mounted in ``modelward
serve``."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from modelward.deploy.environments import check_environment
from modelward.errors import ConfigError
from modelward.http.hosts import is_loopback
from modelward.llm.gateway import create_gateway_app

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["run_gateway"]


def run_gateway(
    ws: Workspace,
    *,
    host: str = "127.0.0.1",
    port: int = 8800,
    on_ready: Callable[[str], None] | None = None,
    environment: str = "production",
) -> None:
    """Serve the OpenAI-compatible gateway at ``host:port`` until stopped, following
    ``environment``'s routing table; ``on_ready`` gets its base URL first. Loopback only:
    the gateway has no authentication of its own (``modelward serve`` mounts it behind its
    tokens)."""
    if not is_loopback(host):
        raise ConfigError(
            f"--host {host} would expose the gateway, which has no authentication of its "
            "own; bind 127.0.0.1 (put a proxy with auth in front) or mount it into "
            "`modelward serve` with tokens",
            field="host",
        )
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}", field="port")
    import uvicorn

    check_environment(environment)
    app = create_gateway_app(ws, environment=environment)
    if on_ready is not None:
        on_ready(f"http://{host}:{port}/v1")
    # an answer's head and body in one write (uvicorn's own protocol writes them apart)
    one_write = "modelward.serving.connections:OneWriteHttpTools"
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False, http=one_write)
