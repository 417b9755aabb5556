"""Anthropic Messages API (``/v1/messages``), streaming included."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import Any

import orjson

from modelward.llm.providers.base import Provider, token_count
from modelward.llm.types import ChatResult, Message, StreamEnd

__all__ = ["ANTHROPIC_VERSION", "AnthropicProvider"]

ANTHROPIC_VERSION = "2023-06-01"
PARAMS = ("temperature", "top_p", "top_k", "stop_sequences")
DEFAULT_MAX_TOKENS = 1024


class AnthropicProvider(Provider):
    kind = "anthropic"

    def headers(self) -> dict[str, str]:
        headers = {"anthropic-version": ANTHROPIC_VERSION}
        key = self.config.api_key()
        if key:
            headers["x-api-key"] = key
        return headers

    def _body(self, model: str, messages: list[Message], params: dict[str, Any]) -> dict[str, Any]:
        system = [str(m.get("content", "")) for m in messages if m.get("role") == "system"]
        chat = [m for m in messages if m.get("role") != "system"]
        body: dict[str, Any] = {
            "model": model,
            "messages": chat,
            "max_tokens": int(params.get("max_tokens", DEFAULT_MAX_TOKENS)),
        }
        if system:
            body["system"] = "\n".join(system)
        body.update({k: v for k, v in params.items() if k in PARAMS})
        return body

    async def chat(self, model: str, messages: list[Message], params: dict[str, Any]) -> ChatResult:
        start = time.perf_counter()
        data, attempts = await self._json(
            "POST", "/v1/messages", json=self._body(model, messages, params)
        )
        try:
            text = "".join(b.get("text", "") for b in data["content"] if b.get("type") == "text")
            usage = data.get("usage") or {}
            return ChatResult(
                text=text,
                input_tokens=int(usage.get("input_tokens", 0)),
                output_tokens=int(usage.get("output_tokens", 0)),
                model=str(data.get("model", model)),
                latency_ms=(time.perf_counter() - start) * 1000,
                finish_reason=data.get("stop_reason"),
                attempts=attempts,
            )
        except (KeyError, TypeError, AttributeError, ValueError) as exc:
            raise self.bad_response("a message without content blocks") from exc

    async def stream(
        self, model: str, messages: list[Message], params: dict[str, Any]
    ) -> AsyncIterator[str | StreamEnd]:
        body = {**self._body(model, messages, params), "stream": True}
        finish, tokens_in, tokens_out = None, None, None
        async for line in self._lines("/v1/messages", json=body):
            if not line.startswith("data:"):
                continue
            try:
                event = orjson.loads(line[5:].strip())
            except ValueError as exc:
                raise self.bad_response("a stream event that is not JSON") from exc
            kind = event.get("type") if isinstance(event, dict) else None
            if kind == "content_block_delta":
                delta = event.get("delta") or {}
                if delta.get("type") == "text_delta" and delta.get("text"):
                    yield str(delta["text"])
            elif kind == "message_start":
                usage = (event.get("message") or {}).get("usage")
                tokens_in = token_count(usage, "input_tokens")
            elif kind == "message_delta":
                finish = (event.get("delta") or {}).get("stop_reason") or finish
                tokens_out = token_count(event.get("usage"), "output_tokens")
            elif kind == "message_stop":
                break
            elif kind == "error":
                message = (event.get("error") or {}).get("message", "unknown error")
                raise self.bad_response(f"a stream error ({message})")
        yield StreamEnd(finish, tokens_in, tokens_out)

    async def list_models(self) -> list[str]:
        data, _ = await self._json("GET", "/v1/models")
        try:
            return [str(m["id"]) for m in data["data"]]
        except (KeyError, TypeError) as exc:
            raise self.bad_response("a model list without data[].id") from exc
