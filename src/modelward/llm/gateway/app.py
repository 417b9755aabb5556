"""The OpenAI-compatible gateway: ``POST /v1/chat/completions`` (streaming too),
``GET /v1/models``, ``GET /metrics``, ``GET /healthz``.

The query type comes from the ``X-Query-Type`` header, a ``model`` of ``route:<type>``,
or the configured keyword classifier; the routing table gives the ranked models (with an
optional canary); on a provider error or timeout the next model is tried. Identical
requests within the TTL are answered from the cache. Budgets are checked before a call;
usage rows and prediction-log rows are written off the request path.
"""

from __future__ import annotations

import itertools
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

import orjson

from modelward.errors import ModelwardError, ProviderError, RequestError
from modelward.llm.types import StreamEnd
from modelward.redact import redact

if TYPE_CHECKING:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import Response

    from modelward.llm.config import LLMConfig
    from modelward.llm.gateway.state import GatewayState
    from modelward.llm.types import Endpoint
    from modelward.workspace import Workspace

__all__ = ["create_gateway_app"]

log = logging.getLogger("modelward.llm.gateway")

ROLES = ("system", "user", "assistant", "tool", "developer")
PASS_PARAMS = (
    "temperature",
    "top_p",
    "max_tokens",
    "stop",
    "seed",
    "presence_penalty",
    "frequency_penalty",
)


#: The gateway's input column: the prompt's sha256, never the prompt itself.
PROMPT_TYPES = {"in_prompt_hash": "string"}

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


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    from starlette.responses import Response

    return Response(orjson.dumps(body), status, headers, media_type="application/json")


def _error_body(exc: ModelwardError) -> dict[str, Any]:
    """The error as OpenAI clients read it, with every secret masked."""
    error: dict[str, Any] = dict(exc.to_dict()["error"])  # type: ignore[call-overload]
    error["message"] = redact(exc.message)
    error["type"] = exc.code  # what OpenAI clients read
    return {"error": error}


def _error(exc: ModelwardError) -> Response:
    if exc.status >= 500:  # a provider or storage failed: the cause goes to the log
        log.warning("%s", exc.message, exc_info=exc)
    return _json(_error_body(exc), exc.status)


def _tokens(text: str) -> int:
    return -(-len(text) // 4) if text else 0


def parse_body(raw: bytes) -> tuple[str, list[dict[str, Any]], dict[str, Any], bool]:
    """(model, messages, params, stream) or a 400 naming the field."""
    from modelward.errors import ConfigError
    from modelward.llm.endpoints import check_params

    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise RequestError("the request body is not JSON; send a chat completion object") from exc
    if not isinstance(body, dict):
        raise RequestError("the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model.strip():
        raise RequestError(
            "model is required: a route (route:factual) or a registered model", field="model"
        )
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages:
        raise RequestError("messages must be a non-empty list of {role, content}", field="messages")
    for index, message in enumerate(messages):
        if (
            not isinstance(message, dict)
            or message.get("role") not in ROLES
            or not isinstance(message.get("content"), str | list)
        ):
            raise RequestError(
                f"messages[{index}] needs a role ({', '.join(ROLES)}) and content",
                field=f"messages[{index}]",
            )
    stream = body.get("stream", False)
    if not isinstance(stream, bool):
        raise RequestError("stream must be true or false", field="stream")
    raw_params = {k: body[k] for k in PASS_PARAMS if body.get(k) is not None}
    if body.get("max_completion_tokens") is not None:
        raw_params["max_tokens"] = body["max_completion_tokens"]
    for name, value in raw_params.items():
        if isinstance(value, bool) or (name != "stop" and not isinstance(value, int | float)):
            raise RequestError(f"{name} must be a number", field=name)
    if isinstance(raw_params.get("stop"), list):
        raw_params["stop"] = raw_params["stop"][0] if raw_params["stop"] else None
        if raw_params["stop"] is None:
            raw_params.pop("stop")
    try:
        params = check_params(raw_params)
    except ConfigError as exc:
        raise RequestError(exc.message, field=exc.field) from exc
    return model.strip(), messages, params, stream


def _prompt(messages: list[dict[str, Any]]) -> str:
    for message in reversed(messages):
        if message.get("role") == "user":
            content = message.get("content")
            return content if isinstance(content, str) else orjson.dumps(content).decode()
    return ""


def create_gateway_app(
    ws: Workspace, *, config: LLMConfig | None = None, environment: str = "production"
) -> Starlette:
    """The gateway as a standalone ASGI app (mountable into the model server)."""
    from starlette.responses import Response, StreamingResponse
    from starlette.routing import Route

    from modelward.llm.cache import cache_key
    from modelward.llm.gateway.metrics import GatewayMetrics
    from modelward.llm.gateway.state import GatewayState

    state = GatewayState(ws, config=config, environment=environment)
    prefix = uuid.uuid4().hex[:12]  # request ids: a per-process prefix and a counter
    counter = itertools.count()
    metrics = GatewayMetrics()

    def record(
        request_id: str,
        endpoint: Endpoint,
        query_type: str,
        key: str,
        *,
        status: str,
        error: str | None,
        latency_ms: float,
        text: str | None,
        input_tokens: int,
        output_tokens: int,
        cost: float | None,
        cache_hit: bool,
        prompt: str,
    ) -> None:
        import hashlib

        name, version = str(endpoint.name), int(endpoint.version or 0)
        state.usage.add(
            key,
            name,
            version,
            error=status != "ok",
            cache_hit=cache_hit,
            input_tokens=input_tokens,
            output_tokens=output_tokens,
            cost=cost or 0.0,
        )
        if cost:
            state.spent(key, cost)
        metrics.observe(
            name,
            query_type,
            status,
            latency_ms,
            input_tokens,
            output_tokens,
            cost or 0.0,
            cache_hit,
        )
        if cost is not None and cost > state.policy.max_cost_per_query:
            metrics.over_cost_limit.labels(name).inc()
        state.predlog.log_prediction(
            name,
            {
                "request_id": request_id,
                "ts": None,  # now
                "version": version,
                "environment": state.environment,
                "status": status,
                "error": None if error is None else redact(error),
                "latency_ms": latency_ms,
                "prediction": text,
                "score": None,
                "proba": None,
                "in_prompt_hash": hashlib.sha256(prompt.encode()).hexdigest(),
                "query_type": query_type,
                "input_tokens": input_tokens,
                "output_tokens": output_tokens,
                "cost": cost,
                "cache_hit": cache_hit,
                "client": key,  # the API token's name ("-" anonymous), never the secret
            },
            PROMPT_TYPES,
        )

    def completion(
        request_id: str,
        ref: str,
        text: str,
        input_tokens: int,
        output_tokens: int,
        finish: str | None,
    ) -> dict[str, Any]:
        return {
            "id": request_id,
            "object": "chat.completion",
            "created": int(time.time()),
            "model": ref,
            "choices": [
                {
                    "index": 0,
                    "message": {"role": "assistant", "content": text},
                    "finish_reason": FINISH_REASONS.get(finish or "stop", "stop"),
                    "logprobs": None,
                }
            ],
            "usage": {
                "prompt_tokens": input_tokens,
                "completion_tokens": output_tokens,
                "total_tokens": input_tokens + output_tokens,
            },
        }

    def record_error(
        request_id: str,
        endpoint: Endpoint,
        query_type: str,
        key: str,
        exc: ProviderError,
        start: float,
        prompt: str,
    ) -> None:
        """Log a failed provider call (both the plain and the streaming path)."""
        record(
            request_id,
            endpoint,
            query_type,
            key,
            status="error",
            error=exc.message,
            latency_ms=(time.perf_counter() - start) * 1000,
            text=None,
            input_tokens=0,
            output_tokens=0,
            cost=None,
            cache_hit=False,
            prompt=prompt,
        )

    async def chat_completions(request: Request) -> Response:
        state.ensure_started()
        start = time.perf_counter()
        request_id = f"chatcmpl-{prefix}{next(counter):012x}"
        try:
            model, messages, params, stream = parse_body(await request.body())
            prompt = _prompt(messages)
            header = request.headers.get("x-query-type")
            query_type, refs = state.candidates(model, header or None, prompt)
            key = state.key_label(request.headers.get("authorization"))
            state.check_budget(key)
        except ModelwardError as exc:
            metrics.rejected.labels(exc.code).inc()
            return _error(exc)
        if stream:
            return StreamingResponse(
                stream_answer(request_id, refs, messages, params, query_type, key, prompt, start),
                media_type="text/event-stream",
                headers={"x-modelward-query-type": query_type},
            )
        last: ProviderError | None = None
        for attempt, ref in enumerate(refs):
            endpoint = state.endpoints[ref]
            rendered = endpoint.render(messages)
            merged = {**endpoint.params, **params}
            ckey = cache_key(endpoint.provider, endpoint.model, merged, rendered)
            hit = state.cache.get(ckey)
            if hit is not None:
                text, tin, tout, finish = hit
                latency = (time.perf_counter() - start) * 1000
                record(
                    request_id,
                    endpoint,
                    query_type,
                    key,
                    status="ok",
                    error=None,
                    latency_ms=latency,
                    text=text,
                    input_tokens=tin,
                    output_tokens=tout,
                    cost=0.0,
                    cache_hit=True,
                    prompt=prompt,
                )
                return _json(
                    completion(request_id, ref, text, tin, tout, finish),
                    headers={"x-modelward-cache": "hit", "x-modelward-query-type": query_type},
                )
            try:
                result = await state.fleet.provider(endpoint.provider).chat(
                    endpoint.model, rendered, merged
                )
            except ProviderError as exc:
                last = exc
                record_error(request_id, endpoint, query_type, key, exc, start, prompt)
                if attempt + 1 < len(refs):
                    metrics.fallbacks.labels(str(endpoint.name)).inc()
                continue
            except ModelwardError as exc:  # llm.yml or the environment is wrong: no retry helps
                metrics.rejected.labels(exc.code).inc()
                return _error(exc)
            cost = state.fleet.cost(endpoint, result.input_tokens, result.output_tokens)
            state.cache.put(
                ckey, (result.text, result.input_tokens, result.output_tokens, result.finish_reason)
            )
            latency = (time.perf_counter() - start) * 1000
            record(
                request_id,
                endpoint,
                query_type,
                key,
                status="ok",
                error=None,
                latency_ms=latency,
                text=result.text,
                input_tokens=result.input_tokens,
                output_tokens=result.output_tokens,
                cost=cost,
                cache_hit=False,
                prompt=prompt,
            )
            return _json(
                completion(
                    request_id,
                    ref,
                    result.text,
                    result.input_tokens,
                    result.output_tokens,
                    result.finish_reason,
                ),
                headers={
                    "x-modelward-cache": "miss",
                    "x-modelward-query-type": query_type,
                    "x-modelward-attempts": str(attempt + 1),
                },
            )
        assert last is not None
        error = type(last)(f"every model for {query_type!r} failed; last: {last.message}")
        return _error(error)

    async def stream_answer(
        request_id: str,
        refs: list[str],
        messages: list[dict[str, Any]],
        params: dict[str, Any],
        query_type: str,
        key: str,
        prompt: str,
        start: float,
    ) -> AsyncIterator[bytes]:
        created = int(time.time())

        def chunk(ref: str, delta: dict[str, Any], finish: str | None = None) -> bytes:
            body = {
                "id": request_id,
                "object": "chat.completion.chunk",
                "created": created,
                "model": ref,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}],
            }
            return b"data: " + orjson.dumps(body) + b"\n\n"

        last: ProviderError | None = None
        for ref in refs:
            endpoint = state.endpoints[ref]
            rendered = endpoint.render(messages)
            merged = {**endpoint.params, **params}
            ckey = cache_key(endpoint.provider, endpoint.model, merged, rendered)
            hit = state.cache.get(ckey)
            pieces: list[str] = []
            end = StreamEnd()
            started = False
            try:
                if hit is not None:
                    pieces.append(hit[0])
                    yield chunk(ref, {"role": "assistant", "content": hit[0]})
                    started = True
                else:
                    async for piece in state.fleet.provider(endpoint.provider).stream(
                        endpoint.model, rendered, merged
                    ):
                        if isinstance(piece, StreamEnd):
                            end = piece
                            continue
                        if not started:
                            yield chunk(ref, {"role": "assistant", "content": ""})
                            started = True
                        pieces.append(piece)
                        yield chunk(ref, {"content": piece})
            except ProviderError as exc:
                last = exc
                record_error(request_id, endpoint, query_type, key, exc, start, prompt)
                if started:  # the client has part of an answer: no silent switch
                    yield b"data: " + orjson.dumps(_error_body(exc)) + b"\n\n"
                    yield b"data: [DONE]\n\n"
                    return
                metrics.fallbacks.labels(str(endpoint.name)).inc()
                continue
            except ModelwardError as exc:  # llm.yml or the environment is wrong
                metrics.rejected.labels(exc.code).inc()
                yield b"data: " + orjson.dumps(_error_body(exc)) + b"\n\n"
                yield b"data: [DONE]\n\n"
                return
            text = "".join(pieces)
            if hit is not None:
                tin, tout, finish = hit[1], hit[2], hit[3]
            else:  # the provider's counts when it sent them, else an estimate
                tin = end.input_tokens
                if tin is None:
                    tin = _tokens(" ".join(str(m.get("content", "")) for m in rendered))
                tout = _tokens(text) if end.output_tokens is None else end.output_tokens
                finish = end.finish_reason
            cost = 0.0 if hit is not None else state.fleet.cost(endpoint, tin, tout)
            if hit is None:
                state.cache.put(ckey, (text, tin, tout, finish))
            yield chunk(ref, {}, FINISH_REASONS.get(finish or "stop", "stop"))
            yield b"data: [DONE]\n\n"
            latency = (time.perf_counter() - start) * 1000
            record(
                request_id,
                endpoint,
                query_type,
                key,
                status="ok",
                error=None,
                latency_ms=latency,
                text=text,
                input_tokens=tin,
                output_tokens=tout,
                cost=cost,
                cache_hit=hit is not None,
                prompt=prompt,
            )
            return
        message = f"every model for {query_type!r} failed; last: {last.message if last else '?'}"
        yield b"data: " + orjson.dumps({"error": {"code": "provider", "message": redact(message)}})
        yield b"\n\ndata: [DONE]\n\n"

    async def list_models(request: Request) -> Response:
        state.ensure_started()
        data = [
            {"id": f"route:{q}", "object": "model", "created": 0, "owned_by": "modelward"}
            for q in sorted(state.routes)
        ]
        data += [
            {"id": ref, "object": "model", "created": 0, "owned_by": e.provider}
            for ref, e in sorted(state.endpoints.items())
        ]
        return _json({"object": "list", "data": data})

    async def prometheus(request: Request) -> Response:
        body, content_type = metrics.render()
        return Response(body, media_type=content_type)

    async def healthz(request: Request) -> Response:
        return _json({"status": "ok", "routing_revision": state.revision})

    async def not_found(request: Request, exc: Exception) -> Response:
        return _json(
            {
                "error": {
                    "code": "not_found",
                    "type": "not_found",
                    "message": f"no endpoint {request.url.path}; the gateway "
                    "serves /v1/chat/completions and /v1/models",
                }
            },
            404,
        )

    async def not_allowed(request: Request, exc: Exception) -> Response:
        return _json(
            {
                "error": {
                    "code": "method_not_allowed",
                    "type": "method_not_allowed",
                    "message": f"{request.method} is not allowed on {request.url.path}",
                }
            },
            405,
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        # Mounted inside another app, lifespans do not run: call
        # ``app.state.gateway.close()`` on shutdown to flush usage and the log.
        try:
            yield
        finally:
            await state.fleet.aclose()
            state.close()

    app = _gateway_app_class()(
        routes=[
            Route("/v1/chat/completions", chat_completions, methods=["POST"]),
            Route("/v1/models", list_models, methods=["GET"]),
            Route("/metrics", prometheus, methods=["GET"]),
            Route("/healthz", healthz, methods=["GET"]),
        ],
        exception_handlers={404: not_found, 405: not_allowed},
        lifespan=lifespan,
    )
    app.state.gateway = state
    app.fast_path = chat_completions
    return app


def _gateway_app_class() -> type:
    from starlette.applications import Starlette
    from starlette.requests import Request

    class GatewayApp(Starlette):
        """Starlette, with ``POST /v1/chat/completions`` dispatched straight to its handler
        (routing and the middleware stack cost ~0.1 ms a request on the hot path)."""

        fast_path: Any = None

        async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
            if (
                scope["type"] == "http"
                and scope["path"] == "/v1/chat/completions"
                and scope["method"] == "POST"
                and self.fast_path is not None
            ):
                scope["app"] = self
                try:
                    response = await self.fast_path(Request(scope, receive))
                except Exception:  # noqa: BLE001 - a bug: one JSON 500, never a traceback
                    log.exception("gateway error")
                    response = _json(
                        {
                            "error": {
                                "code": "internal",
                                "type": "internal",
                                "message": "internal error; see the log",
                            }
                        },
                        500,
                    )
                await response(scope, receive, send)
                return
            await super().__call__(scope, receive, send)

    return GatewayApp


def gateway_state(app: Starlette) -> GatewayState:
    state: GatewayState = app.state.gateway
    return state
