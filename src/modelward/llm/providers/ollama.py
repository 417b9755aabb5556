"""Ollama's native API: ``/api/chat`` (NDJSON streaming) and ``/api/tags``."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from modelward.llm.providers.base import Provider, token_count
from modelward.llm.types import ChatResult, Message, StreamEnd

__all__ = ["OllamaProvider"]

#: Our parameter names -> Ollama's ``options``.
OPTIONS = {
    "temperature": "temperature",
    "top_p": "top_p",
    "top_k": "top_k",
    "max_tokens": "num_predict",
    "seed": "seed",
    "stop": "stop",
}


class OllamaProvider(Provider):
    kind = "ollama"

    def _body(
        self, model: str, messages: list[Message], params: dict[str, Any], stream: bool
    ) -> dict[str, Any]:
        options = {OPTIONS[k]: v for k, v in params.items() if k in OPTIONS}
        return {"model": model, "messages": messages, "stream": stream, "options": options}

    async def chat(self, model: str, messages: list[Message], params: dict[str, Any]) -> ChatResult:
        start = time.perf_counter()
        data, attempts = await self._json(
            "POST", "/api/chat", json=self._body(model, messages, params, False)
        )
        try:
            return ChatResult(
                text=str(data["message"].get("content", "")),
                input_tokens=int(data.get("prompt_eval_count", 0)),
                output_tokens=int(data.get("eval_count", 0)),
                model=str(data.get("model", model)),
                latency_ms=(time.perf_counter() - start) * 1000,
                finish_reason=data.get("done_reason"),
                attempts=attempts,
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise self.bad_response("a chat answer without message.content") from exc

    async def stream(
        self, model: str, messages: list[Message], params: dict[str, Any]
    ) -> AsyncIterator[str | StreamEnd]:
        async for line in self._lines("/api/chat", json=self._body(model, messages, params, True)):
            try:
                chunk = orjson.loads(line)
                piece = (chunk.get("message") or {}).get("content", "")
            except (ValueError, AttributeError) as exc:
                raise self.bad_response("a stream line that is not a chat chunk") from exc
            if piece:
                yield str(piece)
            if chunk.get("done"):
                yield StreamEnd(
                    chunk.get("done_reason"),
                    token_count(chunk, "prompt_eval_count"),
                    token_count(chunk, "eval_count"),
                )
                break

    async def list_models(self) -> list[str]:
        data, _ = await self._json("GET", "/api/tags")
        try:
            return [str(m["name"]) for m in data["models"]]
        except (KeyError, TypeError) as exc:
            raise self.bad_response("a tag list without models[].name") from exc
