"""schemathesis against our OpenAPI document: whatever it sends, never a 5xx, and every
error in the one JSON shape. (Driven directly with hypothesis: schemathesis' pytest
plugin does not run under pytest 9.) A fixed seed and a bounded number of examples keep
``make test`` repeatable; numbers beyond int64 and float64's range are sent on purpose."""

from __future__ import annotations

import math

import pytest
import schemathesis
from hypothesis import HealthCheck, given, seed, settings
from schemathesis.checks import not_a_server_error

from conftest import FEATURES

pytestmark = pytest.mark.sqlite_only

#: Beyond int64 either way, beyond what float64 holds as an integer, and float64's edge.
HUGE = [2**63, -(2**63) - 1, 2**64, 10**30, 1e19, 1e20, 1e308, -1e308]


def _check(case, url: str) -> None:
    response = case.call(base_url=url)
    case.validate_response(response, checks=[not_a_server_error])
    if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
        error = response.json()["error"]
        # the one shape of every route (``type`` repeats the code, for OpenAI clients)
        assert {"code", "type", "message"} <= set(error) <= {"code", "type", "message", "field"}
        assert error["type"] == error["code"] and error["message"]


def test_no_request_yields_a_5xx(live):
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    seen = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @seed(13)
        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            _check(case, live.url)

        check()
        seen += 1
    assert seen == 7  # predict, model info, feedback, its tickets, healthz, readyz, metrics


@pytest.mark.parametrize("value", HUGE, ids=str)
def test_numbers_out_of_range_are_never_a_5xx(live, cleveland, value):
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    predict = schema["/v1/models/{name}/predict"]["POST"]
    feedback = schema["/v1/feedback"]["POST"]
    frame = cleveland[FEATURES].iloc[0].to_dict()
    row = {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in frame.items()}
    bodies = [{"inputs": {**row, feature: value}} for feature in ("age", "chol", "oldpeak")]
    bodies.append({"inputs": [{**row, "thalach": value}, row]})
    for body in bodies:
        case = predict.Case(
            path_parameters={"name": "heart"}, body=body, media_type="application/json"
        )
        _check(case, live.url)
    with live.client() as http:
        rid = http.post("/v1/models/heart/predict", json={"inputs": row}).json()["request_id"]
    for body in ({"request_id": rid, "label": value}, [{"request_id": rid, "label": value}]):
        _check(feedback.Case(body=body, media_type="application/json"), live.url)
