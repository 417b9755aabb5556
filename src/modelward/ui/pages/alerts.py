"""(being written)"""

from __future__ import annotations

from modelward.ui.view import PageRoute

ROUTES: list[PageRoute] = []
