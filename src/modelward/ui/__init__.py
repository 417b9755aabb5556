"""The web dashboard: server-rendered pages of everything the workspace records, under
``/ui/`` of ``modelward serve`` or of ``modelward ui`` (:mod:`modelward.ui.dashboard`)."""

from modelward.ui.dashboard import Dashboard

__all__ = ["Dashboard"]
