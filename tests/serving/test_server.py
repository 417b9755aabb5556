"""The server over a real socket: predictions equal scikit-learn's, errors have one shape,
feedback joins by request id, metrics count, tokens guard, deployments are followed."""

from __future__ import annotations

import math
import threading

import numpy as np
import pytest

from conftest import FEATURES
from modelward.predlog import labelled, predictions

from .conftest import set_policy, start_live, stop_live

pytestmark = pytest.mark.sqlite_only


def _rows(cleveland, n=20, start=0):
    frame = cleveland[FEATURES].iloc[start : start + n]
    return [
        {k: (None if isinstance(v, float) and math.isnan(v) else v) for k, v in row.items()}
        for row in frame.to_dict(orient="records")
    ]


def _ok_count(ws) -> int:
    return predictions(ws).filter("status = 'ok'").count("*").fetchall()[0][0]


def test_single_prediction_equals_scikit_learn(live, cleveland, fitted):
    row = _rows(cleveland, 1)[0]
    with live.client() as http:
        reply = http.post(
            "/v1/models/heart/predict", json={"inputs": row}, headers={"X-Request-Id": "abc-1"}
        )
    assert reply.status_code == 200, reply.text
    body = reply.json()
    frame = cleveland[FEATURES].iloc[:1]
    assert body["prediction"] == fitted.predict(frame)[0]
    expected = fitted.predict_proba(frame)[0]
    assert body["probabilities"]["1"] == pytest.approx(expected[1], abs=1e-5)
    assert body["score"] == pytest.approx(expected[1], abs=1e-5)
    assert (body["version"], body["request_id"], body["environment"]) == (1, "abc-1", "production")
    assert reply.headers["x-modelward-version"] == "1"


@pytest.mark.parametrize("shape", ["inputs", "dataframe_records", "dataframe_split"])
def test_batches_in_our_and_mlflows_shapes(live, cleveland, fitted, shape):
    rows = _rows(cleveland, 25, start=40)
    if shape == "dataframe_split":
        payload = {
            "dataframe_split": {"columns": FEATURES, "data": [list(r.values()) for r in rows]}
        }
    else:
        payload = {shape: rows}
    with live.client() as http:
        body = http.post("/v1/models/heart/predict", json=payload).json()
    frame = cleveland[FEATURES].iloc[40:65]
    assert body["predictions"] == fitted.predict(frame).tolist()
    got = np.array([p["1"] for p in body["probabilities"]])
    np.testing.assert_allclose(got, fitted.predict_proba(frame)[:, 1], atol=1e-5)
    assert body["request_ids"] == [f"{body['request_id']}-{i}" for i in range(25)]
    live.flush()
    logged = predictions(live.ws, "heart").filter("status = 'ok'")
    assert logged.count("*").fetchall() == [(25,)]
    ages = sorted(r[0] for r in logged.select("in_age").fetchall())
    assert ages == sorted(int(a) for a in frame["age"])


BAD_BODIES = [
    (b"{not json", 400, "invalid_json", "body"),
    (b"[1, 2]", 422, "schema", "body"),
    (b'{"rows": []}', 422, "schema", "rows"),
    (b'{"inputs": {}, "instances": []}', 422, "schema", "body"),
    (b'{"inputs": []}', 422, "schema", "inputs"),
    (b'{"inputs": 5}', 422, "schema", "inputs"),
    (b'{"inputs": [5]}', 422, "schema", "inputs[0]"),
    (b'{"dataframe_split": {"columns": ["age"], "data": [[1, 2]]}}', 422, "schema", None),
    (b'{"dataframe_split": {"columns": [1], "data": []}}', 422, "schema", None),
    (b'{"dataframe_split": [1]}', 422, "schema", "dataframe_split"),
]


@pytest.mark.parametrize(("body", "status", "code", "field"), BAD_BODIES)
def test_malformed_bodies_are_4xx_json_and_store_nothing(live, body, status, code, field):
    with live.client() as http:
        reply = http.post("/v1/models/heart/predict", content=body)
    assert reply.status_code == status
    error = reply.json()["error"]
    assert error["code"] == code and error["message"]
    if field:
        assert error["field"] == field
    live.flush()
    assert _ok_count(live.ws) == 0


@pytest.mark.parametrize(
    ("change", "field", "text"),
    [
        ({"colour": 1}, "inputs.colour", "is not an input of this model"),
        ({"age": "old"}, "inputs.age", "inputs.age = 'old' has the wrong type"),
        ({"age": True}, "inputs.age", "has the wrong type"),
        ({"age": 50.5}, "inputs.age", "send an integer in"),
        ({"oldpeak": "2"}, "inputs.oldpeak", "send a number"),
    ],
)
def test_inputs_are_checked_against_the_schema(live, cleveland, change, field, text):
    row = {**_rows(cleveland, 1)[0], **change}
    with live.client() as http:
        reply = http.post("/v1/models/heart/predict", json={"inputs": row})
    assert reply.status_code == 422
    assert reply.json()["error"]["field"] == field
    assert text in reply.json()["error"]["message"]
    live.flush()
    statuses = predictions(live.ws).select("status, error").fetchall()
    assert [s for s, _ in statuses] == ["rejected"] and text in statuses[0][1]


def test_a_null_in_an_input_the_pipeline_imputes_is_served(live, cleveland, fitted):
    """The pipeline imputes every input: register found so by trying it, and a null age
    (never missing in Cleveland) is answered as scikit-learn answers it."""
    row = {**_rows(cleveland, 1)[0], "age": None}
    with live.client() as http:
        reply = http.post("/v1/models/heart/predict", json={"inputs": row})
    assert reply.status_code == 200, reply.text
    frame = cleveland[FEATURES].iloc[:1].astype(float).assign(age=np.nan)
    assert reply.json()["score"] == pytest.approx(fitted.predict_proba(frame)[0, 1], abs=1e-5)


def test_out_of_range_values_are_flagged_by_default_and_logged(live, cleveland):
    row = {**_rows(cleveland, 1)[0], "chol": 900}
    with live.client() as http:
        body = http.post("/v1/models/heart/predict", json={"inputs": row}).json()
    assert body["flags"] == ["chol"]
    live.flush()
    assert predictions(live.ws).select("flags").fetchall() == [("chol",)]


def test_out_of_range_values_are_rejected_when_the_policy_says_so(deployed, cleveland):
    set_policy(deployed, "data", "out_of_range", "reject")
    server = start_live(deployed)
    try:
        row = {**_rows(cleveland, 1)[0], "chol": 900}
        with server.client() as http:
            reply = http.post("/v1/models/heart/predict", json={"inputs": row})
        assert reply.status_code == 422
        assert "outside the training data" in reply.json()["error"]["message"]
    finally:
        stop_live(server)


def test_routing_errors_and_every_endpoints_error_shape(live):
    with live.client() as http:
        cases = [
            http.post("/v1/models/nope/predict", json={"inputs": {}}),
            http.post(
                "/v1/models/heart/predict",
                json={"inputs": {}},
                headers={"X-Modelward-Environment": "staging"},
            ),
            http.get("/v1/models/heart/predict"),
            http.get("/v1/feedback"),
            http.get("/v2/anything"),
            http.get("/v1/models/nope"),
            http.post("/v1/feedback", content=b"{"),
            http.post(
                "/v1/models/heart/predict", json={"inputs": {}}, headers={"X-Request-Id": ""}
            ),
            http.post(
                "/v1/models/heart/predict",
                json={"inputs": {}},
                headers={"X-Modelward-Environment": "qa"},
            ),
        ]
    assert [r.status_code for r in cases] == [404, 404, 405, 405, 404, 404, 400, 422, 422]
    assert cases[-1].json()["error"]["field"] == "x-modelward-environment"
    for reply in cases:
        error = reply.json()["error"]
        # the one shape of every route (``type`` repeats the code, for OpenAI clients)
        assert {"code", "type", "message"} <= set(error) <= {"code", "type", "message", "field"}
        assert error["type"] == error["code"] and error["message"]
    assert "not deployed to staging" in cases[1].json()["error"]["message"]


def test_feedback_joins_by_request_id(live, cleveland):
    rows = _rows(cleveland, 3)
    with live.client() as http:
        body = http.post("/v1/models/heart/predict", json={"inputs": rows}).json()
        ids = body["request_ids"]
        one = http.post("/v1/feedback", json={"request_id": ids[0], "label": 1})
        assert one.json() == {"accepted": 1, "duplicates": 0, "unknown": []}
        again = http.post("/v1/feedback", json={"request_id": ids[0], "label": 1.0})
        assert again.json()["duplicates"] == 1
        many = http.post(
            "/v1/feedback",
            json=[{"request_id": ids[1], "label": "0"}, {"request_id": "never", "label": 0}],
        )
        # "never" is not in memory: accepted for the resolver, reported on the ticket
        assert many.status_code == 202 and many.json()["pending"] == 1
        assert many.json()["accepted"] == 1 and many.json()["unknown"] == []
        ticket = http.get(many.headers["location"])
        live.wait_for(lambda: http.get(many.headers["location"]).json()["pending"] == 0)
        assert http.get(many.headers["location"]).json()["unknown"] == ["never"]
        assert ticket.json()["ticket"] == many.json()["ticket"]
        unknown = http.post("/v1/feedback", json={"request_id": "never", "label": 1})
        assert unknown.status_code == 404 and unknown.json()["error"]["field"] == "request_id"
    live.flush()
    joined = labelled(live.ws, "heart").select("request_id, label").order("request_id")
    assert joined.fetchall() == sorted([(ids[0], "1"), (ids[1], "0")])


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"label": 1}, "request_id"),
        ({"request_id": "x"}, "label"),
        ({"request_id": "x", "label": None}, "label"),
        ({"request_id": "x", "label": [1]}, "label"),
        ({"request_id": "x", "label": 1, "extra": 2}, "extra"),
        ([{"request_id": "x", "label": 1}, 5], "[1]"),
        ({"request_id": 5, "label": 1}, "request_id"),
        ({"request_id": "x", "label": 1, "model": "../../../../escaped"}, "model"),
        ([{"request_id": "x", "label": 1, "model": "nope"}], "[0].model"),
    ],
)
def test_bad_feedback_is_422_and_stores_nothing(live, body, field):
    with live.client() as http:
        reply = http.post("/v1/feedback", json=body)
    assert reply.status_code == 422
    if field:
        assert reply.json()["error"]["field"].endswith(field)
    live.flush()
    assert not list((live.ws.root / "logs").rglob("feedback/**/*.parquet"))


def test_feedback_label_outside_the_classes_is_422_and_stores_nothing(live, cleveland):
    with live.client() as http:
        ids = http.post("/v1/models/heart/predict", json={"inputs": _rows(cleveland, 2)}).json()[
            "request_ids"
        ]
        one = http.post("/v1/feedback", json={"request_id": ids[0], "label": 7})
        many = http.post(
            "/v1/feedback",
            json=[{"request_id": ids[0], "label": 1}, {"request_id": ids[1], "label": "yes"}],
        )
    assert one.status_code == 422 and one.json()["error"]["field"] == "label"
    assert "0, 1" in one.json()["error"]["message"]
    assert many.status_code == 422 and many.json()["error"]["field"] == "[1].label"
    live.flush()
    assert not list((live.ws.root / "logs").rglob("feedback/**/*.parquet"))


def test_feedback_finds_predictions_of_an_earlier_server(deployed, cleveland):
    first = start_live(deployed)
    with first.client() as http:
        rid = http.post("/v1/models/heart/predict", json={"inputs": _rows(cleveland, 1)[0]}).json()[
            "request_id"
        ]
    stop_live(first)
    second = start_live(deployed)
    try:
        with second.client() as http:
            reply = http.post("/v1/feedback", json={"request_id": rid, "label": 0})
            assert reply.status_code == 202 and reply.json()["pending"] == 1  # found later
            second.wait_for(lambda: http.get(reply.headers["location"]).json()["accepted"] == 1)
            again = http.post("/v1/feedback", json={"request_id": rid, "label": 0})
        assert again.status_code == 200 and again.json()["duplicates"] == 1  # now in memory
        second.flush()
        assert labelled(deployed, "heart").select("request_id, label").fetchall() == [(rid, "0")]
    finally:
        stop_live(second)


def test_metrics_health_and_docs(live, cleveland):
    with live.client() as http:
        for row in _rows(cleveland, 3):
            http.post("/v1/models/heart/predict", json={"inputs": row})
        http.post("/v1/models/heart/predict", json={"inputs": {"age": "x"}})
        text = http.get("/metrics").text
        assert http.get("/healthz").json() == {"status": "ok"}
        ready = http.get("/readyz").json()
        assert ready["status"] == "ready" and ready["routes"][0]["revision"] == 1
        assert http.get("/openapi.json").json()["paths"]["/v1/feedback"]
        assert "swagger" in http.get("/docs").text.lower()
        info = http.get("/v1/models/heart").json()
        assert info["deployments"][0]["versions"]["1"]["path"] == "onnx"
    assert 'modelward_requests_total{model="heart",status="ok",version="1"} 3.0' in text
    assert 'modelward_requests_total{model="heart",status="rejected",version="1"} 1.0' in text
    assert "modelward_request_latency_seconds_bucket" in text
    assert "modelward_log_queue_rows" in text and "modelward_log_dropped_rows 0.0" in text


def test_tokens_guard_the_server_and_revoking_takes_effect(live, cleveland):
    from modelward.http.tokens import create_token, revoke_token

    row = {"inputs": _rows(cleveland, 1)[0]}
    _, predict_only = create_token(live.ws.db, "app", ["predict"])
    _, admin = create_token(live.ws.db, "ops", ["admin"])
    with live.client() as http:
        live.wait_for(lambda: http.post("/v1/models/heart/predict", json=row).status_code == 401)
        assert http.get("/healthz").status_code == 200
        bad = http.post(
            "/v1/models/heart/predict", json=row, headers={"Authorization": "Bearer mw_wrong"}
        )
        assert bad.status_code == 401 and bad.json()["error"]["code"] == "unauthorized"
        good = {"Authorization": f"Bearer {predict_only}"}
        ok = http.post("/v1/models/heart/predict", json=row, headers=good)
        assert ok.status_code == 200
        denied = http.post(
            "/v1/feedback", json={"request_id": ok.json()["request_id"], "label": 1}, headers=good
        )
        assert denied.status_code == 403 and "lacks the 'feedback' scope" in denied.text
        assert http.get("/metrics", headers=good).status_code == 403
        assert http.get("/metrics", headers={"Authorization": f"Bearer {admin}"}).status_code == 200
        revoke_token(live.ws.db, "app")
        live.wait_for(
            lambda: http.post("/v1/models/heart/predict", json=row, headers=good).status_code == 401
        )
    live.flush()
    by_app = predictions(live.ws).filter("status = 'ok' AND client = 'app'")
    assert by_app.count("*").fetchall()[0][0] >= 1  # the token name, never the secret


def test_deployment_changes_are_followed_under_load_without_failures(live, cleveland):
    ws = live.ws
    row = {"inputs": _rows(cleveland, 1)[0]}
    statuses: list[int] = []
    versions: list[int] = []
    stop = threading.Event()

    def hammer() -> None:
        with live.client() as http:
            while not stop.is_set():
                reply = http.post("/v1/models/heart/predict", json=row)
                statuses.append(reply.status_code)
                if reply.status_code == 200:
                    versions.append(reply.json()["version"])

    workers = [threading.Thread(target=hammer) for _ in range(3)]
    for worker in workers:
        worker.start()
    try:
        ws.deployments.deploy("heart", 2, "production", reason="v2")
        live.wait_for(lambda: 2 in versions)
        ws.deployments.rollback("heart", "production", reason="back")
        live.wait_for(lambda: set(versions[-20:]) == {1} and len(statuses) > 50)
    finally:
        stop.set()
        for worker in workers:
            worker.join()
    assert set(statuses) == {200}


def test_a_retry_with_the_same_request_id_gets_the_same_version(live, cleveland):
    ws = live.ws
    ws.transition("heart", 2, "staging", reason="canary")
    ws.deployments.set_targets("heart", "production", [(1, 50), (2, 50)], reason="split")
    row = {"inputs": _rows(cleveland, 1)[0]}
    with live.client() as http:
        live.wait_for(lambda: http.get("/readyz").json()["routes"][0]["revision"] == 2)
        first = {}
        for i in range(40):
            reply = http.post(
                "/v1/models/heart/predict", json=row, headers={"X-Request-Id": f"id{i}"}
            )
            first[i] = reply.json()["version"]
        again = {
            i: http.post(
                "/v1/models/heart/predict", json=row, headers={"X-Request-Id": f"id{i}"}
            ).json()["version"]
            for i in range(40)
        }
    assert first == again and set(first.values()) == {1, 2}


def test_in_process_asgi(deployed, cleveland, fitted):
    """The same app driven through httpx's ASGI transport, without a socket."""
    import asyncio

    import httpx

    from modelward.serving.run import ServeOptions, create_app

    app = create_app(deployed, ServeOptions())
    app.writer.start()
    app.state.start()
    row = _rows(cleveland, 1)[0]

    async def go():
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://mw") as client:
            ok = await client.post("/v1/models/heart/predict", json={"inputs": row})
            bad = await client.post(
                "/v1/models/heart/predict", json={"inputs": {**row, "sex": "male"}}
            )
            return ok, bad

    try:
        ok, bad = asyncio.run(go())
    finally:
        app.state.stop()
        app.writer.close()
    assert ok.json()["prediction"] == fitted.predict(cleveland[FEATURES].iloc[:1])[0]
    assert bad.status_code == 422 and bad.json()["error"]["field"] == "inputs.sex"


def test_a_version_that_cannot_load_keeps_the_old_route_and_readyz_says_why(live, cleveland):
    ws = live.ws
    sha = ws.registry.get_version("heart", 2).sha256
    for path in (ws.root / "artifacts").rglob(sha):
        path.unlink()
    ws.deployments.deploy("heart", 2, "production", force=True, reason="test a broken artifact")
    row = {"inputs": _rows(cleveland, 1)[0]}
    with live.client() as http:
        live.wait_for(lambda: http.get("/readyz").status_code == 503)
        ready = http.get("/readyz").json()
        reply = http.post("/v1/models/heart/predict", json=row)
    assert ready["failures"][0]["model"] == "heart" and "artifact" in ready["failures"][0]["error"]
    assert ready["routes"][0]["revision"] == 1
    assert reply.status_code == 200 and reply.json()["version"] == 1


def test_an_answer_that_comes_after_the_limit_is_late_even_when_the_loop_was_busy(
    deployed, cleveland, monkeypatch
):
    """asyncio.wait_for hands over an answer that was ready when the event loop got back
    to it, however late: the limit is measured, so a loaded server times out the same."""
    import time

    from modelward.serving.batcher import MicroBatcher

    answer = MicroBatcher.predict

    async def late(self, columns):
        outputs = await answer(self, columns)
        time.sleep(0.2)  # the loop is busy past the limit as the answer comes in
        return outputs

    monkeypatch.setattr(MicroBatcher, "predict", late)
    deployed.deployments.deploy("heart", 2, "staging", reason="slow one")
    set_policy(deployed, "serving", "predict_timeout_s", 0.1)
    server = start_live(deployed)
    try:
        with server.client() as http:
            reply = http.post(
                "/v1/models/heart/predict", json={"inputs": _rows(cleveland, 1)[0]},
                headers={"X-Modelward-Environment": "staging"},
            )  # fmt: skip
        assert reply.status_code == 504, reply.text
        assert "heart:2 gave no answer within 0.1 s" in reply.json()["error"]["message"]
    finally:
        stop_live(server)


def test_a_model_that_overruns_its_time_gets_504_and_the_server_keeps_answering(
    deployed, cleveland
):
    """The forest serves through scikit-learn (its ONNX graph failed the proof), in a
    worker thread under serving.predict_timeout_s; the ONNX model answers meanwhile."""
    deployed.deployments.deploy("heart", 2, "staging", reason="slow one")
    set_policy(deployed, "serving", "predict_timeout_s", 0.001)
    server = start_live(deployed)
    try:
        staging = {"X-Modelward-Environment": "staging"}
        many = {"inputs": _rows(cleveland, 300)}
        with server.client() as http:
            slow = http.post("/v1/models/heart/predict", json=many, headers=staging)
            fast = http.post("/v1/models/heart/predict", json={"inputs": _rows(cleveland, 1)[0]})
        assert slow.status_code == 504, slow.text
        error = slow.json()["error"]
        assert error["code"] == "model_timeout"
        assert "heart:2 gave no answer within 0.001 s" in error["message"]
        assert "serving.predict_timeout_s" in error["message"]
        assert fast.status_code == 200 and fast.json()["version"] == 1
        server.flush()
        failed = predictions(deployed).filter("status = 'error'").df()
        assert len(failed) == 300 and set(failed["version"]) == {2}
        assert failed["error"].str.startswith("timeout after").all()
    finally:
        stop_live(server)
