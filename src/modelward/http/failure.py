"""The one mapping from the error tree to HTTP answers, for every route of every group.

Every error is ``{"error": {"code", "type", "message", "field"?}}`` (``type`` repeats the
code: it is what OpenAI clients read) with the status and headers of its class in
:mod:`modelward.errors` (``Allow`` on a 405, ``Retry-After`` on a 503). The message is one
line with every secret masked. A 5xx is not the caller's doing: when it was raised from a
cause (a model's exception, a provider's or storage's error) the chain goes to the log. A
5xx without one answers a state the process reports once where it finds it (the database
watcher, the log writer, ``/readyz``), so an outage is not one log line per request;
``modelward_http_errors_total`` counts them all. Anything else raised is a bug: a 500
``internal`` whose traceback is logged and never sent.
"""

from __future__ import annotations

import logging

import orjson

from modelward.errors import ModelwardError
from modelward.http.response import Response
from modelward.redact import redact

__all__ = ["INTERNAL", "bug", "error_body", "failure"]

log = logging.getLogger("modelward.http")

INTERNAL = "internal"


def error_body(code: str, message: str, field: str | None = None) -> bytes:
    error = {"code": code, "type": code, "message": redact(message)}
    if field is not None:
        error["field"] = field
    return orjson.dumps({"error": error})


def failure(exc: ModelwardError, path: str) -> Response:
    """The answer to ``exc``; a 5xx's cause is logged (a 4xx is the caller's to fix)."""
    if exc.status >= 500 and exc.__cause__ is not None:
        log.warning("%s", exc.message, exc_info=exc, extra={"path": path})
    return Response(error_body(exc.code, exc.message, exc.field), exc.status, exc.headers)


def bug(path: str) -> Response:
    """The answer to an exception outside the tree (call from its ``except`` block)."""
    log.exception("internal error", extra={"path": path})
    return Response(error_body(INTERNAL, "internal error; see the log"), 500)
