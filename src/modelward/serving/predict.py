"""``POST /v1/models/{name}/predict``: the hot path.

Check the headers and the body against the serving version's input schema, run the
model (ONNX inline; a pipeline in a worker thread under ``serving.predict_timeout_s``),
log every row (answered, rejected or failed) and count it. Bad input is a 4xx naming the
field and is logged as ``rejected``; a model that raises is a 500 ``model_failed``
logged as ``error``.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections import Counter, OrderedDict, deque
from collections.abc import Sequence
from itertools import repeat
from typing import TYPE_CHECKING, Any

import orjson

from modelward.deploy.environments import ENVIRONMENTS
from modelward.errors import LogUnavailable, ModelFailed, ModelTimeout, SchemaError
from modelward.http.response import Response
from modelward.predlog.layout import PREDICTIONS
from modelward.serving.batcher import MicroBatcher
from modelward.serving.loglines import Encoded, json_lines, json_texts
from modelward.serving.payload import rows_of

if TYPE_CHECKING:
    from modelward.http.request import Request
    from modelward.predlog.writer import LogWriter
    from modelward.serving.metrics import ServerMetrics
    from modelward.serving.models import LoadedModel, Outputs
    from modelward.serving.state import ServingState

__all__ = ["RECENT", "Predictor"]

log = logging.getLogger("modelward.serving")

ENV_HEADER = b"x-modelward-environment"
#: request ids remembered (id -> model) for feedback without a log read
RECENT = 100_000


class Predictor:
    def __init__(
        self,
        state: ServingState,
        writer: LogWriter,
        metrics: ServerMetrics,
        recent: OrderedDict[str, str],
        *,
        default_env: str,
        timeout_s: float,
    ) -> None:
        self.state = state
        self.writer = writer
        self.metrics = metrics
        self.recent = recent
        self.default_env = default_env
        self.timeout_s = timeout_s

    async def predict(self, request: Request) -> Response:
        started = time.perf_counter()
        name = request.params["name"]
        if self.writer.problem:  # not ready: an answer could not be logged
            raise LogUnavailable(f"{self.writer.problem}; retry shortly")
        env, rid = self._headers(request)
        route = self.state.route(name, env)
        rows, single = rows_of(await request.json())
        rid = rid or uuid.uuid4().hex
        model = route.pick(rid)
        ids = [rid] if single else list(map(f"{rid}-".__add__, map(str, range(len(rows)))))
        token = request.token
        client = token.name if token else "-"
        try:
            values, flags = model.validator.check_rows(rows, single)
        except SchemaError as exc:
            self._log_failed(model, env, ids, "rejected", exc.message, client, started)
            raise
        outputs = await self._run_model(model, values, env, ids, client, started, rid, flags)
        self._log_answered(model, env, ids, values, flags, outputs, client, started)
        version = str(model.version)
        body = _answer(name, model.version, env, rid, ids, single, outputs, flags)
        headers = [(b"x-request-id", rid.encode()), (b"x-modelward-version", version.encode())]
        return Response(orjson.dumps(body), 200, headers)

    def _headers(self, request: Request) -> tuple[str, str | None]:
        """The environment and the caller's request id, checked."""
        env = self.default_env
        rid = None
        for key, value in request.raw_headers:
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
        return env, rid

    async def _run_model(
        self,
        model: LoadedModel,
        values: dict[str, list[Any]],
        env: str,
        ids: list[str],
        client: str,
        started: float,
        rid: str,
        flags: list[list[str]],
    ) -> Outputs:
        """The model's outputs. The ONNX path (microseconds) runs inline; a pipeline runs
        in a worker thread under ``serving.predict_timeout_s``, so a slow or stuck model
        never stalls the other requests, joined with concurrent requests to it
        (:mod:`modelward.serving.batcher`). A failure is logged and raised in the tree."""
        ref = f"{model.name}:{model.version}"
        limit = self.timeout_s
        try:
            if model.session is not None:
                return model.predict_columns(values)
            if model.batcher is None:
                model.batcher = MicroBatcher(model)
            began = time.monotonic()
            outputs = await asyncio.wait_for(model.batcher.predict(values), limit)
            if time.monotonic() - began > limit:
                # wait_for hands over an answer that arrived while the event loop was busy,
                # after the limit: late all the same, and the limit must not depend on load
                raise TimeoutError
            return outputs
        except TimeoutError as exc:
            why = f"timeout after {limit:g} s"
            self._log_failed(model, env, ids, "error", why, client, started)
            log.error(
                "model_timeout %s request %s: %s", ref, rid, why,
                extra={"model": model.name, "version": model.version, "request_id": rid},
            )  # fmt: skip
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
            log.error(
                "model_failed %s request %s: %s", ref, rid, cause, exc_info=exc,
                extra={"model": model.name, "version": model.version, "request_id": rid},
            )  # fmt: skip
            raise ModelFailed(
                f"{ref} failed on these inputs ({cause}; request {rid}); check the inputs, "
                f"or roll back with `modelward rollback {model.name} --env {env}`"
            ) from exc

    def _log_answered(
        self,
        model: LoadedModel,
        env: str,
        ids: list[str],
        values: dict[str, list[Any]],
        flags: list[list[str]],
        outputs: Outputs,
        client: str,
        started: float,
    ) -> None:
        """Log and count the answered rows: encoded column by column
        (:mod:`modelward.serving.loglines`), counted per label and per flagged field (not
        per row)."""
        latency = (time.perf_counter() - started) * 1000
        ts = time.time_ns() // 1000
        m = self.metrics
        name = model.name
        version = str(model.version)
        texts = list(map(str, outputs.labels))
        flagged = any(flags)
        flag_texts = [",".join(f) or None for f in flags] if flagged else [None] * len(ids)
        inputs = [_logged(col.kind, values[col.name]) for col in model.validator.columns]
        head = {
            "k": PREDICTIONS, "m": name, "ts": ts, "version": model.version,
            "environment": env, "status": "ok", "latency_ms": latency, "client": client,
        }  # fmt: skip
        columns: list[tuple[str, Sequence[Any]]] = [
            ("request_id", ids), ("prediction", texts), ("score", outputs.scores),
            ("proba", _proba_texts(outputs, len(ids))), ("flags", flag_texts),
            *zip(["in_" + n for n in model.validator.names], inputs, strict=True),
        ]  # fmt: skip
        lines = json_lines(head, columns)
        if lines is not None:
            self.writer.log_prediction_lines(name, lines, len(ids), model.types)
        else:  # a value JSON cannot carry as it is: row by row, the writer sets it aside
            keys = [key for key, _ in columns]
            same = {k: v for k, v in head.items() if k not in ("k", "m")}
            logged = [
                {**same, **dict(zip(keys, row, strict=True))}
                for row in zip(*(_decoded(v) for _, v in columns), strict=True)
            ]
            self.writer.log_predictions(name, logged, model.types)
        # a regression's values are not a label set: one series, not one per value
        counted = Counter(["value"] * len(ids) if outputs.regression else texts)
        for label, n in counted.items():
            m.child(m.predictions, name, version, label).inc(n)
        if flagged:
            for field, n in Counter(f for row in flags for f in row).items():
                m.child(m.flagged, name, field).inc(n)
        self._remember(ids, name)  # one shared string per model
        m.child(m.requests, name, version, "ok").inc()
        m.child(m.latency, name, version).observe(latency / 1000)

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

    def _remember(self, request_ids: list[str], model: str) -> None:
        recent = self.recent
        recent.update(zip(request_ids, repeat(model)))
        excess = len(recent) - RECENT
        if excess > 0:  # the oldest go
            deque(map(recent.popitem, repeat(False, excess)), maxlen=0)


def _proba_texts(outputs: Outputs, rows: int) -> list[Any]:
    """Each row's probabilities as the log stores them: JSON text (None without)."""
    matrix, keys = outputs.matrix, outputs.keys
    if outputs.proba is None:
        return [None] * rows
    if rows > 1 and matrix is not None and keys is not None and matrix.shape == (rows, len(keys)):
        return json_texts(keys, matrix)
    return [outputs.proba_json(i) for i in range(rows)]


def _decoded(values: Sequence[Any]) -> Sequence[Any]:
    """A column as plain values (an encoded one decoded)."""
    return [orjson.loads(v) for v in values] if isinstance(values, Encoded) else values


def _logged(kind: str, values: list[Any]) -> list[Any]:
    """An input's values as the log stores them (a boolean as ``true``/``false``)."""
    if kind != "boolean":
        return values
    return [v if v is None else str(v).lower() for v in values]


def _answer(
    name: str,
    version: int,
    env: str,
    rid: str,
    ids: list[str],
    single: bool,
    outputs: Outputs,
    flags: list[list[str]],
) -> dict[str, Any]:
    proba = outputs.proba
    common = {"model": name, "version": version, "environment": env, "request_id": rid}
    if single:
        body: dict[str, Any] = {
            **common,
            "prediction": outputs.labels[0],
            "probabilities": proba[0] if proba is not None else None,
            "score": outputs.scores[0],
        }
        if flags[0]:
            body["flags"] = flags[0]
        return body
    body = {
        **common, "request_ids": ids, "predictions": outputs.labels, "probabilities": proba,
        "scores": outputs.scores,
    }  # fmt: skip
    if any(flags):
        body["flags"] = flags
    return body
