"""Screenshots of the main pages, taken in the real browser from the demos' workspace.

They land in this test's folder, or in ``$MODELWARD_SCREENSHOTS`` when set: `make
screenshots` writes the ones docs/dashboard.md and the README show (docs/screenshots/).
Each page must load clean and draw what it has to draw before it is taken."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ui.conftest import drawn_charts, needs_chromium

pytestmark = needs_chromium

#: (file name, path, whether the page draws charts)
PAGES = [
    ("home", "/ui/", False),
    ("model", "/ui/models/heart-disease", False),
    ("version", "/ui/models/heart-disease/versions/1", False),
    ("monitoring", "/ui/monitoring/heart-disease", True),
    ("rollout", "/ui/rollouts/1", True),
    ("llm", "/ui/llm", True),
    ("alerts", "/ui/alerts", False),
]


@pytest.mark.parametrize(("name", "path", "charts"), PAGES, ids=[p[0] for p in PAGES])
def test_a_screenshot_of_each_main_page(dashboard, tab, tmp_path, name, path, charts):
    folder = Path(os.environ.get("MODELWARD_SCREENSHOTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    page = tab.page
    answer = page.goto(dashboard.url + path)
    assert answer is not None and answer.status == 200, path
    if charts:
        assert drawn_charts(page) > 0, path
    shot = folder / f"{name}.png"
    page.screenshot(path=str(shot), full_page=False)
    assert shot.stat().st_size > 10_000  # a page, not a blank window
    assert tab.clean(), tab.problems()
