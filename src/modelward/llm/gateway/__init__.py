"""The OpenAI-compatible LLM gateway, a standalone ASGI app: :func:`create_gateway_app`."""

from modelward.llm.gateway.app import create_gateway_app

__all__ = ["create_gateway_app"]
