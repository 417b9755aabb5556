"""The fake providers' ASGI app (routes on the HTTP edge) and a real uvicorn server on
127.0.0.1 for it."""

from __future__ import annotations

import asyncio
import socket
import threading
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from modelward.http.app import App, Group
from modelward.http.response import Response, StreamingResponse
from modelward.http.router import Route
from modelward.llm.fake.behaviour import FakeBehaviour, FakeModel, load_behaviour, tokens

if TYPE_CHECKING:
    from modelward.http.request import Request

__all__ = ["FakeServer", "create_fake_app"]


def _json(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    pairs = [(k.encode(), v.encode()) for k, v in (headers or {}).items()]
    return Response(orjson.dumps(body), status, pairs)


def _text_of(content: Any) -> str:
    if isinstance(content, str):
        return content
    if isinstance(content, list):  # content blocks / parts
        return " ".join(str(p.get("text", "")) for p in content if isinstance(p, dict))
    return ""


def _words(text: str) -> list[str]:
    parts = text.split(" ")
    return [p + (" " if i < len(parts) - 1 else "") for i, p in enumerate(parts)]


def create_fake_app(behaviour: FakeBehaviour | None = None) -> App:
    fake = behaviour or FakeBehaviour()

    def echoed(request: Request, message: str) -> str:
        """``message``, quoting the call's credential when the behaviour says to (as some
        providers do: "Incorrect API key provided: Bearer sk-…")."""
        if not fake.echo_key:
            return message
        for header in ("authorization", "x-api-key"):
            if request.headers.get(header):
                return f"{message}: {header}: {request.headers[header]}"
        return message

    def auth_error(request: Request, protocol: str) -> Response | None:
        if fake.api_key is None:
            return None
        given = request.headers.get("x-api-key") or request.headers.get(
            "authorization", ""
        ).removeprefix("Bearer ")
        if given == fake.api_key:
            return None
        if protocol == "anthropic":
            body = {
                "type": "error",
                "error": {
                    "type": "authentication_error",
                    "message": echoed(request, "invalid x-api-key"),
                },
            }
        else:
            body = {
                "error": {
                    "message": echoed(request, "Incorrect API key provided"),
                    "type": "invalid_request_error",
                    "code": "invalid_api_key",
                }
            }
        return _json(body, 401)

    async def prepare(
        request: Request, protocol: str, model_id: str | None = None
    ) -> tuple[dict[str, Any], FakeModel, str] | Response:
        denied = auth_error(request, protocol)
        if denied is not None:
            return denied
        try:
            body = orjson.loads(await request.body())
        except ValueError:
            return _json(
                {"error": {"message": "body is not JSON", "type": "invalid_request_error"}}, 400
            )
        if not isinstance(body, dict):
            return _json(
                {"error": {"message": "body must be an object", "type": "invalid_request_error"}},
                400,
            )
        model_id = model_id or str(body.get("model", ""))
        spec = fake.model(model_id)
        if spec is None:
            message = echoed(request, f"The model `{model_id}` does not exist")
            if protocol == "anthropic":
                return _json(
                    {"type": "error", "error": {"type": "not_found_error", "message": message}}, 404
                )
            return _json(
                {
                    "error": {
                        "message": message,
                        "type": "invalid_request_error",
                        "code": "model_not_found",
                    }
                },
                404,
            )
        call = fake.count_call(model_id)
        if call <= spec.fail_first:
            headers = {"retry-after": f"{spec.retry_after_s:g}"}
            if protocol == "anthropic":
                return _json(
                    {
                        "type": "error",
                        "error": {"type": "rate_limit_error", "message": "rate limited"},
                    },
                    429,
                    headers,
                )
            return _json(
                {
                    "error": {
                        "message": "Rate limit reached",
                        "type": "requests",
                        "code": "rate_limit_exceeded",
                    }
                },
                429,
                headers,
            )
        if spec.latency_ms:
            await asyncio.sleep(spec.latency_ms / 1000)
        if protocol == "hf":
            prompt = str(body.get("inputs", ""))
        else:
            messages = body.get("messages") or []
            users = [m for m in messages if isinstance(m, dict) and m.get("role") == "user"]
            prompt = _text_of(users[-1].get("content")) if users else ""
            body["_all"] = " ".join(
                _text_of(m.get("content")) for m in messages if isinstance(m, dict)
            )
            if protocol == "anthropic" and body.get("system"):
                body["_all"] += " " + _text_of(body["system"])
        options = body.get("options") or body.get("parameters") or {}
        temperature = body.get(
            "temperature", options.get("temperature", 0.0) if isinstance(options, dict) else 0.0
        )
        try:
            temperature = float(temperature or 0.0)
        except (TypeError, ValueError):
            temperature = 0.0
        text, failed = fake.answer(model_id, prompt, temperature)
        if failed:
            message = echoed(request, "The server had an error")
            return _json({"error": {"message": message, "type": "server_error"}}, 500)
        body["_prompt_tokens"] = tokens(body.get("_all", prompt))
        return body, spec, text

    # -- OpenAI ---------------------------------------------------------------------------

    async def openai_chat(request: Request) -> Response:
        prepared = await prepare(request, "openai")
        if not isinstance(prepared, tuple):
            return prepared
        body, _, text = prepared
        model = body["model"]
        max_tokens = body.get("max_tokens")
        if isinstance(max_tokens, int) and tokens(text) > max_tokens:
            text, finish = text[: max_tokens * 4], "length"
        else:
            finish = "stop"
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:24]}", int(time.time())
        usage = {
            "prompt_tokens": body["_prompt_tokens"],
            "completion_tokens": tokens(text),
            "total_tokens": body["_prompt_tokens"] + tokens(text),
        }
        if body.get("stream"):
            include_usage = bool((body.get("stream_options") or {}).get("include_usage"))

            async def chunks() -> AsyncIterator[bytes]:
                base = {
                    "id": ident,
                    "object": "chat.completion.chunk",
                    "created": created,
                    "model": model,
                }
                first = {
                    "index": 0,
                    "delta": {"role": "assistant", "content": ""},
                    "finish_reason": None,
                }
                yield b"data: " + orjson.dumps({**base, "choices": [first]}) + b"\n\n"
                for word in _words(text):
                    choice = {"index": 0, "delta": {"content": word}, "finish_reason": None}
                    yield b"data: " + orjson.dumps({**base, "choices": [choice]}) + b"\n\n"
                last = {"index": 0, "delta": {}, "finish_reason": finish}
                yield b"data: " + orjson.dumps({**base, "choices": [last]}) + b"\n\n"
                if include_usage:
                    yield (
                        b"data: " + orjson.dumps({**base, "choices": [], "usage": usage}) + b"\n\n"
                    )
                yield b"data: [DONE]\n\n"

            return StreamingResponse(chunks(), content_type=b"text/event-stream")
        return _json(
            {
                "id": ident,
                "object": "chat.completion",
                "created": created,
                "model": model,
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": text},
                        "finish_reason": finish,
                        "logprobs": None,
                    }
                ],
                "usage": usage,
            }
        )

    async def openai_models(request: Request) -> Response:
        denied = auth_error(request, "openai")
        if denied is not None:
            return denied
        data = [{"id": m, "object": "model", "created": 0, "owned_by": "fake"} for m in fake.models]
        return _json({"object": "list", "data": data})

    # -- Anthropic ------------------------------------------------------------------------

    async def anthropic_messages(request: Request) -> Response:
        if not request.headers.get("anthropic-version"):
            return _json(
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "message": "anthropic-version header is required",
                    },
                },
                400,
            )
        prepared = await prepare(request, "anthropic")
        if not isinstance(prepared, tuple):
            return prepared
        body, _, text = prepared
        if not isinstance(body.get("max_tokens"), int):
            return _json(
                {
                    "type": "error",
                    "error": {
                        "type": "invalid_request_error",
                        "message": "max_tokens: Field required",
                    },
                },
                400,
            )
        model, ident = body["model"], f"msg_{uuid.uuid4().hex[:24]}"
        stop = "end_turn"
        if tokens(text) > body["max_tokens"]:
            text, stop = text[: body["max_tokens"] * 4], "max_tokens"
        usage = {"input_tokens": body["_prompt_tokens"], "output_tokens": tokens(text)}
        message = {
            "id": ident,
            "type": "message",
            "role": "assistant",
            "model": model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": stop,
            "stop_sequence": None,
            "usage": usage,
        }
        if body.get("stream"):

            def event(kind: str, data: dict[str, Any]) -> bytes:
                return (
                    f"event: {kind}\ndata: ".encode()
                    + orjson.dumps({"type": kind, **data})
                    + b"\n\n"
                )

            async def events() -> AsyncIterator[bytes]:
                start = {
                    **message,
                    "content": [],
                    "stop_reason": None,
                    "usage": {"input_tokens": usage["input_tokens"], "output_tokens": 1},
                }
                yield event("message_start", {"message": start})
                yield event(
                    "content_block_start",
                    {"index": 0, "content_block": {"type": "text", "text": ""}},
                )
                for word in _words(text):
                    yield event(
                        "content_block_delta",
                        {"index": 0, "delta": {"type": "text_delta", "text": word}},
                    )
                yield event("content_block_stop", {"index": 0})
                yield event(
                    "message_delta",
                    {
                        "delta": {"stop_reason": stop, "stop_sequence": None},
                        "usage": {"output_tokens": usage["output_tokens"]},
                    },
                )
                yield event("message_stop", {})

            return StreamingResponse(events(), content_type=b"text/event-stream")
        return _json(message)

    async def anthropic_models(request: Request) -> Response:
        denied = auth_error(request, "anthropic")
        if denied is not None:
            return denied
        data = [
            {"type": "model", "id": m, "display_name": m, "created_at": "2025-01-01T00:00:00Z"}
            for m in fake.models
        ]
        first, last = (data[0]["id"], data[-1]["id"]) if data else (None, None)
        return _json({"data": data, "has_more": False, "first_id": first, "last_id": last})

    # -- Ollama ---------------------------------------------------------------------------

    async def ollama_chat(request: Request) -> Response:
        prepared = await prepare(request, "ollama")
        if not isinstance(prepared, tuple):
            return prepared
        body, _, text = prepared
        model = body["model"]
        now = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
        final = {
            "model": model,
            "created_at": now,
            "message": {"role": "assistant", "content": ""},
            "done": True,
            "done_reason": "stop",
            "prompt_eval_count": body["_prompt_tokens"],
            "eval_count": tokens(text),
        }
        if body.get("stream", True):

            async def lines() -> AsyncIterator[bytes]:
                for word in _words(text):
                    yield (
                        orjson.dumps(
                            {
                                "model": model,
                                "created_at": now,
                                "done": False,
                                "message": {"role": "assistant", "content": word},
                            }
                        )
                        + b"\n"
                    )
                yield orjson.dumps(final) + b"\n"

            return StreamingResponse(lines(), content_type=b"application/x-ndjson")
        return _json({**final, "message": {"role": "assistant", "content": text}})

    async def ollama_tags(request: Request) -> Response:
        return _json({"models": [{"name": m, "model": m, "size": 0} for m in fake.models]})

    # -- Hugging Face ---------------------------------------------------------------------

    async def hf_generate(request: Request) -> Response:
        model_id = request.params["model"]
        prepared = await prepare(request, "hf", model_id)
        if not isinstance(prepared, tuple):
            return prepared
        body, _, text = prepared
        if body.get("stream"):

            async def events() -> AsyncIterator[bytes]:
                for i, word in enumerate(_words(text)):
                    yield (
                        b"data: "
                        + orjson.dumps(
                            {
                                "token": {"id": i, "text": word, "special": False},
                                "generated_text": None,
                            }
                        )
                        + b"\n\n"
                    )
                yield (
                    b"data: "
                    + orjson.dumps(
                        {
                            "token": {"id": -1, "text": "</s>", "special": True},
                            "generated_text": text,
                            "details": {
                                "finish_reason": "eos_token",
                                "generated_tokens": tokens(text),
                            },
                        }
                    )
                    + b"\n\n"
                )

            return StreamingResponse(events(), content_type=b"text/event-stream")
        return _json([{"generated_text": text}])

    async def hf_status(request: Request) -> Response:
        denied = auth_error(request, "hf")
        if denied is not None:
            return denied
        model_id = request.params["model"]
        if model_id not in fake.models:
            return _json({"error": f"Model {model_id} does not exist"}, 404)
        return _json({"loaded": True, "state": "Loadable", "compute_type": "cpu"})

    routes = [
        Route("POST", "/v1/chat/completions", openai_chat),
        Route("GET", "/v1/models", openai_models),
        Route("POST", "/v1/messages", anthropic_messages),
        Route("POST", "/anthropic/v1/messages", anthropic_messages),
        Route("GET", "/anthropic/v1/models", anthropic_models),
        Route("POST", "/api/chat", ollama_chat),
        Route("GET", "/api/tags", ollama_tags),
        Route("POST", "/hf/models/{model:path}", hf_generate),
        Route("GET", "/hf/models/{model:path}", hf_status),
    ]
    app = App([Group(routes)])
    app.state.behaviour = fake
    return app


class FakeServer:
    """The fake providers on a real uvicorn server at 127.0.0.1 (port 0 = any free port).

    Base URLs: ``openai_url`` (``…/v1``), ``anthropic_url``, ``ollama_url``, ``hf_url``.
    A connection idle for ``keep_alive_s`` is closed by the server (uvicorn's default, 5 s).
    """

    def __init__(
        self, behaviour: FakeBehaviour | None = None, *, port: int = 0, keep_alive_s: float = 5
    ) -> None:
        self.behaviour = behaviour or FakeBehaviour()
        self._port = port
        self._keep_alive_s = keep_alive_s
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.port = 0

    @classmethod
    def from_files(
        cls, config: str | Path | None = None, *, answers: str | Path | None = None, port: int = 0
    ) -> FakeServer:
        """``modelward llm fake-server``: the behaviour from a YAML file (models, answers),
        also knowing the answers of an evaluation dataset (JSONL)."""
        behaviour = load_behaviour(config)
        if answers is not None:
            behaviour.add_answers_from(answers)
        return cls(behaviour, port=port)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def openai_url(self) -> str:
        return f"{self.url}/v1"

    @property
    def anthropic_url(self) -> str:
        return f"{self.url}/anthropic"

    @property
    def ollama_url(self) -> str:
        return self.url

    @property
    def hf_url(self) -> str:
        return f"{self.url}/hf"

    def start(self) -> FakeServer:
        import uvicorn

        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", self._port))
        self.port = sock.getsockname()[1]
        config = uvicorn.Config(
            create_fake_app(self.behaviour),
            log_level="warning",
            access_log=False,
            lifespan="off",
            timeout_keep_alive=max(1, round(self._keep_alive_s)),  # uvicorn takes whole s
        )
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(
            target=self._server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self._thread.start()
        deadline = time.monotonic() + 10
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError("the fake provider server did not start")
            time.sleep(0.01)
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> FakeServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()
