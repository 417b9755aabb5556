"""The LLM fleet: routing, spend against budgets, evaluations, endpoint canaries, alerts.

``/ui/llm`` is the fleet at a glance: the month's spend against the policy's budget and
each API key's budget (``gateway.key_budgets`` in llm.yml), the current routing table of an
environment (``?env=``) with the canary weight of each route, the endpoint rollouts with
their users' satisfaction as the rollout judge stored it, the providers llm.yml names and
the open LLM alerts. ``/ui/llm/routes`` pages through the routing table's revisions,
``/ui/llm/usage`` charts requests and spend per model and API key by day (``?days=``), and
``/ui/llm/evaluations`` lists the stored evaluation runs per query category against the
policy's thresholds.

Every number comes from stored rows (``usage``, ``routing_tables``, ``runs``, ``rollouts``,
``alerts``), aggregated in SQL and LIMITed: a page never calls a provider, never re-runs a
check and never reads the prediction log. The usage window is the CLI's (``modelward llm
usage --days N``: UTC days, today included), so both show the same sums.
"""

from __future__ import annotations

from modelward.ui.pages.llm.evaluations import evaluations
from modelward.ui.pages.llm.overview import overview
from modelward.ui.pages.llm.routes import routes
from modelward.ui.pages.llm.usage import usage
from modelward.ui.view import PageRoute

__all__ = ["ROUTES"]

ROUTES = [
    PageRoute("/llm", overview),
    PageRoute("/llm/routes", routes),
    PageRoute("/llm/usage", usage),
    PageRoute("/llm/evaluations", evaluations),
]
