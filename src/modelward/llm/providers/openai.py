"""OpenAI-compatible chat completions: OpenAI, vLLM, TGI, LM Studio, Ollama's /v1."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from modelward.llm.providers.base import Provider, token_count
from modelward.llm.types import ChatResult, Message, StreamEnd

__all__ = ["OpenAIProvider"]

#: Parameters passed through as they are.
PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
    "n",
)


class OpenAIProvider(Provider):
    kind = "openai"

    def headers(self) -> dict[str, str]:
        key = self.config.api_key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def _body(self, model: str, messages: list[Message], params: dict[str, Any]) -> dict[str, Any]:
        body: dict[str, Any] = {"model": model, "messages": messages}
        body.update({k: v for k, v in params.items() if k in PARAMS})
        return body

    async def chat(self, model: str, messages: list[Message], params: dict[str, Any]) -> ChatResult:
        start = time.perf_counter()
        data, attempts = await self._json(
            "POST", "/chat/completions", json=self._body(model, messages, params)
        )
        try:
            choice = data["choices"][0]
            text = choice["message"].get("content") or ""
            usage = data.get("usage") or {}
            return ChatResult(
                text=text,
                input_tokens=int(usage.get("prompt_tokens", 0)),
                output_tokens=int(usage.get("completion_tokens", 0)),
                model=str(data.get("model", model)),
                latency_ms=(time.perf_counter() - start) * 1000,
                finish_reason=choice.get("finish_reason"),
                attempts=attempts,
            )
        except (KeyError, IndexError, TypeError, AttributeError, ValueError) as exc:
            raise self.bad_response("a chat completion without choices[0].message") from exc

    async def stream(
        self, model: str, messages: list[Message], params: dict[str, Any]
    ) -> AsyncIterator[str | StreamEnd]:
        body = {
            **self._body(model, messages, params),
            "stream": True,
            "stream_options": {"include_usage": True},
        }
        finish, usage = None, None
        async for line in self._lines("/chat/completions", json=body):
            if not line.startswith("data:"):
                continue
            payload = line[5:].strip()
            if payload == "[DONE]":
                break
            try:
                chunk = orjson.loads(payload)
                choice = chunk["choices"][0] if chunk.get("choices") else {}
                delta = choice.get("delta") or {}
                finish = choice.get("finish_reason") or finish
                usage = chunk.get("usage") or usage
            except (ValueError, KeyError, IndexError, TypeError, AttributeError) as exc:
                raise self.bad_response(
                    "a stream chunk that is not a chat.completion.chunk"
                ) from exc
            if delta.get("content"):
                yield str(delta["content"])
        yield StreamEnd(
            finish,
            token_count(usage, "prompt_tokens"),
            token_count(usage, "completion_tokens"),
        )

    async def list_models(self) -> list[str]:
        data, _ = await self._json("GET", "/models")
        try:
            return [str(m["id"]) for m in data["data"]]
        except (KeyError, TypeError) as exc:
            raise self.bad_response("a model list without data[].id") from exc
