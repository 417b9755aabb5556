"""Numbers beyond what the log's columns hold are refused at the door (issue 13, item 5):
an integer beyond int64 or a float beyond float64 is a 422 naming the field, and the row
logged for it is an ordinary rejected one that never stops the log."""

from __future__ import annotations

import json
import re

import httpx
import pytest

from conftest import FEATURES
from modelward.predlog import predictions

from .conftest import logged_ids, send_predictions, set_policy

pytestmark = pytest.mark.sqlite_only

INT64_MAX = 2**63 - 1


def _row(cleveland) -> str:
    """The first Cleveland row as JSON text, ready for a raw number to be spliced in."""
    return json.dumps(cleveland[FEATURES].fillna(0).iloc[0].to_dict())


@pytest.mark.parametrize(
    ("field", "raw"),
    [
        ("age", "9223372036854775808"),  # one past int64
        ("age", "-1e19"),
        ("age", "18446744073709551616"),  # past uint64 too
        ("age", "1e19"),
        ("age", "1e20"),
        ("oldpeak", "1e400"),  # beyond float64: would be infinity
        ("oldpeak", "-1e400"),
    ],
)
def test_numbers_a_column_cannot_hold_are_422_naming_the_field(live, cleveland, field, raw):
    body = re.sub(rf'"{field}": [^,}}]+', f'"{field}": {raw}', _row(cleveland))
    with live.client() as http:
        reply = http.post(
            "/v1/models/heart/predict",
            content=f'{{"inputs": {body}}}',
            headers={"content-type": "application/json"},
        )
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["field"] == f"inputs.{field}", error
    assert error["message"].startswith(f"inputs.{field} = ") and "; send a" in error["message"]
    live.flush()
    assert live.app.writer.queued == 0  # the rejected row was logged, nothing is stuck
    assert predictions(live.ws).select("status").fetchall() == [("rejected",)]


def test_a_finite_number_the_model_cannot_compute_on_is_422_not_a_500(live, cleveland):
    """1e308 fits float64, but scaling it overflows and the pipeline raises: the input is
    at fault (it is flagged as outside the training range), so a 422 names it."""
    row = {**cleveland[FEATURES].fillna(0).iloc[0].to_dict(), "oldpeak": 1e308}
    with live.client() as http:
        reply = http.post("/v1/models/heart/predict", json={"inputs": row})
    assert reply.status_code == 422, reply.text
    error = reply.json()["error"]
    assert error["field"] == "inputs.oldpeak" and "outside its training range" in error["message"]
    live.flush()
    assert predictions(live.ws).select("status").fetchall() == [("rejected",)]


def test_the_largest_int64_is_served_and_logged(live, cleveland):
    row = {**cleveland[FEATURES].fillna(0).iloc[0].to_dict(), "age": INT64_MAX}
    with live.client() as http:
        reply = http.post("/v1/models/heart/predict", json={"inputs": row})
    assert reply.status_code == 200 and reply.json()["flags"] == ["age"]
    live.flush()
    assert predictions(live.ws).select("status, in_age").fetchall() == [("ok", INT64_MAX)]


def test_a_server_keeps_logging_after_a_huge_integer_is_refused(deployed, start_server, cleveland):
    set_policy(deployed, "serving", "flush_ms", 200)
    server = start_server()
    body = re.sub(r'"age": [^,}]+', '"age": 9223372036854775808', _row(cleveland))
    reply = httpx.post(
        server.url + "/v1/models/heart/predict",
        content=f'{{"inputs": {body}}}',
        headers={"content-type": "application/json"},
        timeout=30,
    )
    assert reply.status_code == 422
    ids = send_predictions(server.url, cleveland, 5)
    assert server.stop() == 0, server.output()
    assert sorted(logged_ids(deployed, "ok")) == sorted(ids)
    again = start_server()  # and a restart is a restart (before: OverflowError, rc 3)
    assert again.proc.poll() is None and again.stop() == 0
