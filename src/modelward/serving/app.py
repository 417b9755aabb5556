"""The server: a small raw-ASGI application (no framework on the hot path).

Routes: ``POST /v1/models/{name}/predict``, ``POST /v1/feedback``, ``GET /v1/models/{name}``,
``GET /healthz``, ``/readyz``, ``/metrics``, ``/openapi.json`` and ``/docs``. Every error
is one JSON shape, ``{"error": {"code", "message", "field"?}}``, with the status of its
class in the error tree; bad input is a 4xx, never a 500.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import OrderedDict
from typing import TYPE_CHECKING, Any

import orjson

from modelward.deploy.deployments import ENVIRONMENTS
from modelward.errors import (
    AuthError,
    InvalidJSON,
    LogUnavailable,
    MethodNotAllowed,
    ModelFailed,
    ModelTimeout,
    ModelwardError,
    NotFound,
    PayloadTooLarge,
    PermissionDenied,
    SchemaError,
)
from modelward.http.tokens import TokenInfo, find_token
from modelward.serving.feedback import Feedback
from modelward.serving.payload import feedback_items, rows_of, wide_numbers

if TYPE_CHECKING:
    from modelward.predlog.writer import LogWriter
    from modelward.serving.metrics import ServerMetrics
    from modelward.serving.models import LoadedModel, Outputs
    from modelward.serving.state import ServingState

__all__ = ["ServingApp"]

log = logging.getLogger("modelward.serving")

MAX_BODY = 8 * 1024 * 1024
ENV_HEADER = b"x-modelward-environment"
_JSON = [(b"content-type", b"application/json")]
_RECENT = 100_000
GATEWAY_PATHS = frozenset({"/v1/chat/completions", "/v1/models"})
_GET = ("GET", "HEAD")  # uvicorn sends no body for HEAD
_POST = ("POST",)
_GET_ONLY = frozenset({"/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"})


class ServingApp:
    def __init__(
        self,
        state: ServingState,
        writer: LogWriter,
        metrics: ServerMetrics,
        *,
        default_env: str = "production",
        on_ready: Any = None,
        gateway: Any = None,
        controller: Any = None,
        predict_timeout_s: float = 30.0,
    ) -> None:
        self.state = state
        self.predict_timeout_s = predict_timeout_s
        self.controller = controller  # the rollout controller thread (--rollout-controller)
        self.gateway = gateway  # the LLM gateway's ASGI app, when the workspace has llm.yml
        self.writer = writer
        self.metrics = metrics
        self.default_env = default_env
        self.on_ready = on_ready
        self.log_flushed = False  # set at shutdown: everything logged reached Parquet
        self.recent: OrderedDict[str, str] = OrderedDict()  # request id -> model
        self.feedback = Feedback(
            state,
            writer,
            self.recent,
            on_stored=lambda model: metrics.child(metrics.feedback, model).inc(),
            settle_s=2 * writer.flush_interval,  # another process's rows reach Parquet
        )

    # -- ASGI -----------------------------------------------------------------------------

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "http":
            await self._http(scope, receive, send)
        elif kind == "lifespan":
            await self._lifespan(receive, send)

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    self.writer.start()
                    await asyncio.to_thread(self.state.start)
                except Exception as exc:  # noqa: BLE001 - report and refuse to start
                    text = getattr(exc, "message", None) or repr(exc)
                    log.error("startup failed: %s", text)
                    await send({"type": "lifespan.startup.failed", "message": text})
                    return
                import gc
                import sys

                gc.collect()
                gc.freeze()  # startup objects never need scanning again: shorter GC pauses
                sys.setswitchinterval(0.001)  # background threads hand the GIL back sooner
                await send({"type": "lifespan.startup.complete"})
                if self.controller is not None:
                    self.controller.start()
                if self.on_ready is not None:
                    self.on_ready()
            elif message["type"] == "lifespan.shutdown":
                if self.controller is not None:
                    await asyncio.to_thread(self.controller.stop)
                self.state.stop()
                if self.gateway is not None:  # mounted apps get no lifespan of their own
                    gateway = self.gateway.state.gateway
                    await gateway.fleet.aclose()
                    await asyncio.to_thread(gateway.close)
                await asyncio.to_thread(self.feedback.close)  # pending labels, then the log
                self.log_flushed = await asyncio.to_thread(self.writer.close)
                _log_stopped(self.writer)
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _http(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        path: str = scope["path"]
        method: str = scope["method"]
        try:
            if self.gateway is not None and path in GATEWAY_PATHS:
                self._auth(scope, "predict")  # the server's tokens guard the gateway too
                await self.gateway(scope, receive, send)
                return
            if path in _GET_ONLY:
                _method(method, _GET)
            if path.startswith("/v1/models/"):
                rest = path[len("/v1/models/") :]
                if rest.endswith("/predict") and rest.count("/") == 1:
                    _method(method, _POST)
                    await self._predict(rest[: -len("/predict")], scope, receive, send)
                    return
                if "/" not in rest and rest:
                    _method(method, _GET)
                    await self._model_info(rest, scope, send)
                    return
            elif path == "/v1/feedback":
                _method(method, _POST)
                await self._feedback(scope, receive, send)
                return
            elif path.startswith("/v1/feedback/") and path.count("/") == 3:
                _method(method, _GET)
                await self._feedback_ticket(path[len("/v1/feedback/") :], scope, send)
                return
            elif path == "/healthz":
                await _respond(send, 200, {"status": "ok"})
                return
            elif path == "/readyz":
                await self._ready(send)
                return
            elif path == "/metrics":
                self._auth(scope, "admin")
                body, ctype = self.metrics.render()
                await _raw(send, 200, body, [(b"content-type", ctype.encode())])
                return
            elif path == "/openapi.json":
                from modelward.serving.openapi import openapi

                await _respond(send, 200, openapi())
                return
            elif path == "/docs":
                await self._docs(send)
                return
            raise NotFound(
                f"no route {path}; see /docs for the API (POST /v1/models/NAME/predict)",
                field="path",
            )
        except ModelwardError as exc:
            self.metrics.child(self.metrics.http_errors, exc.code).inc()
            if exc.status >= 500:  # not the client's doing: the cause goes to the log
                log.warning("%s", exc.message, exc_info=exc, extra={"path": path})
            headers = [*_JSON, *getattr(exc, "headers", ())]  # Allow on a 405, Retry-After on a 503
            await _raw(send, exc.status, orjson.dumps(exc.to_dict()), headers)
        except Exception:  # noqa: BLE001 - a bug: log it, answer 500 in the one shape
            log.exception("internal error", extra={"path": path})
            self.metrics.child(self.metrics.http_errors, "internal").inc()
            error = {"error": {"code": "internal", "message": "internal server error; see logs"}}
            await _respond(send, 500, error)

    # -- auth -----------------------------------------------------------------------------

    def _auth(self, scope: dict[str, Any], needed: str) -> TokenInfo | None:
        if not self.state.auth_on:
            return None
        presented = None
        for key, value in scope["headers"]:
            if key == b"authorization":
                kind, _, token = value.decode("latin-1").partition(" ")
                if kind.lower() == "bearer" and token.strip():
                    presented = token.strip()
                break
        if presented is None:
            raise AuthError(
                "this server needs an API token: send 'Authorization: Bearer <token>' "
                "(create one with `modelward tokens create NAME`)"
            )
        token = find_token(self.state.tokens, presented)
        if token is None:
            raise AuthError("the API token is unknown or revoked; ask for a new one")
        if not token.allows(needed):
            raise PermissionDenied(
                f"token {token.name!r} lacks the {needed!r} scope (it has "
                f"{', '.join(token.scopes)}); create a token with --scope {needed}"
            )
        return token

    # -- predict --------------------------------------------------------------------------

    async def _predict(self, name: str, scope: dict[str, Any], receive: Any, send: Any) -> None:
        started = time.perf_counter()
        token = self._auth(scope, "predict")
        if self.writer.problem:  # not ready: an answer could not be logged
            raise LogUnavailable(f"{self.writer.problem}; retry shortly")
        env = self.default_env
        rid = None
        for key, value in scope["headers"]:
            if key == ENV_HEADER:
                env = value.decode("latin-1")
            elif key == b"x-request-id":
                rid = value.decode("latin-1")
        if rid is not None and not (0 < len(rid) <= 128 and rid.isprintable()):
            raise SchemaError(
                "X-Request-Id must be 1-128 printable characters", field="x-request-id"
            )
        if env not in ENVIRONMENTS:
            raise SchemaError(
                f"X-Modelward-Environment {env!r} is not an environment; send "
                f"{' or '.join(ENVIRONMENTS)}",
                field="x-modelward-environment",
            )
        route = self.state.route(name, env)
        payload = _loads(await _body(receive))
        rows, single = rows_of(payload)
        rid = rid or uuid.uuid4().hex
        model = route.pick(rid)
        ids = [rid] if single else [f"{rid}-{i}" for i in range(len(rows))]
        client = token.name if token else "-"
        validator = model.validator
        values = []
        flags = []
        try:
            for i, row in enumerate(rows):
                checked, flagged = validator.check(row, "inputs" if single else f"inputs[{i}]")
                values.append(checked)
                flags.append(flagged)
        except SchemaError as exc:
            self._log_failed(model, env, ids, "rejected", exc.message, client, started)
            raise
        outputs = await self._run_model(model, values, env, ids, client, started, rid, flags)
        latency = (time.perf_counter() - started) * 1000
        ts = time.time_ns() // 1000
        m = self.metrics
        version = str(model.version)
        types = model.types
        names = validator.names
        proba = outputs.proba
        logged = []
        for i, row_id in enumerate(ids):
            label = outputs.labels[i]
            text = str(label)
            record = {
                "request_id": row_id,
                "ts": ts,
                "version": model.version,
                "environment": env,
                "status": "ok",
                "latency_ms": latency,
                "prediction": text,
                "score": outputs.scores[i],
                "proba": outputs.proba_json(i),
                "client": client,
                "flags": ",".join(flags[i]) or None,
            }
            for col, value in zip(names, values[i], strict=True):
                record["in_" + col] = value if not isinstance(value, bool) else str(value).lower()
            logged.append(record)
            m.child(m.predictions, name, version, text).inc()
            for field in flags[i]:
                m.child(m.flagged, name, field).inc()
            self._remember(row_id, model.name)  # one shared string per model
        self.writer.log_predictions(name, logged, types)
        m.child(m.requests, name, version, "ok").inc()
        m.child(m.latency, name, version).observe(latency / 1000)
        common = {"model": name, "version": model.version, "environment": env}
        if single:
            body: dict[str, Any] = {
                **common,
                "request_id": rid,
                "prediction": outputs.labels[0],
                "probabilities": proba[0] if proba is not None else None,
                "score": outputs.scores[0],
            }
            if flags[0]:
                body["flags"] = flags[0]
        else:
            body = {
                **common,
                "request_id": rid,
                "request_ids": ids,
                "predictions": outputs.labels,
                "probabilities": proba,
            }
            if any(flags):
                body["flags"] = flags
        headers = [
            *_JSON,
            (b"x-request-id", rid.encode()),
            (b"x-modelward-version", version.encode()),
        ]
        await _raw(send, 200, orjson.dumps(body), headers)

    async def _run_model(
        self,
        model: LoadedModel,
        values: list[list[Any]],
        env: str,
        ids: list[str],
        client: str,
        started: float,
        rid: str,
        flags: list[list[str]],
    ) -> Outputs:
        """The model's outputs. The ONNX path (microseconds) runs inline; a pipeline runs
        in a worker thread under ``serving.predict_timeout_s``, so a slow or stuck model
        never stalls the other requests. A failure is logged and answered in one shape."""
        ref = f"{model.name}:{model.version}"
        limit = self.predict_timeout_s
        try:
            if model.session is not None:
                return model.predict(values)
            return await asyncio.wait_for(asyncio.to_thread(model.predict, values), limit)
        except TimeoutError as exc:
            why = f"timeout after {limit:g} s"
            self._log_failed(model, env, ids, "error", why, client, started)
            raise ModelTimeout(
                f"{ref} gave no answer within {limit:g} s (request {rid}); raise "
                "serving.predict_timeout_s in policy.yml or send fewer rows per request"
            ) from exc
        except Exception as exc:
            text = str(exc).strip().splitlines()
            cause = f"{type(exc).__name__}: {text[0][:200]}" if text else type(exc).__name__
            outside = sorted({field for row in flags for field in row})
            if outside:  # the inputs, not the model: values far beyond what it was fitted on
                self._log_failed(model, env, ids, "rejected", repr(exc)[:500], client, started)
                raise SchemaError(
                    f"{ref} cannot compute on {', '.join(outside)} outside its training range "
                    f"({cause}); send values within the ranges `modelward versions show "
                    f"{model.name} {model.version}` lists",
                    field=f"inputs.{outside[0]}",
                ) from exc
            self._log_failed(model, env, ids, "error", repr(exc)[:500], client, started)
            raise ModelFailed(
                f"{ref} failed on these inputs ({cause}; request {rid}); check the inputs, "
                f"or roll back with `modelward rollback {model.name} --env {env}`"
            ) from exc

    def _log_failed(
        self,
        model: LoadedModel,
        env: str,
        ids: list[str],
        status: str,
        error: str,
        client: str,
        started: float,
    ) -> None:
        latency = (time.perf_counter() - started) * 1000
        ts = time.time_ns() // 1000
        rows = [
            {
                "request_id": row_id,
                "ts": ts,
                "version": model.version,
                "environment": env,
                "status": status,
                "error": error,
                "latency_ms": latency,
                "client": client,
            }
            for row_id in ids
        ]
        self.writer.log_predictions(model.name, rows, model.types)
        self.metrics.child(self.metrics.requests, model.name, str(model.version), status).inc()

    def _remember(self, request_id: str, model: str) -> None:
        recent = self.recent
        recent[request_id] = model
        if len(recent) > _RECENT:
            recent.popitem(last=False)

    # -- feedback -------------------------------------------------------------------------

    async def _feedback(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        """Labels for ids known in memory are stored now; others go to the resolver (202)."""
        self._auth(scope, "feedback")
        items, single = feedback_items(_loads(await _body(receive)))
        status, body, headers = self.feedback.submit(items, single)
        await _raw(send, status, orjson.dumps(body), [*_JSON, *headers])

    async def _feedback_ticket(self, ticket: str, scope: dict[str, Any], send: Any) -> None:
        self._auth(scope, "feedback")
        await _respond(send, 200, self.feedback.status(ticket))

    # -- the rest -------------------------------------------------------------------------

    async def _model_info(self, name: str, scope: dict[str, Any], send: Any) -> None:
        self._auth(scope, "predict")
        routes = [r for (model, _), r in self.state.routes.items() if model == name]
        if not routes:
            raise NotFound(f"model {name!r} is not deployed on this server", field="name")
        body = {
            "model": name,
            "deployments": [
                {
                    "environment": r.environment,
                    "revision": r.revision,
                    "targets": [{"version": v, "weight": w} for v, w in r.targets],
                    "versions": {
                        str(v): {
                            "task": m.task,
                            "path": m.path,
                            "inputs": [
                                {"name": c.name, "kind": c.kind, "nullable": c.nullable}
                                for c in m.validator.columns
                            ],
                        }
                        for v, m in r.models.items()
                    },
                }
                for r in routes
            ],
        }
        await _respond(send, 200, body)

    async def _ready(self, send: Any) -> None:
        state = self.state
        routes = [
            {
                "model": r.model,
                "environment": r.environment,
                "revision": r.revision,
                "targets": [[v, w] for v, w in r.targets],
            }
            for r in state.routes.values()
        ]
        failures = [
            {"model": model, "environment": env, "error": error}
            for (model, env), error in state.failures.items()
        ]
        reason = self._unready(failures)
        ready = not reason
        body = {
            "status": "ready" if ready else "not ready",
            "db": state.db_ok,
            "routes": routes,
            "failures": failures,
            "log": {"queued_rows": self.writer.queued, "problem": self.writer.problem},
        }
        if not ready:
            body["reason"] = reason
        await _respond(send, 200 if ready else 503, body)

    def _unready(self, failures: list[dict[str, str]]) -> str:
        """Why this server is not ready ("" when it is)."""
        state = self.state
        reasons = []
        if not state.db_ok:
            reasons.append(state.db_error or "the metadata database has not answered yet")
        elif not state.loaded:
            reasons.append("the deployments are not loaded yet")
        reasons += [
            f"cannot load {f['model']} for {f['environment']}: {f['error']}" for f in failures
        ]
        if self.writer.problem:
            reasons.append(self.writer.problem)
        return "; ".join(reasons)

    async def _docs(self, send: Any) -> None:
        from fastapi.openapi.docs import get_swagger_ui_html

        page = get_swagger_ui_html(openapi_url="/openapi.json", title="modelward serve")
        await _raw(send, 200, bytes(page.body), [(b"content-type", b"text/html; charset=utf-8")])


def _method(method: str, allowed: tuple[str, ...]) -> None:
    if method not in allowed:
        raise MethodNotAllowed(
            f"use {', '.join(allowed)} for this route, not {method}", allow=allowed
        )


def _loads(body: bytes) -> Any:
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        if "is infinity" in str(exc):  # a number beyond float64: a 422 naming its field
            return wide_numbers(body)
        raise InvalidJSON(
            f"the body is not valid JSON ({exc.args[0] if exc.args else exc}); send a JSON object",
            field="body",
        ) from exc


async def _body(receive: Any) -> bytes:
    chunks = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > MAX_BODY:
            raise PayloadTooLarge(
                f"the body is over {MAX_BODY // (1024 * 1024)} MiB; send fewer rows per request",
                field="body",
            )
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


async def _respond(send: Any, status: int, body: Any) -> None:
    await _raw(send, status, orjson.dumps(body), _JSON)


async def _raw(send: Any, status: int, body: bytes, headers: list[tuple[bytes, bytes]]) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [*headers, (b"content-length", str(len(body)).encode())],
        }
    )
    await send({"type": "http.response.body", "body": body})


def _log_stopped(writer: LogWriter) -> None:
    """The shutdown line: "flushed" only when everything logged reached Parquet."""
    counts = {"rows_written": writer.written_rows, "dropped": writer.dropped}
    if writer.flushed:
        log.info("stopped; prediction log flushed", extra=counts)
        return
    log.error(
        "stopped; prediction log NOT flushed: %d rows stay in the write-ahead folder %s and "
        "are published by the next start",
        writer.queued,
        writer.wal_dir,
        extra={**counts, "queued_rows": writer.queued},
    )
