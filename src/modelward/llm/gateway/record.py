"""What every attempt of a call leaves behind, in one place: usage, spend, metrics and the
prediction-log row (the prompt only as its sha256)."""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

from modelward.llm.types import prompt_hash
from modelward.redact import redact

if TYPE_CHECKING:
    from collections.abc import Callable

    from modelward.errors import ProviderError
    from modelward.llm.gateway.call import Answer, Call
    from modelward.llm.gateway.metrics import GatewayMetrics
    from modelward.llm.gateway.state import GatewayState
    from modelward.llm.types import Endpoint

__all__ = ["PROMPT_TYPES", "Recorder"]

#: The gateway's input column: the prompt's sha256, never the prompt itself.
PROMPT_TYPES = {"in_prompt_hash": "string"}


class Recorder:
    def __init__(
        self,
        state: GatewayState,
        metrics: GatewayMetrics,
        on_answered: Callable[[str, str], None] | None = None,
    ) -> None:
        self.state = state
        self.metrics = metrics
        self.on_answered = on_answered  # (response id, model) of every answer given

    def answered(self, call: Call, answer: Answer) -> None:
        self._record(
            call,
            answer.endpoint,
            error=None,
            text=answer.text,
            tokens=(answer.input_tokens, answer.output_tokens),
            cost=answer.cost,
            cache_hit=answer.cache_hit,
        )
        if self.on_answered is not None:  # the answer can be rated by its id from now on
            self.on_answered(call.request_id, str(answer.endpoint.name))

    def failed(self, call: Call, endpoint: Endpoint, exc: ProviderError) -> None:
        self._record(
            call, endpoint, error=exc.message, text=None, tokens=(0, 0), cost=None, cache_hit=False
        )

    def _record(
        self,
        call: Call,
        endpoint: Endpoint,
        *,
        error: str | None,
        text: str | None,
        tokens: tuple[int, int],
        cost: float | None,
        cache_hit: bool,
    ) -> None:
        state, metrics = self.state, self.metrics
        status = "ok" if error is None else "error"
        latency_ms = (time.perf_counter() - call.started) * 1000
        name, version = str(endpoint.name), int(endpoint.version or 0)
        tin, tout = tokens
        state.record_usage(
            call.client,
            name,
            version,
            error=error is not None,
            cache_hit=cache_hit,
            input_tokens=tin,
            output_tokens=tout,
            cost=cost or 0.0,
        )
        metrics.observe(
            name, call.query_type, status, latency_ms, tin, tout, cost or 0.0, cache_hit
        )
        if cost is not None and cost > state.policy.max_cost_per_query:
            metrics.over_cost_limit.labels(name).inc()
        state.predlog.log_prediction(
            name,
            {
                "request_id": call.request_id,
                "ts": None,  # now
                "version": version,
                "environment": state.environment,
                "status": status,
                "error": None if error is None else redact(error),
                "latency_ms": latency_ms,
                "prediction": text,
                "score": None,
                "proba": None,
                "in_prompt_hash": prompt_hash(call.prompt),
                "query_type": call.query_type,
                "input_tokens": tin,
                "output_tokens": tout,
                "cost": cost,
                "cache_hit": cache_hit,
                "client": call.client,  # the API token's name ("-" anonymous), never the secret
            },
            PROMPT_TYPES,
        )
