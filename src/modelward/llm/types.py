"""Plain records for chat calls: what goes to a provider and what comes back, and the
evaluation dataset's items (read by :mod:`.dataset`, scored by :mod:`.scoring`)."""

from __future__ import annotations

import hashlib
from dataclasses import asdict, dataclass, field
from typing import Any

__all__ = ["ChatResult", "Endpoint", "Item", "Message", "StreamEnd", "prompt_hash"]

Message = dict[str, Any]  # {"role": "user", "content": "..."}


def prompt_hash(text: str) -> str:
    """A prompt as the gateway logs it (``in_prompt_hash``): its sha256, never the text."""
    return hashlib.sha256(text.encode()).hexdigest()


@dataclass(frozen=True)
class Endpoint:
    """What a registered endpoint version calls: provider, model id, params, prompt template."""

    provider: str
    model: str
    params: dict[str, Any] = field(default_factory=dict)
    prompt_template: str | None = None
    name: str | None = None  # registry model name
    version: int | None = None

    @property
    def ref(self) -> str:
        return f"{self.name}:{self.version}" if self.name else f"{self.provider}/{self.model}"

    def render(self, messages: list[Message]) -> list[Message]:
        """Apply the prompt template (``{input}`` is the last user message) to the messages."""
        if not self.prompt_template:
            return messages
        out = [dict(m) for m in messages]
        for message in reversed(out):
            if message.get("role") == "user" and isinstance(message.get("content"), str):
                message["content"] = self.prompt_template.replace("{input}", message["content"])
                break
        return out

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class StreamEnd:
    """The last item of a provider's stream: why the answer ended (in the provider's own
    words, e.g. Anthropic's ``max_tokens``) and the token counts when the provider sent them."""

    finish_reason: str | None = None
    input_tokens: int | None = None
    output_tokens: int | None = None


@dataclass(frozen=True)
class ChatResult:
    text: str
    input_tokens: int
    output_tokens: int
    model: str
    latency_ms: float
    finish_reason: str | None = None
    attempts: int = 1

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(frozen=True)
class Item:
    """One item of an evaluation dataset (fields: :mod:`modelward.llm.dataset`)."""

    id: str
    category: str
    messages: list[dict[str, Any]]
    expected: list[str] = field(default_factory=list)
    reference: str | None = None
    scorer: str = "normalized"
    tolerance: float = 0.0

    def prompt_text(self) -> str:
        users = [m for m in self.messages if m.get("role") == "user"]
        content = users[-1].get("content", "") if users else ""
        return content if isinstance(content, str) else str(content)
