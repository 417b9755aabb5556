"""HTTP details a client relies on: 405 names the allowed methods, health routes answer
only GET and HEAD, and the feedback route accepts what its published schema allows."""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.sqlite_only


@pytest.mark.parametrize(
    ("method", "path", "allow"),
    [
        ("GET", "/v1/models/heart/predict", "POST"),
        ("PUT", "/v1/feedback", "POST"),
        ("DELETE", "/v1/models/heart", "GET, HEAD"),
        ("TRACE", "/healthz", "GET, HEAD"),
        ("POST", "/healthz", "GET, HEAD"),
        ("TRACE", "/readyz", "GET, HEAD"),
        ("DELETE", "/metrics", "GET, HEAD"),
        ("POST", "/openapi.json", "GET, HEAD"),
        ("PATCH", "/docs", "GET, HEAD"),
    ],
)
def test_a_wrong_method_is_405_naming_the_allowed_ones(live, method, path, allow):
    with live.client() as http:
        reply = http.request(method, path)
    assert reply.status_code == 405, reply.text
    assert reply.headers["allow"] == allow
    error = reply.json()["error"]
    assert error["code"] == "method_not_allowed" and allow in error["message"]


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/openapi.json", "/v1/models/heart"])
def test_head_answers_like_get_without_a_body(live, path):
    with live.client() as http:
        got = http.get(path)
        head = http.head(path)
    assert head.status_code == got.status_code == 200
    assert head.content == b"" and head.headers["content-type"] == got.headers["content-type"]


def test_an_empty_feedback_list_is_a_no_op(live):
    with live.client() as http:
        schema = http.get("/openapi.json").json()["paths"]["/v1/feedback"]["post"]
        reply = http.post("/v1/feedback", json=[])
    body_schema = schema["requestBody"]["content"]["application/json"]["schema"]
    as_list = next(s for s in body_schema["oneOf"] if s.get("type") == "array")
    assert as_list.get("minItems", 0) == 0  # the published schema allows []: so does the server
    assert reply.status_code == 200, reply.text
    assert reply.json() == {"accepted": 0, "duplicates": 0, "unknown": []}
    live.flush()
    assert not list((live.ws.root / "logs").rglob("feedback/**/*.parquet"))
