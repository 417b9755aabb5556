"""The LLM fleet: endpoint models behind several providers.

- :mod:`~modelward.llm.config`: ``llm.yml`` (providers, price catalog, gateway settings);
  API keys come from environment variables only.
- :mod:`~modelward.llm.providers`: async httpx adapters, one module per wire protocol.
- :mod:`~modelward.llm.endpoints`: endpoint models as registry versions.
- :mod:`~modelward.llm.evaluate`, :mod:`~modelward.llm.ranking`,
  :mod:`~modelward.llm.selection`, :mod:`~modelward.llm.tuning`, :mod:`~modelward.llm.cost`:
  the runbook's evaluation, comparison, selection, tuning and cost optimization.
- :mod:`~modelward.llm.routing`: the routing table (revisions, revert).
- :mod:`~modelward.llm.gateway`: the OpenAI-compatible gateway (a route group of the HTTP
  edge, or an app of its own).
- :mod:`~modelward.llm.fake`: fake providers speaking the real protocols, for tests/demos.
"""

from modelward.llm.config import LLMConfig, ProviderConfig, load_config
from modelward.llm.fleet import Call, LLMFleet
from modelward.llm.types import ChatResult, Endpoint

__all__ = [
    "Call",
    "ChatResult",
    "Endpoint",
    "LLMConfig",
    "LLMFleet",
    "ProviderConfig",
    "load_config",
]
