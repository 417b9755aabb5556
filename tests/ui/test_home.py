"""The home page a team lead opens every morning: every model with its versions and traffic,
the last result of each check, open alerts, running rollouts and the LLM spend — the same
records the CLI shows, in a real browser, by keyboard and at a phone's width."""

from __future__ import annotations

from modelward.present import fmt
from ui.conftest import cells, needs_chromium

pytestmark = needs_chromium


def _row(rows: list[list[str]], model: str) -> list[str]:
    return next(row for row in rows if row[0] == model)


def test_home_shows_what_the_cli_shows(dashboard, tab):
    page = tab.page
    page.goto(dashboard.url + "/ui/")
    rows = cells(page, "main table")
    models = dashboard.cli_json("models", "list")
    assert [row[0] for row in rows] == [m["name"] for m in models]
    for model in models:
        row = _row(rows, model["name"])
        assert row[1] == model["task"]
        production = model["production_version"]
        assert row[2] == (f"v{production}" if production else "")
    for deployment in dashboard.cli_json("deployments", "list"):
        split = " · ".join(f"v{t['version']} {t['weight']:g} %" for t in deployment["targets"])
        assert f"{deployment['environment']}: {split}" in _row(rows, deployment["model"])[4]
    heart = _row(rows, "heart-disease")[5]
    for check in ("drift", "metrics", "quality"):
        kind = f"monitor-{check}"
        latest = dashboard.cli_json(
            "runs", "list", "heart-disease", "--kind", kind, "--limit", "1"
        )[0]
        assert f"{check} {latest['verdict']}" in heart
    assert tab.clean(), tab.problems()


def test_home_counts_alerts_rollouts_and_spend_as_the_cli_does(dashboard, tab):
    page = tab.page
    page.goto(dashboard.url + "/ui/")
    cards = page.locator("section.cards").inner_text()
    open_alerts = dashboard.cli_json("monitor", "alerts")
    for level in ("critical", "warning"):
        count = sum(1 for a in open_alerts if a["level"] == level)
        assert (f"{level} {count}" in cards) == bool(count), (level, cards)
    live = [r for r in dashboard.cli_json("rollout", "list") if r["state"] in ("running", "paused")]
    assert live, "the demo leaves the heart-disease canary running"
    for rollout in live:
        assert f"{rollout['model']} v{rollout['canary_version']}" in cards
    spend = sum(row["cost"] for row in dashboard.cli_json("llm", "usage")["usage"])
    assert f"${fmt(spend, 4)}" in cards
    assert tab.clean(), tab.problems()


def test_every_link_of_the_home_page_answers(dashboard, tab):
    page = tab.page
    page.goto(dashboard.url + "/ui/")
    hrefs = sorted(set(page.eval_on_selector_all("a[href^='/ui/']", "a => a.map(x => x.href)")))
    assert len(hrefs) > 8
    broken = {href: dashboard.get(href.removeprefix(dashboard.url)).status_code for href in hrefs}
    assert {h: s for h, s in broken.items() if s != 200} == {}


def test_the_keyboard_reaches_the_content_and_every_section(dashboard, tab):
    page = tab.page
    page.goto(dashboard.url + "/ui/")
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.textContent") == "Skip to content"
    page.keyboard.press("Enter")
    page.wait_for_url("**#main")  # the jump is the browser's, after the key press
    page.goto(dashboard.url + "/ui/")
    reached = []
    for _ in range(9):
        page.keyboard.press("Tab")
        reached.append(page.evaluate("document.activeElement.textContent"))
    for section in ("Home", "Monitoring", "Rollouts", "Deployments", "LLM fleet", "Alerts"):
        assert section in reached
    assert page.locator("h1").count() == 1


def test_a_phone_width_scrolls_tables_not_the_page(dashboard, browser):
    context = browser.new_context(viewport={"width": 390, "height": 844}, is_mobile=True)
    try:
        page = context.new_page()
        page.goto(dashboard.url + "/ui/")
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 1, f"the page is {overflow} px wider than the phone"
        assert page.locator("div.scroll table").count() >= 1
    finally:
        context.close()


def test_times_are_utc_and_say_so(dashboard, tab):
    page = tab.page
    page.goto(dashboard.url + "/ui/")
    times = page.eval_on_selector_all("main time", "t => t.map(x => x.textContent)")
    assert times and all(t.endswith(" UTC") for t in times)
    assert "Times are UTC." in page.locator("footer").inner_text()
