"""Fake LLM providers that speak the real wire protocols over a real socket.

One ASGI app answers the OpenAI chat-completions, Anthropic Messages, Ollama native and
Hugging Face Inference protocols (usage fields, streaming, errors, 429 with Retry-After,
configurable latency). Answers are deterministic: for a prompt it knows (``answers``), a
model answers correctly with its configured ``accuracy`` (decided by a hash of model and
prompt), otherwise it says something wrong. Used by the tests, the demo and
``modelward llm fake-server``; never by real traffic.
"""

from modelward.llm.fake.behaviour import FakeBehaviour, FakeModel
from modelward.llm.fake.server import FakeServer, create_fake_app

__all__ = ["FakeBehaviour", "FakeModel", "FakeServer", "create_fake_app"]
