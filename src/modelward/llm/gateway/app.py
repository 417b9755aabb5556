"""The standalone gateway (``modelward llm gateway``): its route group on the HTTP edge,
with ``/healthz`` (and the routing revision it follows), ``/metrics`` and the docs."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelward.http.app import App
from modelward.http.auth import Auth
from modelward.http.docs import Docs
from modelward.http.ops import Operations
from modelward.llm.gateway.routes import GatewayRoutes
from modelward.llm.gateway.state import GatewayState

if TYPE_CHECKING:
    from modelward.llm.config import LLMConfig
    from modelward.workspace import Workspace

__all__ = ["create_gateway_app", "gateway_routes"]


def gateway_routes(
    ws: Workspace, *, config: LLMConfig | None = None, environment: str = "production"
) -> GatewayRoutes:
    """The gateway's route group, to mount beside others (``modelward serve`` does)."""
    return GatewayRoutes(GatewayState(ws, config=config, environment=environment))


def create_gateway_app(
    ws: Workspace, *, config: LLMConfig | None = None, environment: str = "production"
) -> App:
    """The gateway as an ASGI app of its own; ``app.state.gateway`` is its
    :class:`GatewayState` (routing table, cache, usage, the log writer)."""
    state = GatewayState(ws, config=config, environment=environment)
    routes = GatewayRoutes(state, standalone=True)  # ratings at /v1/feedback too
    health = Operations(
        health=lambda: {
            "status": "ok",
            "routing_revision": state.revision,
            **state.shared_status(),  # Redis down: still ok, serving on without it
        }
    )
    app = App([routes, health, Docs("modelward LLM gateway")], auth=Auth(state))
    app.state.gateway = state
    return app
