"""API keys never leave the process: not in gateway answers, the log, or the server's log.

The fake provider is told to quote the credential it received in its error messages (as
some providers do), and the gateway runs in a real ``modelward serve`` process, called
with the official openai SDK.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llm.helpers import llm_yml
from modelward.llm.fake import FakeBehaviour, FakeModel, FakeServer
from serving import conftest as serving
from serving.conftest import start_live, stop_live

pytestmark = pytest.mark.sqlite_only

start_server = serving.start_server  # the fixture: a real `modelward serve` process

#: One key shaped like OpenAI's, one that only the remembered value can catch.
KEYS = ["sk-proj-Zt0pS3cretValue0123456789", "plain-looking-key-Horse-Battery-42"]


@pytest.fixture
def echoing() -> Iterator[FakeServer]:
    behaviour = FakeBehaviour(
        models={"good": FakeModel(), "broken": FakeModel(error_rate=1.0)}, echo_key=True
    )
    with FakeServer(behaviour) as server:
        yield server


def _wire(workspace, fake: FakeServer, monkeypatch, key: str):
    monkeypatch.setenv("FAKE_OPENAI_KEY", key)
    (workspace.root / "llm.yml").write_text(
        llm_yml(fake.openai_url, fake.anthropic_url, fake.ollama_url, fake.hf_url),
        encoding="utf-8",
    )
    workspace.llm.register("broken", provider="openai", model="broken")
    workspace.llm.register("good", provider="openai", model="good")
    return workspace


def _logged_errors(logs: str) -> list[str]:
    import duckdb

    files = sorted(Path(logs).rglob("*.parquet"))
    assert files, "the gateway wrote no prediction log"
    query = "SELECT error FROM read_parquet($files, hive_partitioning=true, union_by_name=true)"
    rows = duckdb.execute(query, {"files": [str(f) for f in files]}).fetchall()
    return [row[0] for row in rows if row[0]]


@pytest.mark.parametrize("key", KEYS)
def test_a_provider_echoing_the_key_leaks_it_nowhere(
    workspace, echoing, monkeypatch, start_server, key
):
    from openai import APIStatusError, OpenAI

    ws = _wire(workspace, echoing, monkeypatch, key)
    server = start_server()
    body = {"messages": [{"role": "user", "content": "What is the capital of France?"}]}
    with OpenAI(base_url=server.url + "/v1", api_key="unused", max_retries=0) as client:
        with pytest.raises(APIStatusError) as caught:
            client.chat.completions.create(model="broken:1", **body)
    answer = caught.value.response.text
    assert caught.value.status_code == 502 and "The server had an error" in answer
    assert "authorization: Bearer ***" in answer  # the provider's words, the key masked
    assert server.stop() == 0  # flushes the prediction log
    errors = _logged_errors(ws.logs_url)
    assert errors and all("The server had an error" in e for e in errors)
    for text in (answer, *errors, server.output()):
        assert key not in text


@pytest.mark.parametrize("variable_value", ["sk-tëst-key-123456", "sk-test-key\n"])
def test_a_key_a_header_cannot_carry_is_one_line_naming_the_variable(
    workspace, echoing, monkeypatch, cli, variable_value
):
    from openai import BadRequestError, OpenAI

    ws = _wire(workspace, echoing, monkeypatch, "placeholder-key")
    monkeypatch.setenv("FAKE_OPENAI_KEY", variable_value)
    ran = cli("llm", "health", "--provider", "openai")
    assert ran.exit_code == 2, ran.stderr
    assert "FAKE_OPENAI_KEY" in ran.stderr and ran.stderr.count("\n") == 1
    live = start_live(ws)
    try:
        with OpenAI(base_url=live.url + "/v1", api_key="unused", max_retries=0) as client:
            with pytest.raises(BadRequestError, match="FAKE_OPENAI_KEY"):
                client.chat.completions.create(
                    model="good:1", messages=[{"role": "user", "content": "hi"}]
                )
            stream = client.chat.completions.create(
                model="good:1", messages=[{"role": "user", "content": "hi"}], stream=True
            )
            with pytest.raises(Exception, match="FAKE_OPENAI_KEY"):
                list(stream)
    finally:
        stop_live(live)
