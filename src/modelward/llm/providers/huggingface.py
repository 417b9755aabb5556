"""Hugging Face Inference (text generation): ``POST /models/{model}``.

The API does not report token counts; they are estimated as ``ceil(characters / 4)``, the
rule of thumb Hugging Face and OpenAI document for English text, so costs are estimates.
"""

from __future__ import annotations

import math
import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from modelward.llm.providers.base import Provider
from modelward.llm.types import ChatResult, Message, StreamEnd

__all__ = ["HuggingFaceProvider", "estimate_tokens", "messages_to_prompt"]

PARAMS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "max_new_tokens",
    "seed": "seed",
    "stop": "stop",
}


def estimate_tokens(text: str) -> int:
    return math.ceil(len(text) / 4) if text else 0


def messages_to_prompt(messages: list[Message]) -> str:
    lines = [f"{m.get('role', 'user')}: {m.get('content', '')}" for m in messages]
    return "\n".join(lines) + "\nassistant:"


class HuggingFaceProvider(Provider):
    kind = "huggingface"

    def headers(self) -> dict[str, str]:
        key = self.config.api_key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _body(self, messages: list[Message], params: dict[str, Any], stream: bool) -> Any:
        parameters = {PARAMS[k]: v for k, v in params.items() if k in PARAMS}
        parameters["return_full_text"] = False
        body: dict[str, Any] = {"inputs": messages_to_prompt(messages), "parameters": parameters}
        if stream:
            body["stream"] = True
        return body

    async def chat(self, model: str, messages: list[Message], params: dict[str, Any]) -> ChatResult:
        start = time.perf_counter()
        body = self._body(messages, params, False)
        data, attempts = await self._json("POST", f"/models/{model}", json=body)
        try:
            first = data[0] if isinstance(data, list) else data
            text = str(first["generated_text"])
        except (KeyError, IndexError, TypeError) as exc:
            raise self.bad_response("an answer without generated_text") from exc
        return ChatResult(
            text=text,
            input_tokens=estimate_tokens(body["inputs"]),
            output_tokens=estimate_tokens(text),
            model=model,
            latency_ms=(time.perf_counter() - start) * 1000,
            finish_reason=None,
            attempts=attempts,
        )

    async def stream(
        self, model: str, messages: list[Message], params: dict[str, Any]
    ) -> AsyncIterator[str | StreamEnd]:
        finish = None
        async for line in self._lines(f"/models/{model}", json=self._body(messages, params, True)):
            if not line.startswith("data:"):
                continue
            try:
                event = orjson.loads(line[5:].strip())
                piece = (event.get("token") or {}).get("text", "")
                finish = (event.get("details") or {}).get("finish_reason") or finish
            except (ValueError, AttributeError) as exc:
                raise self.bad_response("a stream event without token.text") from exc
            if piece and not (event.get("token") or {}).get("special"):
                yield str(piece)
        yield StreamEnd(finish)

    async def list_models(self) -> list[str]:
        """The configured models that the service knows (``GET /models/{model}``)."""
        found = []
        for model in self.config.models:
            data, _ = await self._json("GET", f"/models/{model}")
            if isinstance(data, dict):
                found.append(model)
        return found
