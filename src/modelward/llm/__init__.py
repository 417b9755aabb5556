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

from typing import TYPE_CHECKING

from modelward.lazy import lazy_exports

if TYPE_CHECKING:
    from modelward.llm.config import LLMConfig, ProviderConfig, load_config
    from modelward.llm.fleet import Call, LLMFleet
    from modelward.llm.types import ChatResult, Endpoint

#: Name -> module: loaded on first use, so importing one submodule (the monitor's
#: ``llm.satisfaction``, say) does not load the fleet and its HTTP clients.
_LAZY = {
    "Call": "modelward.llm.fleet",
    "ChatResult": "modelward.llm.types",
    "Endpoint": "modelward.llm.types",
    "LLMConfig": "modelward.llm.config",
    "LLMFleet": "modelward.llm.fleet",
    "ProviderConfig": "modelward.llm.config",
    "load_config": "modelward.llm.config",
}

__all__ = [
    "Call",
    "ChatResult",
    "Endpoint",
    "LLMConfig",
    "LLMFleet",
    "ProviderConfig",
    "load_config",
]


__getattr__ = lazy_exports(__name__, _LAZY)
