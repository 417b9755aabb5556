"""Fixtures for the LLM tests: fake providers on a real socket, a workspace wired to them."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from llm.helpers import Served, answers, llm_yml, write_dataset
from modelward.llm.fake import FakeBehaviour, FakeModel, FakeServer


def _behaviour() -> FakeBehaviour:
    return FakeBehaviour(
        models={
            "good": FakeModel(accuracy=1.0, latency_ms=5),
            "cheap": FakeModel(accuracy=0.5, latency_ms=1),
            # 40x good's latency: a scheduling stall of a busy CI machine (one call of good
            # took ~200 ms there once) cannot make good look slower than slow
            "slow": FakeModel(accuracy=1.0, latency_ms=200),
        },
        answers=answers(),
    )


@pytest.fixture
def fake() -> Iterator[FakeServer]:
    with FakeServer(_behaviour()) as server:
        yield server


@pytest.fixture
def llm_ws(workspace, fake: FakeServer, monkeypatch: pytest.MonkeyPatch):
    """A workspace whose llm.yml points every provider at the fake server."""
    monkeypatch.setenv("FAKE_OPENAI_KEY", "sk-test-secret-123")
    monkeypatch.setenv("FAKE_ANTHROPIC_KEY", "sk-ant-secret-456")
    (workspace.root / "llm.yml").write_text(
        llm_yml(fake.openai_url, fake.anthropic_url, fake.ollama_url, fake.hf_url),
        encoding="utf-8",
    )
    return workspace


@pytest.fixture
def dataset(tmp_path: Path) -> Path:
    return write_dataset(tmp_path / "qa.jsonl")


@pytest.fixture
def fleet(llm_ws):
    """Three endpoint models registered: good, cheap, slow (all on the OpenAI protocol)."""
    for name in ("good", "cheap", "slow"):
        llm_ws.llm.register(name, provider="openai", model=name)
    return llm_ws


@pytest.fixture
def gateway(routed) -> Iterator[Served]:
    from modelward.llm.gateway import create_gateway_app

    served = Served(create_gateway_app(routed))
    yield served
    served.stop()


@pytest.fixture
def client(gateway):
    from openai import OpenAI

    with OpenAI(base_url=gateway.url + "/v1", api_key="anything", max_retries=0) as c:
        yield c
