"""The monitoring pages and the one-run page, in a real browser on the demos' workspace
(heart-disease with failing drift, metrics and quality checks in production): they load
clean, draw their charts, and show the numbers the CLI prints for the same stored runs."""

from __future__ import annotations

from typing import Any

import pytest

from modelward.present import fmt
from ui.conftest import Dashboard, Watched, cells, drawn_charts

MODEL = "heart-disease"


def latest_runs(dashboard: Dashboard) -> dict[str, dict[str, Any]]:
    """The newest stored run of each monitoring check of the model, as the CLI lists it."""
    found: dict[str, dict[str, Any]] = {}
    for run in dashboard.cli_json("monitor", "history", MODEL, "--limit", "200"):
        if (run["inputs"] or {}).get("environment") == "production":
            found.setdefault(run["kind"].removeprefix("monitor-"), run)
    return found


def open_page(tab: Watched, dashboard: Dashboard, path: str) -> Any:
    tab.page.goto(dashboard.url + path)
    tab.page.wait_for_load_state("load")
    return tab.page


def test_overview_shows_the_latest_verdict_of_each_check(
    dashboard: Dashboard, tab: Watched
) -> None:
    latest = latest_runs(dashboard)
    assert {"drift", "metrics", "quality"} <= set(latest)
    page = open_page(tab, dashboard, "/ui/monitoring")
    assert page.locator("h1").inner_text() == "Monitoring"
    row = page.locator("#monitoring tbody tr", has=page.locator(f'a[href="/ui/models/{MODEL}"]'))
    for check in ("drift", "metrics", "quality"):
        cell = row.locator(f'td[data-check="{check}"]')
        assert cell.locator(".verdict").inner_text() == latest[check]["verdict"] == "fail"
        link = cell.locator("a").first.get_attribute("href")
        assert link == f"/ui/runs/{latest[check]['id']}"
    assert tab.clean(), tab.problems()


def test_model_page_draws_each_checks_history(dashboard: Dashboard, tab: Watched) -> None:
    latest = latest_runs(dashboard)
    page = open_page(tab, dashboard, f"/ui/monitoring/{MODEL}?env=production")
    assert drawn_charts(page) > 0
    for check in ("drift", "metrics", "quality"):
        section = page.locator(f"#check-{check}")
        assert section.locator("a", has_text="run #").first.inner_text() == (
            f"run #{latest[check]['id']}"
        )
        assert section.locator("figure[data-chart]").count() > 0
    # the drift chart's point is the stored drifted share, its dashed line the limit
    data = page.evaluate(
        """() => JSON.parse(document.getElementById('drift-c-drifted-share-of-features')
                   .textContent)"""
    )
    drift = latest["drift"]
    assert data["series"][0]["values"][-1] == pytest.approx(drift["results"]["drifted_share"])
    assert list(data["thresholds"].values()) == [drift["inputs"]["max_drifted_share"]]
    # the metrics charts carry each metric's interval and threshold
    metrics = latest["metrics"]
    accuracy = page.evaluate(
        "() => JSON.parse(document.getElementById('metrics-c-accuracy').textContent)"
    )
    stored = metrics["results"]["versions"]["v1"]["metrics"]["accuracy"]
    values = {s["label"]: s["values"][-1] for s in accuracy["series"]}
    assert values == pytest.approx(
        {"v1": stored["value"], "v1 low": stored["low"], "v1 high": stored["high"]}
    )
    assert list(accuracy["thresholds"].values()) == [metrics["inputs"]["thresholds"]["accuracy"]]
    assert tab.clean(), tab.problems()


def test_drift_run_lists_every_feature_with_its_verdict(dashboard: Dashboard, tab: Watched) -> None:
    run_id = latest_runs(dashboard)["drift"]["id"]
    stored = dashboard.cli_json("runs", "show", str(run_id))
    features = stored["results"]["features"]
    page = open_page(tab, dashboard, f"/ui/runs/{run_id}")
    assert page.locator("h1").inner_text() == f"Run #{run_id}: monitor-drift"
    rows = cells(page, "#drift-features")
    assert [r[0] for r in rows] == list(features)
    for name, kind, method, statistic, p_value, threshold, drifted, *_ in rows:
        entry = features[name]
        assert (kind, method) == (entry["kind"], entry["method"])
        assert statistic == fmt(entry.get("statistic"))
        assert p_value == fmt(entry.get("p_value"))
        assert threshold == fmt(entry.get("threshold"))
        assert drifted == ("drifted" if entry.get("drifted") else "no")
    with_histogram = [f for f, e in features.items() if e.get("histogram")]
    assert with_histogram
    assert drawn_charts(page) == len(with_histogram)
    breaches = page.locator("#breaches li").all_inner_texts()
    assert breaches == stored["results"]["breaches"]
    assert page.locator(f'a[href="/ui/models/{MODEL}"]').count() > 0
    assert page.locator(f'a[href="/ui/models/{MODEL}/versions/{stored["version"]}"]').count()
    assert tab.clean(), tab.problems()


def test_quality_and_metrics_runs_show_the_stored_figures(
    dashboard: Dashboard, tab: Watched
) -> None:
    latest = latest_runs(dashboard)
    quality = dashboard.cli_json("runs", "show", str(latest["quality"]["id"]))
    page = open_page(tab, dashboard, f"/ui/runs/{quality['id']}")
    rows = {r[0]: r for r in cells(page, "#quality-features")}
    assert set(rows) == set(quality["results"]["features"])
    for name, entry in quality["results"]["features"].items():
        assert rows[name][2] == fmt(entry["missing_rate"])
        assert rows[name][3] == fmt(entry.get("missing"))
        assert rows[name][6] == fmt(entry.get("out_of_range_share"))
    metrics = dashboard.cli_json("runs", "show", str(latest["metrics"]["id"]))
    page = open_page(tab, dashboard, f"/ui/runs/{metrics['id']}")
    shown = {r[0]: r for r in cells(page, "#metrics-v1")}
    for name, entry in metrics["results"]["versions"]["v1"]["metrics"].items():
        value, low, high, threshold = shown[name][1:5]
        assert (value, low, high) == (fmt(entry["value"]), fmt(entry["low"]), fmt(entry["high"]))
        assert threshold == fmt(metrics["inputs"]["thresholds"].get(name))
    assert tab.clean(), tab.problems()


def test_any_other_run_reads_as_nested_tables(dashboard: Dashboard, tab: Watched) -> None:
    runs = dashboard.cli_json("runs", "list", "--limit", "500")
    for kind in ("validation", "evaluation", "rollout", "backup"):
        run = next(r for r in runs if r["kind"] == kind)
        page = open_page(tab, dashboard, f"/ui/runs/{run['id']}")
        facts = page.locator("#run-facts").inner_text()
        assert run["kind"] in facts and run["verdict"] in facts and run["actor"] in facts
        results = page.locator("#results").inner_text()
        assert all(str(key) in results for key in list(run["results"])[:5])
    assert tab.clean(), tab.problems()


@pytest.mark.parametrize(
    ("path", "status", "words"),
    [
        ("/ui/runs/999999", 404, "no run #999999"),
        ("/ui/runs/abc", 400, "not 'abc'"),
        ("/ui/runs/-1", 400, "by its number"),
        ("/ui/runs/99999999999999999999999", 400, "by its number"),
        ("/ui/monitoring/nope", 404, "no model 'nope'"),
        (f"/ui/monitoring/{MODEL}?env=prod", 400, "production, staging or all"),
        (f"/ui/monitoring/{MODEL}?runs=x", 400, "?runs="),
        (f"/ui/monitoring/{MODEL}?runs=0", 400, "?runs="),
        ("/ui/monitoring?page=x", 400, "?page="),
    ],
)
def test_bad_input_gets_a_one_line_error_page(
    dashboard: Dashboard, path: str, status: int, words: str
) -> None:
    answer = dashboard.get(path)
    assert answer.status_code == status
    assert answer.headers["content-type"].startswith("text/html")
    assert words in answer.text.replace("&#39;", "'").replace("&#34;", '"')


def test_other_environments_and_an_empty_one(dashboard: Dashboard) -> None:
    for env in ("staging", "all"):
        answer = dashboard.get(f"/ui/monitoring/{MODEL}?env={env}")
        assert answer.status_code == 200
        assert f"({env})" in answer.text
    assert "No monitoring run of" in dashboard.get(f"/ui/monitoring/{MODEL}?env=staging").text
