"""The OpenAI-compatible LLM gateway: a route group of the HTTP edge
(:class:`~modelward.llm.gateway.routes.GatewayRoutes`, mounted by ``modelward serve``) or an
app of its own (:func:`create_gateway_app`, ``modelward llm gateway``)."""

from modelward.llm.gateway.app import create_gateway_app, gateway_routes

__all__ = ["create_gateway_app", "gateway_routes"]
