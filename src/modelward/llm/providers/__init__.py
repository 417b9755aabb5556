"""Provider adapters, one module per wire protocol, all with the :class:`Provider` interface."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelward.llm.providers.anthropic import AnthropicProvider
from modelward.llm.providers.base import Provider, retry_after_seconds
from modelward.llm.providers.huggingface import HuggingFaceProvider
from modelward.llm.providers.ollama import OllamaProvider
from modelward.llm.providers.openai import OpenAIProvider

if TYPE_CHECKING:
    import httpx

    from modelward.llm.config import ProviderConfig

__all__ = ["KINDS", "Provider", "make_provider", "retry_after_seconds"]

KINDS = ("anthropic", "huggingface", "ollama", "openai")


def make_provider(
    name: str, config: ProviderConfig, *, client: httpx.AsyncClient | None = None
) -> Provider:
    """The adapter for ``config.kind``."""
    if config.kind == "openai":
        return OpenAIProvider(name, config, client=client)
    if config.kind == "anthropic":
        return AnthropicProvider(name, config, client=client)
    if config.kind == "ollama":
        return OllamaProvider(name, config, client=client)

    return HuggingFaceProvider(name, config, client=client)
