"""What every attempt of a call leaves behind, in one place: usage, spend, metrics and the
prediction-log row (the prompt only as its sha256).

The log row is written before the answer is sent: its write-ahead line makes it durable
(a crash after answering loses no row) and readable by the next request (a rating of the
answer, ``llm usage``). Usage, spend and metrics are counted once the answer has gone
(:meth:`GatewayState.later`): the client need not wait for them, and whatever reads them
settles them first. Between a provider's answer and ours the CPU's caches are cold after
the wait, so what can be done earlier is: the prompt's sha256 while the provider thinks
(:meth:`Recorder.prepare`), and the row is encoded here as the log's own line."""

from __future__ import annotations

import time
from functools import partial
from typing import TYPE_CHECKING

from modelward.llm.types import prompt_hash
from modelward.predlog.convert import json_line
from modelward.predlog.layout import PREDICTIONS
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

    def prepare(self, call: Call) -> None:
        """The prompt's sha256 for the log row, made ahead (scheduled before the provider is
        asked: it runs once the request is out, while the provider thinks)."""
        if call.prompt_sha256 is None:
            call.prompt_sha256 = prompt_hash(call.prompt)

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
        state = self.state
        status = "ok" if error is None else "error"
        latency_ms = (time.perf_counter() - call.started) * 1000
        name, version = str(endpoint.name), int(endpoint.version or 0)
        tin, tout = tokens
        count = partial(
            self._count, call, name, version, status, latency_ms, tin, tout, cost, cache_hit
        )
        state.later(count)  # first: a row the log refuses (503) is counted all the same
        row = {
            "k": PREDICTIONS,
            "m": name,
            "request_id": call.request_id,
            "ts": time.time_ns() // 1000,
            "version": version,
            "environment": state.environment,
            "status": status,
            "error": None if error is None else redact(error),
            "latency_ms": latency_ms,
            "prediction": text,
            "score": None,
            "proba": None,
            "in_prompt_hash": call.prompt_sha256 or prompt_hash(call.prompt),
            "query_type": call.query_type,
            "input_tokens": tin,
            "output_tokens": tout,
            "cost": cost,
            "cache_hit": cache_hit,
            "client": call.client,  # the API token's name ("-" anonymous), never the secret
        }
        state.predlog.log_prediction_lines(name, json_line(row), 1, PROMPT_TYPES)

    def _count(
        self,
        call: Call,
        name: str,
        version: int,
        status: str,
        latency_ms: float,
        tin: int,
        tout: int,
        cost: float | None,
        cache_hit: bool,
    ) -> None:
        """Usage, spend and metrics of one attempt (once its answer is sent)."""
        state, metrics = self.state, self.metrics
        state.record_usage(
            call.client,
            name,
            version,
            error=status != "ok",
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
