"""One gateway call: what was asked (:class:`Call`), what answered it (:class:`Answer`), and
the OpenAI-shaped bodies made from them."""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import orjson

if TYPE_CHECKING:
    from modelward.llm.types import Endpoint

__all__ = ["FINISH_REASONS", "Answer", "Call", "chunk", "completion", "estimate_tokens"]

# Providers' own stop reasons (Anthropic's end_turn, max_tokens, ...) in OpenAI's vocabulary.
FINISH_REASONS = {
    "stop": "stop",
    "length": "length",
    "tool_calls": "tool_calls",
    "content_filter": "content_filter",
    "end_turn": "stop",
    "stop_sequence": "stop",
    "max_tokens": "length",
    "tool_use": "tool_calls",
    "eos_token": "stop",  # Hugging Face TGI
}


@dataclass(slots=True)
class Call:
    """A checked request: the endpoints to try in order, for whom, since when; the prompt's
    sha256 once made (while the provider thinks: :meth:`Recorder.prepare`)."""

    request_id: str
    query_type: str
    refs: list[str]
    messages: list[dict[str, Any]]
    params: dict[str, Any]
    client: str  # the API token's name, "-" anonymous
    prompt: str
    started: float  # perf_counter()
    prompt_sha256: str | None = None


@dataclass(frozen=True, slots=True)
class Answer:
    """A text answered by ``endpoint`` (from the provider, or the cache)."""

    ref: str
    endpoint: Endpoint
    text: str
    input_tokens: int
    output_tokens: int
    finish: str | None
    cost: float | None  # None: no price known for the model
    cache_hit: bool


def finish_reason(finish: str | None) -> str:
    return FINISH_REASONS.get(finish or "stop", "stop")


def completion(call: Call, answer: Answer) -> dict[str, Any]:
    tin, tout = answer.input_tokens, answer.output_tokens
    return {
        "id": call.request_id,
        "object": "chat.completion",
        "created": int(time.time()),
        "model": answer.ref,
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text},
                "finish_reason": finish_reason(answer.finish),
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": tin, "completion_tokens": tout, "total_tokens": tin + tout},
    }


def chunk(
    call: Call, created: int, ref: str, delta: dict[str, Any], finish: str | None = None
) -> bytes:
    """One server-sent event of a streamed completion."""
    body = {
        "id": call.request_id,
        "object": "chat.completion.chunk",
        "created": created,
        "model": ref,
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
    }
    return b"data: " + orjson.dumps(body) + b"\n\n"


def estimate_tokens(text: str) -> int:
    """~4 characters a token, when a provider sends no counts."""
    return -(-len(text) // 4) if text else 0
