"""The LLM gateway through the balancer: nginx from deploy/nginx/modelward.conf in front of
two real `modelward serve` replicas of a workspace with llm.yml (fake providers speaking
the OpenAI protocol), called with the official openai SDK, answers and streams as a
replica does, and the calls are spread over both replicas."""

from __future__ import annotations

import pytest

from deploy.balancer import counted
from llm.conftest import fake, fleet, llm_ws
from modelward.llm.routing import save_routes

__all__ = ["fake", "fleet", "llm_ws"]


@pytest.fixture
def gateways(fleet, start_server, balancer_of):
    save_routes(fleet, {"factual": {"models": ["good"]}}, reason="test")
    replicas = [start_server(), start_server()]
    for replica in replicas:
        assert replica.url, replica.output()
    return replicas, balancer_of(replicas)


def llm_calls(url: str) -> float:
    return counted(url, "modelward_llm_requests_total", status="ok")


def test_the_gateway_answers_and_streams_through_the_balancer(gateways):
    from openai import OpenAI

    replicas, balancer = gateways
    with OpenAI(base_url=balancer.url + "/v1", api_key="unused", max_retries=0) as client:
        assert "route:factual" in {model.id for model in client.models.list()}
        for n in range(4):
            question = f"What is {n} plus {n}? Tell me a story."
            answer = client.chat.completions.create(
                model="route:factual", messages=[{"role": "user", "content": question}]
            )
            stream = client.chat.completions.create(
                model="route:factual",
                stream=True,
                messages=[{"role": "user", "content": question + " (streamed)"}],
            )
            chunks = [c.choices[0].delta.content or "" for c in stream if c.choices]
            assert len(chunks) > 1, chunks  # server-sent events, chunk by chunk
            expected = f"This is good's answer to: {question}"
            assert answer.choices[0].message.content == expected
            assert "".join(chunks) == expected + " (streamed)"
    calls = [llm_calls(replica.url) for replica in replicas]
    assert sum(calls) == 8 and min(calls) >= 2, calls
