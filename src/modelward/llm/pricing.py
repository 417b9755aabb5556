"""Cost of a call from the price catalog in ``llm.yml`` (US dollars per million tokens)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from modelward.llm.config import LLMConfig

__all__ = ["cost_of"]


def cost_of(
    config: LLMConfig, provider: str, model: str, input_tokens: int, output_tokens: int
) -> float | None:
    """Dollars for one call, or ``None`` when the catalog has no price for the model."""
    price = config.price(provider, model)
    if price is None:
        return None
    return (input_tokens * price.input + output_tokens * price.output) / 1_000_000
