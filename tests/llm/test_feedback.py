"""Ratings of gateway answers (user satisfaction): POST /v1/llm/feedback and the
x-modelward-feedback header, through the real gateway with the official openai SDK, read
back by satisfaction_stats, `monitor predictions` and `llm usage`."""

from __future__ import annotations

from datetime import timedelta

import httpx
import numpy as np
import pytest

from modelward.llm.routing import save_routes
from modelward.llm.satisfaction import satisfaction_stats
from modelward.predlog.reader import Span
from modelward.timeutil import utcnow

pytestmark = pytest.mark.sqlite_only

FACTUAL = "What is the capital of France?"
TECHNICAL = "What is 17 * 3?"


@pytest.fixture
def routed(fleet):
    save_routes(
        fleet,
        {"factual": {"models": ["good"]}, "technical": {"models": ["cheap"]}},
        reason="test",
    )
    return fleet


def ask(client, query_type: str, text: str, **options) -> str:
    answer = client.chat.completions.create(
        model=f"route:{query_type}", messages=[{"role": "user", "content": text}], **options
    )
    return answer.id


def flushed(gateway) -> None:
    gateway.app.state.gateway.predlog.flush()


def today() -> Span:
    now = utcnow()
    return Span(now - timedelta(hours=1), now + timedelta(hours=1))


def stats(ws) -> dict[tuple[str, int | None, str], object]:
    return {(s.model, s.version, s.query_type): s for s in satisfaction_stats(ws.logs_url, today())}


def test_ratings_are_stored_and_their_means_read_back(gateway, client, routed):
    # four factual answers rated 1, 0, -1 and 0.8; two technical ones rated by score
    factual = [ask(client, "factual", f"{FACTUAL} {i}") for i in range(5)]
    technical = [ask(client, "technical", f"{TECHNICAL} {i}") for i in range(3)]
    sent = {
        factual[0]: {"rating": 1},
        factual[1]: {"rating": 0},
        factual[2]: {"rating": -1, "correct": False},
        factual[3]: {"score": 0.8, "correct": True, "comment": "spot on"},
        technical[0]: {"score": 0.25},
        technical[1]: {"score": 1, "correct": True},
    }
    for rid, rating in sent.items():
        answer = httpx.post(gateway.url + "/v1/llm/feedback", json={"id": rid, **rating})
        assert answer.status_code == 200, answer.text
        assert answer.json() == {"accepted": 1, "unknown": []}
    flushed(gateway)
    found = stats(routed)
    good, cheap = found[("good", 1, "factual")], found[("cheap", 1, "technical")]
    assert (good.answers, good.ratings, good.labelled, good.correct) == (5, 4, 2, 1)
    assert good.mean == pytest.approx(np.mean([1.0, 0.5, 0.0, 0.8]))
    assert (cheap.answers, cheap.ratings, cheap.labelled, cheap.correct) == (3, 2, 1, 1)
    assert cheap.mean == pytest.approx(np.mean([0.25, 1.0]))
    assert cheap.accuracy == 1.0
    metrics = httpx.get(gateway.url + "/metrics").text
    assert 'modelward_llm_ratings_total{model="good"} 4.0' in metrics


def test_the_latest_rating_counts_and_a_rating_keeps_an_earlier_correct(gateway, client, routed):
    rid = ask(client, "factual", FACTUAL)
    for body in ({"rating": -1, "correct": True}, {"rating": 1}):
        assert httpx.post(gateway.url + "/v1/feedback", json={"id": rid, **body}).is_success
    flushed(gateway)
    good = stats(routed)[("good", 1, "factual")]
    assert (good.ratings, good.mean, good.labelled, good.correct) == (1, 1.0, 1, 1)


def test_a_batch_reports_the_ids_no_answer_has(gateway, client, routed):
    rid = ask(client, "factual", FACTUAL)
    items = [{"id": rid, "rating": 1}, {"id": "chatcmpl-neveranswered", "rating": -1}]
    answer = httpx.post(gateway.url + "/v1/llm/feedback", json={"items": items})
    assert answer.status_code == 200
    assert answer.json() == {"accepted": 1, "unknown": ["chatcmpl-neveranswered"]}
    single = httpx.post(
        gateway.url + "/v1/llm/feedback", json={"id": "chatcmpl-neveranswered", "rating": 1}
    )
    assert single.status_code == 404
    assert single.json()["error"]["field"] == "id"
    flushed(gateway)
    assert stats(routed)[("good", 1, "factual")].ratings == 1


def test_an_answer_the_gateway_forgot_is_found_in_the_log(gateway, client, routed):
    rid = ask(client, "factual", FACTUAL)
    flushed(gateway)
    routes = next(g for g in gateway.app.groups if hasattr(g, "feedback"))
    routes.feedback.recent.clear()  # as after a restart
    answer = httpx.post(gateway.url + "/v1/llm/feedback", json={"id": rid, "score": 0.4})
    assert answer.json() == {"accepted": 1, "unknown": []}
    assert routes.feedback.lookups == 1
    flushed(gateway)
    assert stats(routed)[("good", 1, "factual")].mean == pytest.approx(0.4)


def test_the_feedback_header_rates_an_earlier_answer(gateway, client, routed):
    first = ask(client, "factual", FACTUAL)
    second = ask(client, "technical", TECHNICAL)
    raw = client.chat.completions.with_raw_response.create(
        model="route:factual",
        messages=[{"role": "user", "content": f"{FACTUAL} again"}],
        extra_headers={"x-modelward-feedback": f"{first}=1, {second}=0.2"},
    )
    assert raw.headers["x-modelward-feedback"] == "accepted=2"
    assert raw.parse().choices[0].message.content == "Paris"
    unknown = client.chat.completions.with_raw_response.create(
        model="route:factual",
        messages=[{"role": "user", "content": FACTUAL}],
        extra_headers={"x-modelward-feedback": "chatcmpl-nope=-1"},
    )
    assert unknown.headers["x-modelward-feedback"] == "accepted=0; unknown=chatcmpl-nope"
    flushed(gateway)
    found = stats(routed)
    assert found[("good", 1, "factual")].mean == 1.0
    assert found[("cheap", 1, "technical")].mean == pytest.approx(0.2)


MALFORMED_HEADERS = [
    "chatcmpl-abc", "chatcmpl-abc=2", "chatcmpl-abc=1.5", "abc=1", "chatcmpl-abc=good", "=1",
    "chatcmpl-abc=1,", ",".join(f"chatcmpl-{i}=1" for i in range(21)),
]  # fmt: skip

BAD_BODIES = [
    (b"not json", 400, "body"),
    (b"[1]", 422, "body"),
    (b'{"id": "chatcmpl-x"}', 422, "rating"),
    (b'{"id": "abc", "rating": 1}', 422, "id"),
    (b'{"id": 5, "rating": 1}', 422, "id"),
    (b'{"id": "chatcmpl-x", "rating": 2}', 422, "rating"),
    (b'{"id": "chatcmpl-x", "rating": true}', 422, "rating"),
    (b'{"id": "chatcmpl-x", "rating": "1"}', 422, "rating"),
    (b'{"id": "chatcmpl-x", "score": 1.5}', 422, "score"),
    (b'{"id": "chatcmpl-x", "score": 1e400}', 422, "score"),
    (b'{"id": "chatcmpl-x", "score": NaN}', 400, "body"),
    (b'{"id": "chatcmpl-x", "rating": 1, "score": 0.5}', 422, "score"),
    (b'{"id": "chatcmpl-x", "rating": 1, "correct": "yes"}', 422, "correct"),
    (b'{"id": "chatcmpl-x", "rating": 1, "comment": 7}', 422, "comment"),
    (b'{"id": "chatcmpl-x", "rating": 1, "stars": 5}', 422, "stars"),
    (b'{"items": []}', 422, "items"),
    (b'{"items": [{"id": "chatcmpl-x", "rating": 1}, 3]}', 422, "items[1]"),
    (b'{"items": [{"id": "chatcmpl-x", "rating": 1}, {"id": "chatcmpl-y"}]}', 422,
     "items[1].rating"),
]  # fmt: skip


def test_a_malformed_feedback_header_is_a_400_naming_it(gateway, client, routed):
    from openai import BadRequestError

    for value in MALFORMED_HEADERS:
        with pytest.raises(BadRequestError) as refused:
            ask(client, "factual", FACTUAL, extra_headers={"x-modelward-feedback": value})
        error = refused.value.body
        assert error["field"] == "x-modelward-feedback", value
        assert "<response id>=<rating>" in error["message"] and "\n" not in error["message"]
    flushed(gateway)
    assert stats(routed) == {}  # refused before the call: no answer, no rating


def test_bad_feedback_bodies_are_refused_naming_the_field(gateway):
    for body, status, field in BAD_BODIES:
        answer = httpx.post(
            gateway.url + "/v1/llm/feedback",
            content=body,
            headers={"content-type": "application/json"},
        )
        assert answer.status_code == status, body
        error = answer.json()["error"]
        assert error["field"] == field, body
        assert error["message"] and "\n" not in error["message"]


def test_hostile_feedback_never_stops_later_answers_being_logged(gateway, client, routed):
    rid = ask(client, "factual", FACTUAL)
    hostile = [
        {"id": rid, "rating": 1, "comment": "x" * 1_000_000},
        {"id": rid, "score": -1e-9},
        {"id": rid, "rating": 1, "comment": {"nested": ["deep"] * 1000}},
        {"id": rid, "rating": [1] * 10_000},
        {"id": rid + "\u0000", "rating": 1},
    ]
    for body in hostile:
        answer = httpx.post(gateway.url + "/v1/llm/feedback", json=body)
        assert 400 <= answer.status_code < 500
    surrogate = httpx.post(
        gateway.url + "/v1/llm/feedback",
        content=b'{"id": "%s", "rating": 1, "comment": "\\ud800"}' % rid.encode(),
        headers={"content-type": "application/json"},
    )
    assert surrogate.status_code == 400
    odd = {"id": rid, "rating": -1, "comment": "\u0000 \U0001f389 key sk-abcdefghijklmnop"}
    assert httpx.post(gateway.url + "/v1/llm/feedback", json=odd).status_code == 200
    later = [ask(client, "technical", f"{TECHNICAL} later {i}") for i in range(3)]
    flushed(gateway)
    from modelward.predlog import feedback, predictions

    logged = set(predictions(routed.logs_url, "cheap").df()["request_id"])
    assert set(later) <= logged
    assert stats(routed)[("good", 1, "factual")].mean == 0.0
    stored = feedback(routed.logs_url).df()  # labels only: a rating is not a label
    assert stored.empty
    import duckdb

    comments = duckdb.sql(
        f"select comment from read_parquet('{routed.logs_url}/feedback/**/*.parquet')"
    ).fetchall()
    assert comments and "sk-abcdefghijklmnop" not in comments[0][0]


def test_satisfaction_in_monitor_predictions_and_llm_usage(gateway, client, routed, cli):
    ratings = [1, 1, 0, -1, 1]
    for i, rating in enumerate(ratings):
        rid = ask(client, "factual", f"{FACTUAL} {i}")
        body = {"id": rid, "rating": rating, **({"correct": True} if i < 2 else {})}
        assert httpx.post(gateway.url + "/v1/llm/feedback", json=body).status_code == 200
    ask(client, "technical", TECHNICAL)  # answered, never rated
    flushed(gateway)
    mean = np.mean([{1: 1.0, 0: 0.5, -1: 0.0}[r] for r in ratings])

    ran = cli("monitor", "predictions", "good", "--json")
    (entry,) = ran.json["results"]["llm"]["satisfaction"]
    assert (entry["version"], entry["query_type"], entry["answers"]) == (1, "factual", 5)
    assert (entry["ratings"], entry["labelled"], entry["correct"]) == (5, 2, 2)
    assert entry["mean"] == pytest.approx(mean)
    text = cli("monitor", "predictions", "good")
    assert "user satisfaction" in text.stdout and f"{mean:.4f}" in text.stdout

    usage = cli("llm", "usage", "--json").json["satisfaction"]
    found = {(u["model"], u["query_type"]): u for u in usage}
    assert found[("good", "factual")]["mean"] == pytest.approx(mean)
    assert found[("cheap", "technical")]["ratings"] == 0
    assert found[("cheap", "technical")]["mean"] is None
    printed = cli("llm", "usage").stdout
    assert "user satisfaction" in printed and "factual" in printed


def test_a_streamed_answer_is_rated_by_its_chunk_id(gateway, client, routed):
    earlier = ask(client, "technical", TECHNICAL)
    with client.chat.completions.with_streaming_response.create(
        model="route:factual",
        stream=True,
        messages=[{"role": "user", "content": FACTUAL}],
        extra_headers={"x-modelward-feedback": f"{earlier}=-1"},
    ) as response:
        assert response.headers["x-modelward-feedback"] == "accepted=1"
        ids = {chunk.id for chunk in response.parse()}
    (rid,) = ids
    answer = httpx.post(gateway.url + "/v1/llm/feedback", json={"id": rid, "rating": 0})
    assert answer.json() == {"accepted": 1, "unknown": []}
    flushed(gateway)
    found = stats(routed)
    assert found[("good", 1, "factual")].mean == 0.5
    assert found[("cheap", 1, "technical")].mean == 0.0
