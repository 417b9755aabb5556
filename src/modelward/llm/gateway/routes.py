"""The gateway as a route group of the HTTP edge: ``POST /v1/chat/completions`` (streaming
too), ``GET /v1/models`` and ``POST /v1/llm/feedback`` (ratings of answers; the standalone
gateway answers it at ``/v1/feedback`` too, which ``modelward serve`` keeps for tabular
labels), all with the ``predict`` scope where the process requires tokens (``modelward
serve``); the standalone gateway names callers by their token for budgets and the log,
and refuses no one. A chat call's ``x-modelward-feedback`` header rates earlier answers.

The query type comes from the ``X-Query-Type`` header, a ``model`` of ``route:<type>``,
or the configured keyword classifier; the routing table gives the ranked models (with an
optional canary). Budgets are checked before a call; usage rows and prediction-log rows
are written off the request path.
"""

from __future__ import annotations

import asyncio
import itertools
import time
import uuid
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from modelward.errors import ModelwardError, NotFound, ProviderError
from modelward.http.app import Group
from modelward.http.response import Response, StreamingResponse, json_response
from modelward.http.router import Route
from modelward.llm.gateway.body import parse_body, prompt_of
from modelward.llm.gateway.call import Call, completion
from modelward.llm.gateway.complete import complete
from modelward.llm.gateway.feedback import (
    HEADER,
    LOOKUP_DAYS,
    GatewayFeedback,
    parse_feedback,
    parse_header,
)
from modelward.llm.gateway.metrics import GatewayMetrics
from modelward.llm.gateway.openapi import CHAT, FEEDBACK, MODELS
from modelward.llm.gateway.record import Recorder
from modelward.llm.gateway.stream import stream

if TYPE_CHECKING:
    from modelward.http.app import App
    from modelward.http.auth import Auth
    from modelward.http.request import Request
    from modelward.llm.gateway.state import GatewayState

__all__ = ["GatewayRoutes"]


#: Where ratings of answers are posted, whatever the gateway is mounted in.
FEEDBACK_PATH = "/v1/llm/feedback"


class GatewayRoutes(Group):
    def __init__(self, state: GatewayState, *, standalone: bool = False) -> None:
        """``standalone``: the gateway is the only group (``modelward llm gateway``), so
        ratings are answered at ``/v1/feedback`` too."""
        self.state = state
        self.standalone = standalone
        self.gateway_metrics = GatewayMetrics()
        if state.redis is not None:
            self.gateway_metrics.watch(state.redis)
        ratings = self.gateway_metrics.ratings
        self.feedback = GatewayFeedback(state, lambda model: ratings.labels(model).inc())
        self.recorder = Recorder(state, self.gateway_metrics, self.feedback.answered)
        self.auth: Auth | None = None
        self._prefix = uuid.uuid4().hex[:12]  # request ids: a per-process prefix and a counter
        self._counter = itertools.count()

    def routes(self) -> Sequence[Route]:
        paths = [FEEDBACK_PATH, "/v1/feedback"] if self.standalone else [FEEDBACK_PATH]
        return (
            Route("POST", "/v1/chat/completions", self.chat, "predict", CHAT),
            Route("GET", "/v1/models", self.models, "predict", MODELS),
            *(Route("POST", p, self.rate, "predict", FEEDBACK) for p in paths),
        )

    def metrics(self) -> Sequence[Callable[[], tuple[bytes, str]]]:
        return (self._render,)

    def _render(self) -> tuple[bytes, str]:
        self.state.settle()  # the answers sent so far, all counted
        return self.gateway_metrics.render()

    def mounted(self, app: App) -> None:
        self.auth = app.auth

    def detail(self) -> dict[str, Any]:
        return self.state.shared_status()

    async def shutdown(self) -> None:
        """Usage and the log flushed, the provider connections closed."""
        await self.state.fleet.aclose()
        await asyncio.to_thread(self.feedback.close)
        await asyncio.to_thread(self.state.close)

    async def chat(self, request: Request) -> Response:
        self.state.ensure_started()
        rated = request.headers.get(HEADER)
        try:
            ratings = parse_header(rated) if rated is not None else None  # 400 before the call
        except ModelwardError as exc:
            self.gateway_metrics.rejected.labels(exc.code).inc()
            raise
        call, streamed = await self._call(request)
        recorder, metrics = self.recorder, self.gateway_metrics
        kind = (b"x-modelward-query-type", call.query_type.encode("latin-1", "replace"))
        extra = [kind]
        if ratings is not None:
            outcome = await self.feedback.submit(ratings, lenient=True)
            extra.append((HEADER.encode(), _outcome(outcome).encode()))
        if streamed:
            return StreamingResponse(stream(call, self.state, recorder, metrics), headers=extra)
        try:
            answer, attempts = await complete(call, self.state, recorder, metrics)
        except ProviderError:
            raise
        except ModelwardError as exc:  # llm.yml or the environment is wrong: no retry helps
            metrics.rejected.labels(exc.code).inc()
            raise
        headers = [
            (b"x-modelward-cache", b"hit" if answer.cache_hit else b"miss"),
            *extra,
            (b"x-modelward-attempts", str(attempts).encode()),
        ]
        return json_response(completion(call, answer), headers=headers)

    async def _call(self, request: Request) -> tuple[Call, bool]:
        """The checked call and whether to stream it; a refusal is counted by its code."""
        started = time.perf_counter()
        state = self.state
        try:
            model, messages, params, streamed = parse_body(await request.body())
            prompt = prompt_of(messages)
            query_type, refs = state.candidates(
                model, request.headers.get("x-query-type") or None, prompt
            )
            assert self.auth is not None  # set when mounted
            client = self.auth.client(request)
            state.check_budget(client)
        except ModelwardError as exc:
            self.gateway_metrics.rejected.labels(exc.code).inc()
            raise
        request_id = f"chatcmpl-{self._prefix}{next(self._counter):012x}"
        call = Call(request_id, query_type, refs, messages, params, client, prompt, started)
        return call, streamed

    async def rate(self, request: Request) -> Response:
        """Ratings of earlier answers by their response ids (one, or ``{"items": [...]}``)."""
        self.state.ensure_started()
        try:
            ratings, single = parse_feedback(await request.json())
        except ModelwardError as exc:
            self.gateway_metrics.rejected.labels(exc.code).inc()
            raise
        outcome = await self.feedback.submit(ratings)
        if single and outcome["unknown"]:
            raise NotFound(
                f"no gateway answer with id {ratings[0].id!r} is known (answers of the last "
                f"{LOOKUP_DAYS} days are); send the id a chat completion returned",
                field="id",
            )
        return json_response(outcome)

    async def models(self, request: Request) -> Response:
        state = self.state
        state.ensure_started()
        data = [
            {"id": f"route:{q}", "object": "model", "created": 0, "owned_by": "modelward"}
            for q in sorted(state.routes)
        ]
        data += [
            {"id": ref, "object": "model", "created": 0, "owned_by": e.provider}
            for ref, e in sorted(state.endpoints.items())
        ]
        return json_response({"object": "list", "data": data})


def _outcome(outcome: dict[str, Any]) -> str:
    """The response header that says what became of a request's ratings."""
    unknown = ",".join(outcome["unknown"])
    return f"accepted={outcome['accepted']}" + (f"; unknown={unknown}" if unknown else "")
