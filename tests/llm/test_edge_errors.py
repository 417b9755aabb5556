"""One HTTP edge: every route of every group answers the same mistakes with the same JSON
shape, status and headers — the prediction routes and the gateway's, in `modelward serve`
and in the standalone gateway. (The habit of datasette's ``test_error_shape``.)"""

from __future__ import annotations

import httpx
import pytest

from llm.helpers import Served, deploy_heart
from modelward.http.request import MAX_BODY
from modelward.llm.routing import save_routes
from serving.conftest import start_live, stop_live

pytestmark = pytest.mark.sqlite_only

CHAT = {"model": "route:factual", "messages": [{"role": "user", "content": "hi"}]}
POSTS = {  # route -> a body it would take
    "/v1/models/heart/predict": {"inputs": {"age": 50}},
    "/v1/feedback": {"request_id": "r-1", "label": 1},
    "/v1/chat/completions": CHAT,
}
GETS = ["/v1/models/heart", "/v1/feedback/t-1", "/v1/models"]
GATEWAY = {"/v1/chat/completions", "/v1/models"}


def _error(reply: httpx.Response) -> dict:
    """The one shape: ``{"error": {"code", "type", "message", "field"?}}``, one line."""
    assert reply.headers["content-type"] == "application/json", reply.text
    body = reply.json()
    assert set(body) == {"error"}, body
    error = body["error"]
    assert {"code", "type", "message"} <= set(error) <= {"code", "type", "message", "field"}
    assert error["type"] == error["code"]
    assert error["message"] and "\n" not in error["message"]
    return error


def _answers(url: str, token: str | None) -> dict[str, dict[str, tuple]]:
    """condition -> route -> (status, code, Allow) for every route and mistake."""
    auth = {"Authorization": f"Bearer {token}"} if token else {}
    found: dict[str, dict[str, tuple]] = {}

    def note(condition: str, route: str, reply: httpx.Response) -> None:
        error = _error(reply)
        allow = reply.headers.get("allow")
        found.setdefault(condition, {})[route] = (reply.status_code, error["code"], allow)

    with httpx.Client(base_url=url, timeout=60) as http:
        for route, body in POSTS.items():
            note("wrong method", route, http.get(route, headers=auth))
            note("bad JSON", route, http.post(route, content=b'{"inputs": ', headers=auth))
            too_large = b"[" + b" " * MAX_BODY + b"]"
            note("too large", route, http.post(route, content=too_large, headers=auth))
            if token:
                note("no token", route, http.post(route, json=body))
                wrong = {"Authorization": "Bearer mw_not-a-token"}
                note("unknown token", route, http.post(route, json=body, headers=wrong))
        for route in GETS:
            note("wrong method (GET route)", route, http.delete(route, headers=auth))
            if token:
                note("no token", route, http.get(route))
        unknown = ("/v2/anything", "/v1/chat/completion", "/v1/models/heart/predict/x", "/v1/a%0Ab")
        for route in unknown:  # %0A: a newline in the path, never in the one-line message
            note("unknown route", route, http.post(route, json=CHAT, headers=auth))
    return found


EXPECTED = {
    "wrong method": (405, "method_not_allowed", "POST"),
    "wrong method (GET route)": (405, "method_not_allowed", "GET, HEAD"),
    "bad JSON": (400, "invalid_json", None),
    "too large": (413, "payload_too_large", None),
    "no token": (401, "unauthorized", None),
    "unknown token": (401, "unauthorized", None),
    "unknown route": (404, "not_found", None),
}


@pytest.fixture
def server(fleet, cleveland, fitted):
    """`modelward serve` with heart v1 in production and the gateway (llm.yml) mounted."""
    deploy_heart(fleet, cleveland, fitted)
    save_routes(fleet, {"factual": {"models": ["good"]}}, reason="test")
    live = start_live(fleet)
    yield live
    stop_live(live)


def test_every_route_of_the_server_answers_a_mistake_in_one_shape(server):
    from modelward.http.tokens import create_token

    _, secret = create_token(server.ws.db, "ops", ["admin"])
    server.wait_for(lambda: server.app.state.auth_on, timeout=10)
    found = _answers(server.url, secret)
    assert set(found) == set(EXPECTED)
    for condition, routes in found.items():
        assert set(routes.values()) == {EXPECTED[condition]}, (condition, routes)
    for condition in ("wrong method", "bad JSON", "too large", "no token", "unknown token"):
        assert GATEWAY & set(found[condition]) and set(found[condition]) - GATEWAY  # both groups


def test_the_standalone_gateway_answers_mistakes_in_the_same_shape(fleet):
    from modelward.llm.gateway import create_gateway_app

    save_routes(fleet, {"factual": {"models": ["good"]}}, reason="test")
    served = Served(create_gateway_app(fleet))
    try:
        with httpx.Client(base_url=served.url, timeout=60) as http:
            replies = {
                "wrong method": http.get("/v1/chat/completions"),
                "wrong method (GET route)": http.delete("/v1/models"),
                "bad JSON": http.post("/v1/chat/completions", content=b"{"),
                "too large": http.post("/v1/chat/completions", content=b" " * (MAX_BODY + 1)),
                "unknown route": http.post("/v1/models/heart/predict", json=CHAT),
            }
    finally:
        served.stop()
    for condition, reply in replies.items():
        error = _error(reply)
        assert (reply.status_code, error["code"], reply.headers.get("allow")) == EXPECTED[
            condition
        ], condition


def test_a_gateway_5xx_keeps_its_cause_in_the_log_not_in_the_answer(fleet, fake, caplog):
    from modelward.llm.gateway import create_gateway_app

    save_routes(fleet, {"factual": {"models": ["good"]}}, reason="test")
    fake.behaviour.models["good"].error_rate = 1.0
    served = Served(create_gateway_app(fleet))
    try:
        reply = httpx.post(served.url + "/v1/chat/completions", json=CHAT, timeout=60)
    finally:
        served.stop()
    assert reply.status_code == 502
    error = _error(reply)
    assert "every model for 'factual' failed" in error["message"]
    assert "Traceback" not in reply.text
    logged = [r for r in caplog.records if r.exc_info and "every model" in r.getMessage()]
    assert logged, caplog.text
    cause = logged[0].exc_info[1].__cause__
    assert cause is not None and type(cause).__name__.startswith("Provider")


HIDDEN = {"/openapi.json", "/docs", "/docs/static/{name}"}  # the docs themselves


def _operations(url: str) -> set[tuple[str, str]]:
    paths = httpx.get(url + "/openapi.json").json()["paths"]
    for path, operations in paths.items():
        for operation in operations.values():
            params = {p["name"] for p in operation.get("parameters", []) if p["in"] == "path"}
            assert params == {part[1:-1] for part in path.split("/") if part.startswith("{")}
    return {(method.upper(), path) for path, operations in paths.items() for method in operations}


def test_openapi_lists_every_route_the_server_serves_the_gateways_too(server):
    listed = _operations(server.url)
    mounted = {
        (r.method, r.template)
        for r in server.app.router.routes
        if r.path not in HIDDEN and not r.path.startswith("/ui")  # the dashboard's pages
    }
    assert listed == mounted
    assert {("POST", "/v1/chat/completions"), ("GET", "/v1/models")} < listed
    assert ("POST", "/v1/models/{name}/predict") in listed


def test_openapi_of_the_standalone_gateway(fleet):
    from modelward.llm.gateway import create_gateway_app

    served = Served(create_gateway_app(fleet))
    try:
        listed = _operations(served.url)
        docs = httpx.get(served.url + "/docs")
    finally:
        served.stop()
    assert listed == {
        ("POST", "/v1/chat/completions"),
        ("GET", "/v1/models"),
        ("POST", "/v1/llm/feedback"),
        ("POST", "/v1/feedback"),
        ("GET", "/healthz"),
        ("GET", "/metrics"),
    }
    assert docs.status_code == 200 and "docs/static/swagger-ui-bundle.js" in docs.text
