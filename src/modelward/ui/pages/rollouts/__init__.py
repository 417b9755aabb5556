"""Rollouts: live and past canaries, and one rollout's analysis, plan, weights and actions.

``/ui/rollouts`` lists rollouts (newest first, a page at a time, filtered by state or
model). ``/ui/rollouts/{id}`` is one rollout as the controller saw it (the Argo Rollouts
analysis view): the latest judgement of each stage with every check's canary and stable
value, limit, test and p-value; the decisions a page at a time (the runs
:meth:`RolloutEngine._record` stores: kind ``rollout``, ``inputs.rollout`` its id); the
canary's weight over time from the rollout's history events; the plan it froze at start.

The actions (POST ``/ui/rollouts/{id}/pause|resume|advance|abort``, ``reason`` in the
form) call the engine's own methods, as ``modelward rollout pause|resume|advance|abort``
does, so history records them alike. The CLI names a rollout by model and environment;
the page by id, so an action on a rollout that is no longer live is refused here (it
would otherwise reach the model's newer rollout).
"""

from __future__ import annotations

from modelward.ui.pages.rollouts.action import act
from modelward.ui.pages.rollouts.listing import rollouts
from modelward.ui.pages.rollouts.rollout import rollout
from modelward.ui.view import PageRoute

__all__ = ["ROUTES"]

ROUTES = [
    PageRoute("/rollouts", rollouts),
    PageRoute("/rollouts/{id}", rollout),
    PageRoute("/rollouts/{id}/{action}", act, action=True),
]
