"""``/docs`` renders in a real browser with the network blocked: Swagger UI is served by
the server itself, and the page loads nothing from anywhere else.

Drives Debian's Chromium (``/usr/bin/chromium``; ``make test`` installs it when missing)
through Playwright, never a browser Playwright would download."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlsplit

import pytest

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

pytestmark = [
    pytest.mark.skipif(
        not CHROMIUM.exists(),
        reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium; "
        "`make test` installs it as root)",
    ),
    pytest.mark.sqlite_only,
]


def test_docs_render_offline_and_load_nothing_from_elsewhere(live):
    from playwright.sync_api import sync_playwright

    failed: list[str] = []
    elsewhere: list[str] = []
    errors: list[str] = []

    def only_this_server(route) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:  # the network is blocked: anything not ours fails
            elsewhere.append(route.request.url)
            route.abort()

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        try:
            page = browser.new_page()
            page.route("**/*", only_this_server)
            page.on("requestfailed", lambda r: failed.append(f"{r.url}: {r.failure}"))
            page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.url}: {r.status}"))
            page.on("console", lambda m: m.type == "error" and errors.append(m.text))
            page.on("pageerror", lambda e: errors.append(str(e)))
            page.goto(f"{live.url}/docs")
            predict = page.locator(".opblock-summary-path", has_text="/v1/models/{name}/predict")
            predict.wait_for(state="visible", timeout=30_000)
            summary = page.locator(".opblock-post", has=predict).locator(".opblock-summary")
            text = summary.inner_text()
            title = page.title()
        finally:
            browser.close()
    assert "POST" in text and "Predict one row or many" in text
    assert title == "modelward serve"
    assert (failed, elsewhere, errors) == ([], [], [])
