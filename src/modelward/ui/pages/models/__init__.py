"""A model, one of its versions, two versions side by side, and moving a version's stage.

- ``/models/{name}``: the versions (a page of them: stage, task, flavor, headline metrics
  with their intervals, aliases), where it is deployed, its reports and cards, and its
  history timeline (a page of events, filterable by kind with ``?kind=``).
- ``/models/{name}/versions/{v}``: everything stored about one version (schema, reference
  profile per feature, params, metrics with intervals, artifact checksum or an endpoint's
  spec, source, tags, card) and every run of it (a page of them), each linking its run page.
- ``/models/{name}/compare?a=&b=``: two versions' params and metrics, differing values
  marked (the "compare runs" habit).
- ``POST /models/{name}/versions/{v}/transition``: the same ``Workspace.transition`` the
  ``modelward transition`` command calls, so the gates judge it and history records it
  as the CLI's; a refused gate answers its one-line message and changes nothing.

Every query names its columns and is LIMITed (or reads one row by key): a model with
thousands of versions and events renders from a few indexed reads.
"""

from __future__ import annotations

from modelward.ui.pages.models.compare import compare_page
from modelward.ui.pages.models.model import headline, model_page
from modelward.ui.pages.models.transition import transition
from modelward.ui.pages.models.version import metric_rows, version_page
from modelward.ui.view import PageRoute

__all__ = [
    "ROUTES",
    "compare_page",
    "headline",
    "metric_rows",
    "model_page",
    "transition",
    "version_page",
]

ROUTES = [
    PageRoute("/models/{name}", model_page),
    PageRoute("/models/{name}/compare", compare_page),
    PageRoute("/models/{name}/versions/{version}", version_page),
    PageRoute("/models/{name}/versions/{version}/transition", transition, action=True),
]
