"""Monitoring: the stored results of the checks, and any one stored run.

- ``/ui/monitoring``: every model (a page of them) by environment with the latest result
  of each check, and the machine's last resources check.
- ``/ui/monitoring/{name}?env=``: each check's history in one environment as time series
  with their intervals and thresholds (the newest ``?runs=`` runs of each check).
- ``/ui/runs/{id}``: one stored run; a check's run drilled into (drift per feature with
  its histograms, quality per feature, metrics per version, degradation slices, the
  reviewed predictions), any other run's results as nested tables.

Pages read the ``runs`` table only, never the prediction log and never a check run
anew. The figures a chart needs are picked out of the stored JSON by the database
(:class:`~modelward.ui.sql.Json`), so a history of drift runs never loads their histograms.
"""

from __future__ import annotations

from modelward.ui.pages.monitoring.history import model_page
from modelward.ui.pages.monitoring.overview import overview
from modelward.ui.pages.monitoring.run import run_page, tree
from modelward.ui.view import PageRoute

__all__ = ["ROUTES", "model_page", "run_page", "tree"]

ROUTES = [
    PageRoute("/monitoring", overview),
    PageRoute("/monitoring/{name}", model_page),
    PageRoute("/runs/{id}", run_page),
]
