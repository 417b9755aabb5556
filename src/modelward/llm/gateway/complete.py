"""A chat completion answered at once: the cache first, then the call's endpoints in
order, falling back to the next on a provider error or timeout."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from modelward.errors import ProviderError
from modelward.llm.cache import cache_key
from modelward.llm.gateway.call import Answer, Call

if TYPE_CHECKING:
    from modelward.llm.gateway.metrics import GatewayMetrics
    from modelward.llm.gateway.record import Recorder
    from modelward.llm.gateway.state import GatewayState

__all__ = ["complete"]


async def complete(
    call: Call, state: GatewayState, recorder: Recorder, metrics: GatewayMetrics
) -> tuple[Answer, int]:
    """The answer and the number of endpoints tried; the last provider error (naming the
    query type) when every one failed."""
    last: ProviderError | None = None
    # the log row's prompt hash, made once the request is out (the loop waits on it then)
    asyncio.get_running_loop().call_soon(recorder.prepare, call)
    for attempt, ref in enumerate(call.refs):
        try:
            answer = await _ask(call, ref, state)
        except ProviderError as exc:
            last = exc
            endpoint = state.endpoints[ref]
            recorder.failed(call, endpoint, exc)
            if attempt + 1 < len(call.refs):
                metrics.fallbacks.labels(str(endpoint.name)).inc()
            continue
        recorder.answered(call, answer)
        return answer, attempt + 1
    assert last is not None
    raise type(last)(f"every model for {call.query_type!r} failed; last: {last.message}") from last


async def _ask(call: Call, ref: str, state: GatewayState) -> Answer:
    endpoint = state.endpoints[ref]
    rendered = endpoint.render(call.messages)
    merged = {**endpoint.params, **call.params}
    cache = state.cache  # off: no key made (a sha256 of the whole call)
    key = cache_key(endpoint.provider, endpoint.model, merged, rendered) if cache.on else None
    hit = None if key is None else cache.get(key)
    if hit is not None:
        text, tin, tout, finish = hit
        return Answer(ref, endpoint, text, tin, tout, finish, 0.0, True)
    result = await state.fleet.provider(endpoint.provider).chat(endpoint.model, rendered, merged)
    tin, tout = result.input_tokens, result.output_tokens
    if key is not None:
        cache.put(key, (result.text, tin, tout, result.finish_reason))
    cost = state.fleet.cost(endpoint, tin, tout)
    return Answer(ref, endpoint, result.text, tin, tout, result.finish_reason, cost, False)
