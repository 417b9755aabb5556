"""The gateway after its pooled provider connections went stale (SLOW: waits ~8 s).

The upstream is the fake provider on a real uvicorn server, which closes a connection idle
for 5 s (uvicorn's default ``timeout_keep_alive``). 32 concurrent requests fill the
gateway's pool of keep-alive connections to it; 8 s later every pooled connection has
been closed by the upstream, and the next requests must still all be answered. The
provider gets no retries of its own (``max_retries: 0``), so a stale connection tried
again on another stale one would be a 502 here.
"""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from llm.helpers import Served
from modelward.llm.fake import FakeBehaviour, FakeModel, FakeServer
from modelward.llm.routing import save_routes

LLM_YML = """
providers:
  openai:
    kind: openai
    base_url: {url}
    timeout_s: 5
    max_retries: 0
    concurrency: 32
"""


@pytest.fixture
def upstream():
    behaviour = FakeBehaviour(models={"good": FakeModel(accuracy=1.0, latency_ms=20)})
    with FakeServer(behaviour, keep_alive_s=5) as server:
        yield server


@pytest.fixture
def gateway(workspace, upstream):
    from modelward.llm.gateway import create_gateway_app

    (workspace.root / "llm.yml").write_text(LLM_YML.format(url=upstream.openai_url))
    workspace.llm.register("good", provider="openai", model="good")
    save_routes(workspace, {"factual": {"models": ["good"]}}, reason="test")
    served = Served(create_gateway_app(workspace))
    yield served
    served.stop()


@pytest.mark.slow  # waits 8 s
@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)  # the transport is judged
def test_requests_after_the_upstream_closed_idle_pooled_connections_all_succeed(gateway):
    from openai import OpenAI

    with OpenAI(base_url=gateway.url + "/v1", api_key="anything", max_retries=0) as client:

        def ask(i: int) -> int:
            answer = client.chat.completions.with_raw_response.create(
                model="route:factual",
                messages=[{"role": "user", "content": f"Question number {i}?"}],
            )
            return answer.status_code

        with ThreadPoolExecutor(32) as pool:
            assert list(pool.map(ask, range(32))) == [200] * 32
            time.sleep(8)  # > the upstream's 5 s keep-alive: every pooled connection is closed
            assert list(pool.map(ask, range(32, 40))) == [200] * 8
