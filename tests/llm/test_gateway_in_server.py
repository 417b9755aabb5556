"""`modelward serve` answers the OpenAI-compatible gateway routes when llm.yml exists."""

from __future__ import annotations

import pytest

from modelward.llm.routing import save_routes
from serving.conftest import start_live, stop_live

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def served(fleet):
    save_routes(fleet, {"factual": {"models": ["good", "slow"]}}, reason="test")
    live = start_live(fleet)
    yield live
    stop_live(live)


def test_the_model_server_routes_chat_completions_through_the_gateway(served):
    from openai import OpenAI

    with OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0) as client:
        answer = client.chat.completions.create(
            model="route:factual",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
        )
        listed = {m.id for m in client.models.list()}
    assert answer.choices[0].message.content == "Paris"
    assert answer.model == "good:1"
    assert "route:factual" in listed or "good:1" in listed
    with served.client() as http:  # the tabular routes still answer beside it
        assert http.get("/healthz").json() == {"status": "ok"}


def test_server_tokens_guard_the_gateway(served):
    from openai import AuthenticationError, OpenAI

    from modelward.http.tokens import create_token

    _, secret = create_token(served.ws.db, "app", scopes=["predict"])
    served.wait_for(lambda: served.app.state.auth_on, timeout=10)
    body = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
    with OpenAI(base_url=served.url + "/v1", api_key="wrong", max_retries=0) as client:
        with pytest.raises(AuthenticationError, match="unknown or revoked"):
            client.chat.completions.create(model="route:factual", **body)
    with OpenAI(base_url=served.url + "/v1", api_key=secret, max_retries=0) as client:
        answer = client.chat.completions.create(model="route:factual", **body)
    assert answer.choices[0].message.content == "Paris"


def test_ratings_of_answers_beside_the_tabular_feedback_route(served):
    from openai import OpenAI

    with OpenAI(base_url=served.url + "/v1", api_key="unused", max_retries=0) as client:
        answer = client.chat.completions.create(
            model="route:factual",
            messages=[{"role": "user", "content": "What is the capital of France?"}],
        )
    with served.client() as http:
        rated = http.post("/v1/llm/feedback", json={"id": answer.id, "rating": 1})
        assert rated.status_code == 200 and rated.json() == {"accepted": 1, "unknown": []}
        # /v1/feedback stays the tabular models' labels: it does not take a rating
        tabular = http.post("/v1/feedback", json={"id": answer.id, "rating": 1})
        assert tabular.status_code == 422 and tabular.json()["error"]["field"] == "id"
    gateway = next(g for g in served.app.groups if hasattr(g, "feedback") and hasattr(g, "chat"))
    gateway.state.predlog.flush()
    from datetime import timedelta

    from modelward.llm.satisfaction import satisfaction_stats
    from modelward.predlog.reader import Span
    from modelward.timeutil import utcnow

    now = utcnow()
    span = Span(now - timedelta(hours=1), now + timedelta(hours=1))
    (stats,) = satisfaction_stats(served.ws.logs_url, span)
    assert (stats.model, stats.query_type, stats.ratings, stats.mean) == ("good", "factual", 1, 1.0)
