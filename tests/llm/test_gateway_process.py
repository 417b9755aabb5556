"""``modelward llm gateway`` as a real process: an answer it gave survives its kill, and
is counted in usage and metrics as soon as it is read."""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import httpx
import pytest
from openai import OpenAI

from deploy.kit import free_port
from modelward.llm.routing import save_routes
from serving.conftest import wait_for

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def routed(fleet):
    save_routes(fleet, {"factual": {"models": ["good"]}}, reason="test")
    return fleet


@pytest.fixture
def process(routed):
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelward.cli.main", "-w", str(routed.root), "llm", "gateway",
         "--port", str(port)],
        env=os.environ.copy(),  # the fake's API keys (llm_ws)
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"

    def up() -> bool:
        try:
            return httpx.get(url + "/healthz", timeout=1).status_code == 200
        except httpx.HTTPError:
            return proc.poll() is not None  # exited: said below

    wait_for(up, what="the gateway answers /healthz")
    assert proc.poll() is None, "the gateway exited at start"
    yield proc, url
    if proc.poll() is None:
        proc.kill()
        proc.wait(timeout=10)


def ask(url: str, n: int) -> list[str]:
    with OpenAI(base_url=url + "/v1", api_key="anything", max_retries=0) as client:
        return [
            client.chat.completions.create(
                model="route:factual",
                messages=[{"role": "user", "content": f"What is the capital of France? {i}"}],
            ).id
            for i in range(n)
        ]


def test_a_killed_gateway_loses_no_answer_it_gave(routed, process):
    from modelward.predlog import predictions

    proc, url = process
    ids = ask(url, 5)
    proc.send_signal(signal.SIGKILL)  # right after answering: no flush, no shutdown
    assert proc.wait(timeout=10) == -signal.SIGKILL
    logged = predictions(routed.logs_url, "good", wal=routed.layout.wal).df()
    assert set(ids) <= set(logged["request_id"])
    assert set(logged.loc[logged["request_id"].isin(ids), "status"]) == {"ok"}


def test_answers_are_counted_by_the_next_reader(routed, process):
    _, url = process
    ask(url, 3)
    metrics = httpx.get(url + "/metrics").text  # at once: no wait for a flush
    assert 'modelward_llm_requests_total{model="good",query_type="factual",status="ok"} 3.0' in (
        metrics
    )
