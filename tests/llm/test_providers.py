"""Provider adapters against the fake providers on a real socket: every protocol, retries,
Retry-After, typed errors, keys kept out of messages and logs; and the official SDKs
against the fakes, to prove the fakes speak the real protocols."""

from __future__ import annotations

import asyncio
import logging
import time

import httpx
import pytest

from modelward.errors import (
    ProviderAuthError,
    ProviderBadResponse,
    ProviderError,
    ProviderRateLimited,
    ProviderTimeout,
)
from modelward.llm.config import ProviderConfig
from modelward.llm.fake import FakeBehaviour, FakeModel, FakeServer
from modelward.llm.providers import make_provider, retry_after_seconds
from modelward.llm.types import StreamEnd

QUESTION = [{"role": "user", "content": "What is the capital of France?"}]
ANSWERS = {"What is the capital of France?": "The capital of France is Paris"}


def _urls(server: FakeServer) -> dict[str, str]:
    return {
        "openai": server.openai_url,
        "anthropic": server.anthropic_url,
        "ollama": server.ollama_url,
        "huggingface": server.hf_url,
    }


def _run(coro):
    return asyncio.run(coro)


async def _chat(kind, url, model="m", params=None, **config):
    config = {"backoff_s": 0.01, **config}
    provider = make_provider(
        kind, ProviderConfig(kind=kind, base_url=url, models=[model], **config)
    )
    try:
        return await provider.chat(model, QUESTION, params or {})
    finally:
        await provider.aclose()


async def _stream(kind, url, model="m", params=None):
    provider = make_provider(kind, ProviderConfig(kind=kind, base_url=url, backoff_s=0.01))
    try:
        return [piece async for piece in provider.stream(model, QUESTION, params or {})]
    finally:
        await provider.aclose()


@pytest.fixture
def server():
    behaviour = FakeBehaviour(models={"m": FakeModel()}, answers=ANSWERS)
    with FakeServer(behaviour) as s:
        yield s


@pytest.mark.parametrize("kind", ["openai", "anthropic", "ollama", "huggingface"])
def test_every_protocol_answers_streams_and_lists(server, kind):
    url = _urls(server)[kind]
    result = _run(_chat(kind, url))
    assert result.text == "The capital of France is Paris"
    assert result.output_tokens > 0 and result.input_tokens > 0
    *pieces, end = _run(_stream(kind, url))
    assert "".join(pieces) == "The capital of France is Paris"
    assert isinstance(end, StreamEnd) and end.finish_reason == FINISHED[kind]
    if kind != "huggingface":  # TGI's stream sends no prompt-token count
        assert end.input_tokens == result.input_tokens
        assert end.output_tokens == result.output_tokens
    provider = make_provider(kind, ProviderConfig(kind=kind, base_url=url, models=["m"]))
    assert _run(_list(provider)) == ["m"]


async def _list(provider):
    try:
        return await provider.list_models()
    finally:
        await provider.aclose()


#: How each protocol says "the answer is complete".
FINISHED = {"openai": "stop", "anthropic": "end_turn", "ollama": "stop", "huggingface": "eos_token"}


def test_max_tokens_truncates_and_reports_the_finish_reason(server):
    result = _run(_chat("openai", server.openai_url, params={"max_tokens": 2}))
    assert result.finish_reason == "length" and len(result.text) == 8
    result = _run(_chat("anthropic", server.anthropic_url, params={"max_tokens": 2}))
    assert result.finish_reason == "max_tokens"
    *_, end = _run(_stream("openai", server.openai_url, params={"max_tokens": 2}))
    assert end.finish_reason == "length" and end.output_tokens == 2
    *_, end = _run(_stream("anthropic", server.anthropic_url, params={"max_tokens": 2}))
    assert end.finish_reason == "max_tokens" and end.output_tokens == 2


def test_429_is_retried_honouring_retry_after(server):
    server.behaviour.models["m"] = FakeModel(fail_first=2, retry_after_s=0.2)
    start = time.perf_counter()
    result = _run(_chat("openai", server.openai_url, backoff_s=0.0, max_retries=3))
    assert result.attempts == 3
    assert time.perf_counter() - start >= 0.4  # two waits of Retry-After: 0.2 s


def test_429_after_the_last_retry_is_rate_limited(server):
    server.behaviour.models["m"] = FakeModel(fail_first=10, retry_after_s=0)
    with pytest.raises(ProviderRateLimited, match="still rate limiting after 2 attempts"):
        _run(_chat("anthropic", server.anthropic_url, max_retries=1))


def test_5xx_is_retried_then_a_provider_error(server):
    server.behaviour.models["m"] = FakeModel(error_rate=1.0)
    with pytest.raises(ProviderError, match="HTTP 500") as caught:
        _run(_chat("ollama", server.ollama_url, max_retries=2))
    assert type(caught.value) is ProviderError
    assert server.behaviour._calls["m"] == 3


def test_a_wrong_key_is_an_auth_error_that_never_shows_the_key(server, monkeypatch, caplog):
    server.behaviour.api_key = "right-key"
    monkeypatch.setenv("MY_KEY", "sk-wrong-secret-value")
    caplog.set_level(logging.DEBUG)
    with pytest.raises(ProviderAuthError, match="set MY_KEY to a valid key") as caught:
        _run(_chat("openai", server.openai_url, api_key_env="MY_KEY"))
    assert "sk-wrong-secret-value" not in caught.value.message
    assert "sk-wrong-secret-value" not in caplog.text
    monkeypatch.setenv("MY_KEY", "right-key")
    assert _run(_chat("openai", server.openai_url, api_key_env="MY_KEY")).text
    assert _run(_chat("anthropic", server.anthropic_url, api_key_env="MY_KEY")).text


def test_a_slow_provider_times_out(server):
    server.behaviour.models["m"] = FakeModel(latency_ms=500)
    with pytest.raises(ProviderTimeout, match="did not answer within 0.1s"):
        _run(_chat("openai", server.openai_url, timeout_s=0.1, max_retries=1))


def test_an_unreachable_provider_is_a_provider_error():
    with pytest.raises(ProviderError, match="is unreachable"):
        _run(_chat("openai", "http://127.0.0.1:9", max_retries=0))


@pytest.mark.parametrize("kind", ["openai", "anthropic", "ollama", "huggingface"])
@pytest.mark.parametrize("body", [b'{"unexpected": 1}', b"<html>not json</html>"])
def test_an_answer_of_another_shape_is_a_bad_response(kind, body):
    def handler(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=body)

    async def call():
        client = httpx.AsyncClient(transport=httpx.MockTransport(handler))
        provider = make_provider(
            kind, ProviderConfig(kind=kind, base_url="http://x"), client=client
        )
        try:
            return await provider.chat("m", QUESTION, {})
        finally:
            await client.aclose()

    with pytest.raises(ProviderBadResponse, match=f"{kind} protocol"):
        _run(call())


def test_retry_after_parses_seconds_and_http_dates():
    assert retry_after_seconds("3") == 3.0
    assert retry_after_seconds(None) is None
    assert retry_after_seconds("soon") is None
    from datetime import UTC, datetime, timedelta
    from email.utils import format_datetime

    later = format_datetime(datetime.now(UTC) + timedelta(seconds=30), usegmt=True)
    assert 25 <= (retry_after_seconds(later) or 0) <= 31


def test_official_openai_sdk_against_the_fake(server):
    from openai import OpenAI

    with OpenAI(base_url=server.openai_url, api_key="k", max_retries=0) as client:
        answer = client.chat.completions.create(model="m", messages=QUESTION)
        assert answer.choices[0].message.content == "The capital of France is Paris"
        assert (
            answer.usage.total_tokens == answer.usage.prompt_tokens + answer.usage.completion_tokens
        )
        stream = client.chat.completions.create(
            model="m", messages=QUESTION, stream=True, stream_options={"include_usage": True}
        )
        chunks = list(stream)
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == "The capital of France is Paris"
        assert chunks[-1].usage.completion_tokens > 0
        assert [m.id for m in client.models.list()] == ["m"]


def test_official_openai_sdk_sees_429_as_rate_limit_error(server):
    import openai

    server.behaviour.models["m"] = FakeModel(fail_first=5)
    with openai.OpenAI(base_url=server.openai_url, api_key="k", max_retries=0) as client:
        with pytest.raises(openai.RateLimitError):
            client.chat.completions.create(model="m", messages=QUESTION)


def test_official_anthropic_sdk_against_the_fake(server):
    import anthropic

    with anthropic.Anthropic(base_url=server.anthropic_url, api_key="k", max_retries=0) as client:
        message = client.messages.create(
            model="m", max_tokens=100, messages=QUESTION, system="Be brief."
        )
        assert message.content[0].text == "The capital of France is Paris"
        assert message.usage.output_tokens > 0 and message.stop_reason == "end_turn"
        with client.messages.stream(model="m", max_tokens=100, messages=QUESTION) as stream:
            text = "".join(stream.text_stream)
            final = stream.get_final_message()
        assert text == "The capital of France is Paris"
        assert final.usage.output_tokens == message.usage.output_tokens
        assert [m.id for m in client.models.list()] == ["m"]
        with pytest.raises(anthropic.NotFoundError):
            client.messages.create(model="nope", max_tokens=10, messages=QUESTION)


def test_fake_server_runs_from_the_cli(tmp_path):
    import subprocess
    import sys

    config = tmp_path / "fake.yml"
    config.write_text("models:\n  m: {accuracy: 1}\nanswers:\n  'ping': 'pong'\n")
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelward.cli.main", "llm", "fake-server", "--config", str(config)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = proc.stdout.readline()
        assert line.startswith("FAKE providers (not real models) on http://127.0.0.1:")
        url = line.split(" on ")[1].split(":")[0:3]
        base = ":".join(url)
        body = {"model": "m", "messages": [{"role": "user", "content": "ping"}]}
        answer = httpx.post(f"{base}/v1/chat/completions", json=body).json()
        assert answer["choices"][0]["message"]["content"] == "pong"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        proc.stdout.close()
