"""The gateway over a real socket, with the official openai SDK as the client."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from llm.helpers import Served
from modelward.llm.routing import save_routes

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def routed(fleet):
    save_routes(
        fleet,
        {"factual": {"models": ["good", "slow"]}, "technical": {"models": ["cheap", "good"]}},
        reason="test",
    )
    return fleet


def test_openai_sdk_chat_through_a_route(client):
    answer = client.chat.completions.create(
        model="route:factual",
        messages=[{"role": "user", "content": "What is the capital of France?"}],
    )
    assert answer.choices[0].message.content == "Paris"
    assert answer.model == "good:1"
    assert answer.usage.prompt_tokens > 0 and answer.usage.completion_tokens > 0


def test_openai_sdk_streaming(client):
    stream = client.chat.completions.create(
        model="route:technical",
        stream=True,
        messages=[{"role": "user", "content": "Tell me a story about a cat"}],
    )
    pieces = [c.choices[0].delta.content or "" for c in stream if c.choices]
    assert "".join(pieces) == "This is cheap's answer to: Tell me a story about a cat"


def test_openai_sdk_model_list(client):
    ids = {m.id for m in client.models.list()}
    assert {"route:factual", "route:technical", "good:1", "slow:1", "cheap:1"} <= ids


def test_query_type_header_and_direct_model(gateway):
    body = {"model": "auto", "messages": [{"role": "user", "content": "What is 17 * 3?"}]}
    answer = httpx.post(
        gateway.url + "/v1/chat/completions", json=body, headers={"X-Query-Type": "technical"}
    )
    assert answer.status_code == 200
    assert answer.json()["model"] == "cheap:1"
    assert answer.headers["x-modelward-query-type"] == "technical"
    direct = httpx.post(gateway.url + "/v1/chat/completions", json={**body, "model": "slow"})
    assert direct.json()["model"] == "slow"


def test_second_identical_call_is_a_cache_hit(gateway, fake):
    body = {"model": "route:factual", "messages": [{"role": "user", "content": "Hi there"}]}
    first = httpx.post(gateway.url + "/v1/chat/completions", json=body)
    calls = fake.behaviour._calls["good"]
    second = httpx.post(gateway.url + "/v1/chat/completions", json=body)
    assert (first.headers["x-modelward-cache"], second.headers["x-modelward-cache"]) == (
        "miss",
        "hit",
    )
    assert second.json()["choices"] == first.json()["choices"]
    assert fake.behaviour._calls["good"] == calls


def test_falls_back_to_the_next_model_when_the_first_fails(gateway, fake):
    fake.behaviour.models["good"].error_rate = 1.0
    body = {"model": "route:factual", "messages": [{"role": "user", "content": "Fallback?"}]}
    answer = httpx.post(gateway.url + "/v1/chat/completions", json=body)
    assert answer.status_code == 200
    assert answer.json()["model"] == "slow:1"
    assert answer.headers["x-modelward-attempts"] == "2"
    fake.behaviour.models["slow"].error_rate = 1.0
    body["messages"][0]["content"] = "Fallback again?"
    failed = httpx.post(gateway.url + "/v1/chat/completions", json=body)
    assert failed.status_code == 502
    assert "every model for 'factual' failed" in failed.json()["error"]["message"]


def test_usage_and_prediction_log_are_written_off_the_request_path(gateway, routed):
    import duckdb

    for i in range(3):
        body = {
            "model": "route:factual",
            "messages": [{"role": "user", "content": f"What is the capital of France? {i}"}],
        }
        assert httpx.post(gateway.url + "/v1/chat/completions", json=body).status_code == 200
    state = gateway.app.state.gateway
    state.flush()
    state.predlog.flush()
    from modelward.llm.usage import usage_summary

    usage = {(u["model"], u["version"]): u for u in usage_summary(routed.db)}
    good = usage[("good", 1)]
    assert good["requests"] == 3 and good["input_tokens"] > 0
    expected = (good["input_tokens"] * 5 + good["output_tokens"] * 15) / 1e6
    assert good["cost"] == pytest.approx(expected)
    rows = duckdb.sql(
        f"select model, version, status, query_type, input_tokens, cost, date from read_parquet("
        f"'{routed.logs_url}/predictions/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert len(rows) == 3
    assert {(r[0], r[1], r[2], r[3]) for r in rows} == {("good", 1, "ok", "factual")}
    assert sum(r[5] for r in rows) == pytest.approx(expected)
    # The same layout as the tabular server's log (one writer): the token's name as client,
    # the cache flag typed, the prompt only as its hash.
    from modelward.predlog import predictions

    logged = predictions(routed.logs_url, "good").df()
    assert set(logged["client"]) == {"-"} and not logged["cache_hit"].any()
    assert logged["in_prompt_hash"].str.fullmatch("[0-9a-f]{64}").all()
    assert str(logged.dtypes["cache_hit"]) == "bool"
    files = list(Path(routed.logs_url).glob("predictions/**/*.parquet"))
    assert files and not any(b"capital of France" in f.read_bytes() for f in files)


def test_monthly_budget_is_enforced(gateway, routed):
    state = gateway.app.state.gateway
    state.spend_month = routed.policy.llm.monthly_budget
    body = {"model": "route:factual", "messages": [{"role": "user", "content": "hi"}]}
    refused = httpx.post(gateway.url + "/v1/chat/completions", json=body)
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "budget_exceeded"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        (b"not json", None),
        (b"[1, 2]", None),
        (b'{"messages": [{"role": "user", "content": "x"}]}', "model"),
        (b'{"model": "route:factual", "messages": []}', "messages"),
        (
            b'{"model": "route:factual", "messages": [{"role": "robot", "content": "x"}]}',
            "messages[0]",
        ),
        (
            b'{"model": "route:factual", "messages": [{"role": "user", "content": "x"}], '
            b'"stream": "yes"}',
            "stream",
        ),
        (
            b'{"model": "route:factual", "messages": [{"role": "user", "content": "x"}], '
            b'"temperature": 9}',
            "param",
        ),
        (
            b'{"model": "route:factual", "messages": [{"role": "user", "content": "x"}], '
            b'"max_tokens": "many"}',
            "max_tokens",
        ),
    ],
)
def test_bad_bodies_get_a_400_naming_the_field(gateway, routed, body, field):
    answer = httpx.post(
        gateway.url + "/v1/chat/completions",
        content=body,
        headers={"content-type": "application/json"},
    )
    assert answer.status_code == 400
    error = answer.json()["error"]
    assert error.get("field") == field
    assert error["message"] and "\n" not in error["message"]
    from modelward.llm.usage import usage_summary

    gateway.app.state.gateway.flush()
    assert usage_summary(routed.db) == []


def test_unknown_route_and_model_are_404(gateway):
    for model in ("route:poetry", "gpt-99"):
        body = {"model": model, "messages": [{"role": "user", "content": "x"}]}
        answer = httpx.post(gateway.url + "/v1/chat/completions", json=body)
        assert answer.status_code == 404
        assert answer.json()["error"]["field"] == "model"
    assert httpx.get(gateway.url + "/v2/whatever").status_code == 404


def test_metrics_endpoint_counts_requests(gateway):
    body = {"model": "route:factual", "messages": [{"role": "user", "content": "count me"}]}
    httpx.post(gateway.url + "/v1/chat/completions", json=body)
    text = httpx.get(gateway.url + "/metrics").text
    assert 'modelward_llm_requests_total{model="good",query_type="factual",status="ok"} 1.0' in text


def test_canary_takes_its_share_of_a_route(routed, fake):
    from modelward.llm.gateway import create_gateway_app

    save_routes(
        routed,
        {"factual": {"models": ["good"], "canary": {"model": "slow", "weight": 30}}},
        reason="canary",
    )
    served = Served(create_gateway_app(routed))
    try:
        served_by = []
        with httpx.Client() as client:
            for i in range(200):
                body = {
                    "model": "route:factual",
                    "messages": [{"role": "user", "content": f"canary {i}"}],
                }
                served_by.append(
                    client.post(served.url + "/v1/chat/completions", json=body).json()["model"]
                )
    finally:
        served.stop()
    share = served_by.count("slow:1") / len(served_by)
    # binomial(200, 0.3): mean 60, sd 6.5; 0.15-0.45 is beyond 4.5 sd either side
    assert 0.15 < share < 0.45
    assert set(served_by) == {"good:1", "slow:1"}


def test_gateway_follows_a_new_routing_revision(gateway, routed):
    body = {"model": "route:factual", "messages": [{"role": "user", "content": "follow"}]}
    assert httpx.post(gateway.url + "/v1/chat/completions", json=body).json()["model"] == ("good:1")
    save_routes(routed, {"factual": {"models": ["slow"]}}, reason="switch")
    gateway.app.state.gateway.refresh()
    body["messages"][0]["content"] = "follow 2"
    assert httpx.post(gateway.url + "/v1/chat/completions", json=body).json()["model"] == ("slow:1")


def test_streaming_falls_back_before_the_first_chunk(gateway, fake, client):
    fake.behaviour.models["good"].error_rate = 1.0
    stream = client.chat.completions.create(
        model="route:factual",
        stream=True,
        messages=[{"role": "user", "content": "stream fallback please"}],
    )
    chunks = [c for c in stream if c.choices]
    assert {c.model for c in chunks} == {"slow:1"}
    assert "".join(c.choices[0].delta.content or "" for c in chunks) == (
        "This is slow's answer to: stream fallback please"
    )


def test_per_key_budget_uses_token_names(routed, fake):
    import hashlib

    from modelward.llm.config import load_config
    from modelward.llm.gateway import create_gateway_app
    from modelward.store.tables import TokenRow
    from modelward.timeutil import utcnow

    with routed.db.session() as session:
        session.add(
            TokenRow(
                name="team-a",
                token_hash=hashlib.sha256(b"tok-a").hexdigest(),
                scopes=[],
                created_at=utcnow(),
                created_by="t",
            )
        )
    path = routed.root / "llm.yml"
    path.write_text(
        path.read_text() + "gateway:\n  key_budgets: {team-a: {monthly: 0.000001}}\n"
        "  classifier: {technical: [python]}\n"
    )
    served = Served(create_gateway_app(routed, config=load_config(path)))
    try:
        url = served.url + "/v1/chat/completions"
        body = {"model": "auto", "messages": [{"role": "user", "content": "python: 17 * 3?"}]}
        first = httpx.post(url, json=body, headers={"Authorization": "Bearer tok-a"})
        assert first.status_code == 200
        assert first.headers["x-modelward-query-type"] == "technical"  # the classifier
        body["messages"][0]["content"] = "python: again"
        refused = httpx.post(url, json=body, headers={"Authorization": "Bearer tok-a"})
        assert refused.status_code == 429
        assert "'team-a' has spent its monthly budget" in refused.json()["error"]["message"]
        other = httpx.post(url, json=body, headers={"Authorization": "Bearer someone-else"})
        assert other.status_code == 200
        state = served.app.state.gateway
        state.flush()
        from modelward.llm.usage import usage_summary

        keys = {u["api_key"] for u in usage_summary(routed.db)}
        assert keys == {"team-a", "-"}
    finally:
        served.stop()


def test_gateway_streams_from_an_anthropic_endpoint(routed):
    from openai import OpenAI

    from modelward.llm.gateway import create_gateway_app

    routed.llm.register("claude-ish", provider="anthropic", model="good")
    routed.llm.register("llama-ish", provider="ollama", model="good")
    save_routes(routed, {"research": {"models": ["claude-ish", "llama-ish"]}}, reason="t")
    served = Served(create_gateway_app(routed))
    try:
        with OpenAI(base_url=served.url + "/v1", api_key="x", max_retries=0) as client:
            for_stream = client.chat.completions.create(
                model="route:research",
                stream=True,
                messages=[
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "What is the capital of Japan?"},
                ],
            )
            text = "".join(c.choices[0].delta.content or "" for c in for_stream if c.choices)
            plain = client.chat.completions.create(
                model="llama-ish", messages=[{"role": "user", "content": "What is 17 * 3?"}]
            )
            cut = list(
                client.chat.completions.create(
                    model="claude-ish",
                    stream=True,
                    max_tokens=1,
                    messages=[{"role": "user", "content": "Tell me a story about a cat"}],
                )
            )
    finally:
        served.stop()
    assert text == "Tokyo"
    # Anthropic's stop_reason max_tokens reaches an OpenAI client as "length"
    assert [c.choices[0].finish_reason for c in cut if c.choices][-1] == "length"
    assert plain.choices[0].message.content == "51" and plain.model == "llama-ish"


def test_a_timeout_falls_back_to_the_next_model(routed, fake):
    from modelward.llm.config import load_config
    from modelward.llm.gateway import create_gateway_app

    fake.behaviour.models["good"].latency_ms = 2000
    path = routed.root / "llm.yml"
    path.write_text(
        path.read_text().replace(
            "    timeout_s: 5\n    max_retries: 2\n", "    timeout_s: 0.3\n    max_retries: 0\n", 1
        )
    )
    served = Served(create_gateway_app(routed, config=load_config(path)))
    try:
        body = {"model": "route:factual", "messages": [{"role": "user", "content": "slowly"}]}
        answer = httpx.post(served.url + "/v1/chat/completions", json=body, timeout=10)
        assert answer.status_code == 200
        assert answer.json()["model"] == "slow:1"
        state = served.app.state.gateway
        state.flush()
        from modelward.llm.usage import usage_summary

        usage = {u["model"]: u for u in usage_summary(routed.db)}
        assert usage["good"]["errors"] == 1 and usage["slow"]["errors"] == 0
    finally:
        served.stop()


def test_a_bug_is_one_json_500_without_a_traceback(gateway, monkeypatch):
    state = gateway.app.state.gateway

    def broken(*args, **kwargs):
        raise RuntimeError("boom")

    monkeypatch.setattr(state, "candidates", broken)
    body = {"model": "route:factual", "messages": [{"role": "user", "content": "x"}]}
    answer = httpx.post(gateway.url + "/v1/chat/completions", json=body)
    assert answer.status_code == 500
    assert answer.json() == {
        "error": {"code": "internal", "type": "internal", "message": "internal error; see the log"}
    }


def test_finish_reason_is_in_openai_vocabulary_for_an_anthropic_endpoint(routed):
    from openai import OpenAI

    from modelward.llm.gateway import create_gateway_app

    routed.llm.register("claude-ish", provider="anthropic", model="good")
    served = Served(create_gateway_app(routed))
    try:
        with OpenAI(base_url=served.url + "/v1", api_key="x", max_retries=0) as client:
            plain = client.chat.completions.create(
                model="claude-ish", messages=[{"role": "user", "content": "What is 17 * 3?"}]
            )
            cut = client.chat.completions.create(
                model="claude-ish",
                max_tokens=1,
                messages=[{"role": "user", "content": "Tell me about the capital of Japan."}],
            )
    finally:
        served.stop()
    assert plain.choices[0].finish_reason == "stop"  # Anthropic says end_turn
    assert cut.choices[0].finish_reason == "length"  # Anthropic says max_tokens
