"""The HTTP edge: one small layer every modelward HTTP process runs on.

- :mod:`~modelward.http.app`: :class:`App` (ASGI, lifespan) and :class:`Group`, a set of
  routes with what they need started and stopped;
- :mod:`~modelward.http.router`: :class:`Route` (method, path pattern, handler, token
  scope, OpenAPI operation) and the router (404, 405 with ``Allow``, ``HEAD`` for ``GET``);
- :mod:`~modelward.http.request` / :mod:`~modelward.http.response`: the request (headers,
  query, cookies, JSON and form bodies within the size limit) and the responses (JSON,
  HTML, text, redirects, cookies, streaming);
- :mod:`~modelward.http.auth` and :mod:`~modelward.http.tokens`: bearer tokens and scopes;
- :mod:`~modelward.http.failure`: the one mapping from the error tree to answers, the 500;
- the groups every process mounts: :mod:`~modelward.http.ops` (health, readiness,
  metrics) and :mod:`~modelward.http.docs` (``/openapi.json``, ``/docs``, offline).

The prediction API (:mod:`modelward.serving.routes`) and the LLM gateway
(:mod:`modelward.llm.gateway.routes`) are route groups on it.
"""

from modelward.http.app import App, Group
from modelward.http.auth import Auth
from modelward.http.request import Request
from modelward.http.response import (
    Response,
    StreamingResponse,
    html_response,
    json_response,
    redirect,
    text_response,
)
from modelward.http.router import Route

__all__ = [
    "App",
    "Auth",
    "Group",
    "Request",
    "Response",
    "Route",
    "StreamingResponse",
    "html_response",
    "json_response",
    "redirect",
    "text_response",
]
