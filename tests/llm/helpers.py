"""Shared helpers for the LLM tests: a fake-provider config, a small dataset, and an app
served by uvicorn on a real socket."""

from __future__ import annotations

import json
import socket
import threading
import time
from pathlib import Path
from typing import Any

DATASET = [
    {
        "id": "f1",
        "category": "factual",
        "input": "What is the capital of France?",
        "expected": "Paris",
    },
    {
        "id": "f2",
        "category": "factual",
        "input": "What is the capital of Japan?",
        "expected": "Tokyo",
    },
    {
        "id": "f3",
        "category": "factual",
        "input": "Which planet is known as the red planet?",
        "expected": ["Mars", "planet Mars"],
        "scorer": "contains",
    },
    {
        "id": "f4",
        "category": "factual",
        "input": "What is the chemical symbol for gold?",
        "expected": "Au",
        "scorer": "exact",
    },
    {
        "id": "t1",
        "category": "technical",
        "input": "What is 17 * 3?",
        "expected": "51",
        "scorer": "numeric",
    },
    {
        "id": "t2",
        "category": "technical",
        "input": "Which HTTP status means Too Many Requests?",
        "expected": "429",
        "scorer": "numeric",
    },
    {
        "id": "t3",
        "category": "technical",
        "input": "Pick the sorting algorithm with O(n log n) "
        "worst case: A) quicksort B) mergesort C) bubble sort",
        "expected": "B",
        "scorer": "choice",
    },
    {
        "id": "t4",
        "category": "technical",
        "input": "Name the Python keyword that defines a function.",
        "expected": "^def$",
        "scorer": "regex",
    },
]


def write_dataset(path: Path, items: list[dict[str, Any]] | None = None) -> Path:
    path.write_text("\n".join(json.dumps(i) for i in (items or DATASET)) + "\n", encoding="utf-8")
    return path


def answers() -> dict[str, str]:
    out = {}
    for item in DATASET:
        expected = item["expected"]
        value = expected[0] if isinstance(expected, list) else expected
        out[str(item["input"])] = "def" if value == "^def$" else str(value)
    return out


def llm_yml(openai_url: str, anthropic_url: str, ollama_url: str, hf_url: str) -> str:
    return f"""
providers:
  openai:
    kind: openai
    base_url: {openai_url}
    api_key_env: FAKE_OPENAI_KEY
    timeout_s: 5
    max_retries: 2
    backoff_s: 0.01
    required: true
    models: [good, cheap]
  anthropic:
    kind: anthropic
    base_url: {anthropic_url}
    api_key_env: FAKE_ANTHROPIC_KEY
    timeout_s: 5
    backoff_s: 0.01
  ollama:
    kind: ollama
    base_url: {ollama_url}
    timeout_s: 5
    backoff_s: 0.01
  hf:
    kind: huggingface
    base_url: {hf_url}
    timeout_s: 5
    backoff_s: 0.01
    models: [cheap]
prices:
  good: {{input: 5.0, output: 15.0}}
  cheap: {{input: 0.15, output: 0.6}}
  slow: {{input: 1.0, output: 2.0}}
"""


def deploy_heart(ws: Any, cleveland: Any, fitted: Any) -> None:
    """The Cleveland pipeline as heart v1, validated and serving production."""
    from conftest import FEATURES

    ws.register("heart", fitted, data=cleveland[[*FEATURES, "target"]], target="target")
    ws.registry.record_run(
        "validation", model="heart", version=1, inputs={}, results={}, verdict="pass"
    )
    ws.transition("heart", 1, "testing", reason="test")
    ws.deployments.deploy("heart", 1, "production", reason="test")


class Served:
    def __init__(self, app) -> None:
        import uvicorn

        self.app = app
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        self.server = uvicorn.Server(uvicorn.Config(app, log_level="warning"))
        self.thread = threading.Thread(
            target=self.server.run, kwargs={"sockets": [sock]}, daemon=True
        )
        self.thread.start()
        while not self.server.started:
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=10)


def read_head(conn: socket.socket) -> bytes | None:
    """An HTTP request's bytes up to and past the blank line after its headers (None when
    the peer closed first); what follows the blank line may be part of the body."""
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = conn.recv(65536)
        if not chunk:
            return None
        head += chunk
    return head
