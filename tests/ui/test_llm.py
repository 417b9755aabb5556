"""The LLM fleet's pages (/ui/llm, /ui/llm/routes, /ui/llm/usage, /ui/llm/evaluations) on the
demos' workspace: what they show is what `modelward llm ...` prints for the same records,
they load clean in a real browser with their charts drawn, and a bad query parameter gets a
400 page naming the choices."""

from __future__ import annotations

import shutil
from collections import defaultdict
from pathlib import Path
from typing import Any

import pytest
import yaml
from tests.ui.conftest import Dashboard, cells, drawn_charts, needs_chromium, start_dashboard

pytestmark = needs_chromium


def _money(text: str) -> float:
    return float(text.strip().removeprefix("$"))


def _same_money(shown: str, expected: float) -> bool:
    """A dollar amount as the pages print it (6 decimals, 6 significant digits below
    $0.001, as the CLI's tables do) is ``expected`` rounded: within half a unit of its
    last digit (a float's tie, 0.0030135, may round either way)."""
    digits = shown.rsplit(".", 1)[1] if "." in shown else ""
    half_unit = 0.5 * 10.0 ** -len(digits)
    return abs(_money(shown) - expected) <= half_unit * (1 + 1e-9)


def _route_cells(route: dict[str, Any]) -> list[str]:
    canary = route.get("canary")
    shown = f"{canary['model']} @ {canary['weight']:g} %" if canary else ""
    return [" → ".join(route["models"]), shown]


def test_overview_shows_the_routing_table_and_the_months_spend(
    dashboard: Dashboard, tab: Any
) -> None:
    page = tab.page
    page.goto(dashboard.url + "/ui/llm")
    assert page.locator("h1").inner_text() == "LLM fleet"
    assert drawn_charts(page) > 0

    shown = dashboard.cli_json("llm", "routes", "show")
    rows = cells(page, "#llm-routes")
    assert rows == [[q, *_route_cells(r)] for q, r in sorted(shown["routes"].items())]
    assert f"Revision {shown['revision']}," in page.inner_text("main")

    usage = dashboard.cli_json("llm", "usage")
    budget = cells(page, "#llm-budgets")[0]
    assert budget[0] == "all keys"
    assert _same_money(budget[1], usage["month_spend"])
    assert _money(budget[2]) == pytest.approx(usage["monthly_budget"])
    assert tab.clean(), tab.problems()


def test_overview_lists_the_endpoint_canaries_and_no_provider_secret(
    dashboard: Dashboard, tab: Any
) -> None:
    page = tab.page
    page.goto(dashboard.url + "/ui/llm")
    rollouts = {row[0]: row for row in cells(page, "#llm-rollouts")}
    states = {row[3] for row in rollouts.values()}
    assert {"promoted", "rolled-back"} <= states
    assert all(row[1].startswith("assistant") for row in rollouts.values())
    promoted = next(r for r in rollouts.values() if r[3] == "promoted")
    assert "user satisfaction" in promoted[5]

    config = yaml.safe_load((dashboard.root / "llm.yml").read_text())
    providers = {row[0]: row for row in cells(page, "#llm-providers")}
    assert set(providers) == set(config["providers"])
    html = page.content()
    for provider in config["providers"].values():
        assert provider["base_url"] not in html
        if provider.get("api_key_env"):
            assert provider["api_key_env"] not in html
    assert tab.clean(), tab.problems()


def test_staging_has_no_routing_table_yet(dashboard: Dashboard, tab: Any) -> None:
    assert dashboard.cli_json("llm", "routes", "show", "--env", "staging") is None
    page = tab.page
    page.goto(dashboard.url + "/ui/llm?env=staging")
    assert "No staging routing table yet" in page.inner_text("main")
    assert tab.clean(), tab.problems()


def test_routing_revisions_are_the_clis_history_newest_first(
    dashboard: Dashboard, tab: Any
) -> None:
    history = dashboard.cli_json("llm", "history")
    page = tab.page
    page.goto(dashboard.url + "/ui/llm/routes?limit=3")
    shown = page.eval_on_selector_all(
        "#llm-revisions > tbody > tr",
        """rows => rows.map(r => ({
             cells: [...r.children].slice(0, 4).map(c => c.innerText.trim()),
             routes: [...r.querySelectorAll('table.inner tr')].map(
               t => [...t.children].map(c => c.innerText.trim())),
           }))""",
    )
    newest = list(reversed(history))[:3]
    assert [s["cells"][0] for s in shown] == [str(r["revision"]) for r in newest]
    for row, revision in zip(shown, newest, strict=True):
        assert row["cells"][2] == revision["created_by"]
        assert row["cells"][3].startswith(revision["reason"])
        expected = []
        for query_type, route in sorted(revision["routes"].items()):
            models, canary = _route_cells(route)
            expected.append([query_type, models, f"canary {canary}" if canary else ""])
        assert row["routes"] == expected
    assert any("canary" in cell for r in history for cell in map(str, r["routes"].values()))
    assert page.locator("nav.pager").count() == 1
    assert tab.clean(), tab.problems()


def test_usage_equals_llm_usage(dashboard: Dashboard, tab: Any) -> None:
    usage = dashboard.cli_json("llm", "usage", "--days", "30")["usage"]
    assert usage
    page = tab.page
    page.goto(dashboard.url + "/ui/llm/usage?days=30")
    assert drawn_charts(page) == 4

    fields = ("requests", "errors", "cache_hits", "input_tokens", "output_tokens")
    rows = cells(page, "#llm-usage")
    assert [(r[0], int(r[1]), r[2]) for r in rows] == [
        (u["model"], u["version"], u["api_key"]) for u in usage
    ]
    for row, expected in zip(rows, usage, strict=True):
        assert [int(v) for v in row[3:8]] == [expected[f] for f in fields]
        assert _same_money(row[8], expected["cost"])

    per_model: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
    for u in usage:
        for f in (*fields, "cost"):
            per_model[u["model"]][f] += u[f]
    models = {r[0]: r for r in cells(page, "#llm-usage-models")}
    assert set(models) == set(per_model)
    for model, sums in per_model.items():
        assert [int(v) for v in models[model][1:6]] == [sums[f] for f in fields]
        assert _same_money(models[model][6], sums["cost"])
    keys = {r[0] for r in cells(page, "#llm-usage-keys")}
    assert keys == {u["api_key"] for u in usage}
    assert tab.clean(), tab.problems()


def test_evaluations_show_each_category_against_the_policy(dashboard: Dashboard, tab: Any) -> None:
    page = tab.page
    page.goto(dashboard.url + "/ui/llm/evaluations?limit=5")
    links = page.eval_on_selector_all(
        "#llm-evaluations a[href^='/ui/runs/']", "as => as.map(a => a.getAttribute('href'))"
    )
    listed = dashboard.cli_json("runs", "list", "--kind", "llm-evaluation", "--limit", "5")
    assert links == [f"/ui/runs/{r['id']}" for r in listed]

    run = dashboard.cli_json("runs", "show", str(listed[0]["id"]))
    first = page.eval_on_selector_all(
        "#llm-evaluations tbody tr",
        "rows => rows.map(r => [...r.children].map(c => c.innerText.trim()))",
    )
    categories = run["results"]["by_category"]
    rows = first[1 : 1 + len(categories)]
    assert [r[0] for r in rows] == sorted(categories)
    thresholds = yaml.safe_load((dashboard.root / "policy.yml").read_text())["llm"]
    for row, (category, metrics) in zip(rows, sorted(categories.items()), strict=True):
        accuracy = float(row[2].split()[0])
        assert accuracy == pytest.approx(metrics["accuracy"]["value"], abs=1e-3)
        floor = thresholds["category_thresholds"][category]
        assert f"({floor:.3f})" in row[2]
        assert ("ok" if accuracy >= floor else "below") in row[2]
    assert page.locator("#llm-other-runs li").count() >= 1
    assert tab.clean(), tab.problems()


@pytest.mark.parametrize(
    ("path", "named"),
    [
        ("/ui/llm?env=dev", "production or staging"),
        ("/ui/llm/routes?env=%3Cscript%3E", "production or staging"),
        ("/ui/llm/routes?page=x", "?page="),
        ("/ui/llm/routes?page=0", "?page="),
        ("/ui/llm/usage?days=0", "between 1 and 365"),
        ("/ui/llm/usage?days=366", "between 1 and 365"),
        ("/ui/llm/usage?days=abc", "?days="),
        ("/ui/llm/usage?limit=100000", "?limit="),
        ("/ui/llm/evaluations?page=-1", "?page="),
    ],
)
def test_bad_input_gets_a_400_naming_the_choices(
    dashboard: Dashboard, path: str, named: str
) -> None:
    answer = dashboard.get(path)
    assert answer.status_code == 400, answer.text[:500]
    assert "text/html" in answer.headers["content-type"]
    assert named in answer.text.replace("&#39;", "'")
    assert "<script>" not in answer.text.split("</head>", 1)[1].replace(
        '<script type="application/json"', ""
    )


def test_a_page_past_the_end_is_empty_not_an_error(dashboard: Dashboard) -> None:
    answer = dashboard.get("/ui/llm/routes?page=500")
    assert answer.status_code == 200
    assert "the first page" in answer.text


def test_without_llm_yml_the_page_says_so(built: Path, tmp_path: Path) -> None:
    root = tmp_path / "workspace"
    shutil.copytree(built, root)
    (root / "llm.yml").unlink()
    server = start_dashboard(root, tmp_path / "serve.log")
    try:
        for path in ("/ui/llm", "/ui/llm/usage", "/ui/llm/routes", "/ui/llm/evaluations"):
            answer = server.get(path)
            assert answer.status_code == 200, (path, answer.text[:500])
        assert "no LLM config (llm.yml)" in server.get("/ui/llm").text
    finally:
        server.proc.terminate()
        server.proc.wait(timeout=30)
