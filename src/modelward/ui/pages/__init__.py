"""The dashboard's pages, one module per page family, each with its ``ROUTES``."""

from __future__ import annotations

from modelward.ui.pages import alerts, deployments, home, llm, models, monitoring, reports, rollouts
from modelward.ui.view import PageRoute

__all__ = ["PAGES"]

PAGES: tuple[PageRoute, ...] = (
    *home.ROUTES,
    *models.ROUTES,
    *monitoring.ROUTES,
    *rollouts.ROUTES,
    *deployments.ROUTES,
    *llm.ROUTES,
    *alerts.ROUTES,
    *reports.ROUTES,
)
