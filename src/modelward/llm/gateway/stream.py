"""A chat completion streamed as server-sent events, in OpenAI's chunk format.

Before the first chunk a provider error falls back to the next endpoint; after it the
client has part of an answer, so the stream ends with an error event instead of switching
silently. A cached answer is one chunk.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator
from typing import TYPE_CHECKING

from modelward.errors import ModelwardError, ProviderError
from modelward.http.failure import error_body
from modelward.llm.cache import cache_key
from modelward.llm.gateway.call import Answer, Call, chunk, estimate_tokens, finish_reason
from modelward.llm.types import StreamEnd

if TYPE_CHECKING:
    from modelward.llm.gateway.metrics import GatewayMetrics
    from modelward.llm.gateway.record import Recorder
    from modelward.llm.gateway.state import GatewayState

__all__ = ["stream"]

DONE = b"data: [DONE]\n\n"


def _error_event(exc: ModelwardError) -> bytes:
    return b"data: " + error_body(exc.code, exc.message, exc.field) + b"\n\n" + DONE


async def stream(
    call: Call, state: GatewayState, recorder: Recorder, metrics: GatewayMetrics
) -> AsyncIterator[bytes]:
    created = int(time.time())
    last: ProviderError | None = None
    for attempt, ref in enumerate(call.refs):
        endpoint = state.endpoints[ref]
        rendered = endpoint.render(call.messages)
        merged = {**endpoint.params, **call.params}
        key = cache_key(endpoint.provider, endpoint.model, merged, rendered)
        hit = state.cache.get(key)
        pieces: list[str] = []
        end = StreamEnd()
        try:
            if hit is not None:
                pieces.append(hit[0])
                yield chunk(call, created, ref, {"role": "assistant", "content": hit[0]})
            else:
                provider = state.fleet.provider(endpoint.provider)
                async for piece in provider.stream(endpoint.model, rendered, merged):
                    if isinstance(piece, StreamEnd):
                        end = piece
                        continue
                    if not pieces:
                        yield chunk(call, created, ref, {"role": "assistant", "content": ""})
                    pieces.append(piece)
                    yield chunk(call, created, ref, {"content": piece})
        except ProviderError as exc:
            last = exc
            recorder.failed(call, endpoint, exc)
            if pieces:  # the client has part of an answer: no silent switch
                yield _error_event(exc)
                return
            if attempt + 1 < len(call.refs):
                metrics.fallbacks.labels(str(endpoint.name)).inc()
            continue
        except ModelwardError as exc:  # llm.yml or the environment is wrong: no retry helps
            metrics.rejected.labels(exc.code).inc()
            yield _error_event(exc)
            return
        text = "".join(pieces)
        if hit is not None:
            answer = Answer(ref, endpoint, text, hit[1], hit[2], hit[3], 0.0, True)
        else:  # the provider's counts when it sent them, else an estimate
            tin = end.input_tokens
            if tin is None:
                tin = estimate_tokens(" ".join(str(m.get("content", "")) for m in rendered))
            tout = estimate_tokens(text) if end.output_tokens is None else end.output_tokens
            cost = state.fleet.cost(endpoint, tin, tout)
            answer = Answer(ref, endpoint, text, tin, tout, end.finish_reason, cost, False)
            state.cache.put(key, (text, tin, tout, end.finish_reason))
        yield chunk(call, created, ref, {}, finish_reason(answer.finish))
        yield DONE
        recorder.answered(call, answer)
        return
    assert last is not None
    failed = type(last)(f"every model for {call.query_type!r} failed; last: {last.message}")
    yield _error_event(failed)
