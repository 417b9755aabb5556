"""schemathesis against our OpenAPI document: whatever it sends, never a 5xx, and every
error in the one JSON shape. (Driven directly with hypothesis: schemathesis' pytest
plugin does not run under pytest 9.)"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error


def test_no_request_yields_a_5xx(live):
    schema = schemathesis.openapi.from_url(f"{live.url}/openapi.json")
    seen = 0
    for result in schema.get_all_operations():
        operation = result.ok()

        @given(case=operation.as_strategy())
        @settings(
            max_examples=40,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def check(case) -> None:
            response = case.call(base_url=live.url)
            case.validate_response(response, checks=[not_a_server_error])
            if response.status_code >= 400 and "json" in response.headers.get("content-type", ""):
                error = response.json()["error"]
                assert set(error) <= {"code", "message", "field"} and error["message"]

        check()
        seen += 1
    assert seen == 6  # predict, model info, feedback, healthz, readyz, metrics
