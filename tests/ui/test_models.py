"""The Model and Version pages, the comparison, the stage-transition action and the stored
reports, in a real browser on the demos' workspace, checked against what the CLI prints
for the same records."""

from __future__ import annotations

import re
import sqlite3
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from tests.ui.conftest import opened

from modelward.present import fmt

MODEL = "heart-disease"


def _headline(metrics: dict[str, Any]) -> list[tuple[str, float]]:
    """The metrics `modelward models show` puts in a version's row."""
    flat = metrics.get("test", metrics)
    shown = [
        (k, v)
        for k, v in flat.items()
        if isinstance(v, int | float) and not isinstance(v, bool) and k != "n"
    ]
    return shown[:3]


def test_model_page_shows_the_versions_the_cli_lists(dashboard: Any, tab: Any) -> None:
    page = opened(tab, dashboard, f"/ui/models/{MODEL}")
    assert page.inner_text("h1") == MODEL
    listed = dashboard.cli_json("versions", "list", MODEL)
    assert len(listed) >= 2
    for version in listed:
        row = page.locator(f'#versions-table tr[data-version="{version["version"]}"]')
        cells = [c.strip() for c in row.locator("td").all_inner_texts()]
        assert cells[0] == version["stage"]
        assert cells[2] == version["kind"]
        assert cells[3] == version["flavor"]
        intervals = version["metrics"].get("test_ci", {})
        for name, value in _headline(version["metrics"]):
            metric = row.locator(f'.metric[data-metric="{name}"]')
            text = metric.inner_text()
            assert fmt(value, 4) in text, (name, text)
            low, high = intervals[name]
            assert f"[{fmt(low, 4)}, {fmt(high, 4)}]" in text
    # the stage the CLI shows for production is the one on the page
    production = [v["version"] for v in listed if v["stage"] == "production"]
    assert production == [1]
    assert tab.clean(), tab.problems()


def test_history_filter_shows_only_that_kind(dashboard: Any, tab: Any) -> None:
    page = opened(tab, dashboard, f"/ui/models/{MODEL}")
    everything = dashboard.cli_json("history", MODEL)
    assert len(page.locator("#history-table tbody tr").all()) == len(everything)
    page.click('nav[aria-label="Event kinds"] >> text="transition"')
    page.wait_for_load_state("load")
    assert "kind=transition" in page.url
    kinds = page.eval_on_selector_all(
        "#history-table tbody tr", "rows => rows.map(r => r.dataset.kind)"
    )
    transitions = dashboard.cli_json("history", MODEL, "--kind", "transition")
    assert kinds == ["transition"] * len(transitions)
    # newest first, and each reason as the CLI records it
    reasons = [c.strip() for c in page.locator("#history-table td.reason").all_inner_texts()]
    assert reasons == [e["reason"] for e in reversed(transitions)]
    # a forced override shows as forced with the gate it passed
    forced = [e for e in transitions if e["details"].get("forced")]
    assert forced
    row = page.locator(f'#history-table tr[data-event="{forced[0]["id"]}"]')
    assert "FORCED" in row.inner_text()
    assert tab.clean(), tab.problems()


def test_version_page_shows_what_versions_show_prints(dashboard: Any, tab: Any) -> None:
    shown = dashboard.cli_json("versions", "show", MODEL, "1")
    page = opened(tab, dashboard, f"/ui/models/{MODEL}/versions/1")
    assert page.inner_text("h1") == f"{MODEL}:1"
    assert page.inner_text("#stage") == shown["stage"]
    assert page.inner_text("#sha256") == shown["sha256"]
    assert page.inner_text("#size") == str(shown["size"])
    metric = page.locator('#metrics tr[data-metric="test.roc_auc"] td').inner_text()
    low, high = shown["metrics"]["test_ci"]["roc_auc"]
    assert metric == (
        f"{fmt(shown['metrics']['test']['roc_auc'], 4)} [{fmt(low, 4)}, {fmt(high, 4)}]"
    )
    inputs = page.locator("#schema tbody th").all_inner_texts()
    assert inputs == [c["name"] for c in shown["input_schema"]["columns"]]
    assert page.locator("#profile tbody tr").count() == len(shown["input_schema"]["columns"])
    # every stored run of the version, each linking its run page
    runs = [r for r in dashboard.cli_json("runs", "list", MODEL) if r["version"] == 1]
    links = page.eval_on_selector_all(
        "section.run h3 a", "links => links.map(a => a.getAttribute('href'))"
    )
    assert links == [f"/ui/runs/{r['id']}" for r in runs]
    # the validation's checks, each with its value, threshold and verdict
    validation = next(r for r in runs if r["kind"] == "validation")
    section = page.locator(f'section.run[data-run="{validation["id"]}"]')
    failed = [c for c in validation["results"]["checks"] if c["ran"] and not c["passed"]]
    verdicts = section.locator("table.checks tbody td:nth-child(4)").all_inner_texts()
    assert verdicts.count("fail") == len(failed)
    assert tab.clean(), tab.problems()


def test_endpoint_version_shows_its_spec_and_no_artifact(dashboard: Any, tab: Any) -> None:
    shown = dashboard.cli_json("versions", "show", "assistant", "2")
    page = opened(tab, dashboard, "/ui/models/assistant/versions/2")
    assert page.locator("#sha256").count() == 0
    spec = dict(zip(page.locator("#spec tbody th").all_inner_texts(),
                    page.locator("#spec tbody td").all_inner_texts(), strict=True))  # fmt: skip
    assert spec["provider"] == shown["spec"]["provider"]
    assert spec["model"] == shown["spec"]["model"]
    assert not any(re.search("key|secret|token", k, re.I) for k in spec)
    assert tab.clean(), tab.problems()


def test_compare_marks_a_differing_parameter(dashboard: Any, tab: Any) -> None:
    one = dashboard.cli_json("versions", "show", MODEL, "1")["params"]
    two = dashboard.cli_json("versions", "show", MODEL, "2")["params"]
    assert one["estimator"] != two["estimator"] and one["random_state"] == two["random_state"]
    page = opened(tab, dashboard, f"/ui/models/{MODEL}")
    page.click("form.compare button")
    page.wait_for_load_state("load")
    assert "/compare?" in page.url
    differing = page.locator('#compare-params tr[data-key="estimator"]')
    assert differing.get_attribute("class") == "differs"
    assert differing.locator("mark").count() == 3
    texts = differing.locator("td").all_inner_texts()
    assert {one["estimator"], two["estimator"]} == set(texts[:2])
    same = page.locator('#compare-params tr[data-key="random_state"]')
    assert same.get_attribute("class") is None and same.locator("mark").count() == 0
    assert tab.clean(), tab.problems()


def test_transition_from_the_page_is_recorded_like_the_cli(dashboard: Any, tab: Any) -> None:
    name = "fast-small"
    assert dashboard.cli_json("versions", "show", name, "1")["stage"] == "development"
    page = opened(tab, dashboard, f"/ui/models/{name}/versions/1")
    page.select_option("#to", "testing")
    page.fill("#reason", "smoke tests pass (from the dashboard)")
    page.click("form.transition button")
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/ui/models/{name}/versions/1")
    assert page.inner_text("#stage") == "testing"
    assert tab.clean(), tab.problems()
    last = dashboard.cli_json("history", name)[-1]
    assert (last["kind"], last["version"], last["from_stage"], last["to_stage"]) == (
        "transition", 1, "development", "testing",
    )  # fmt: skip
    assert last["reason"] == "smoke tests pass (from the dashboard)"
    assert [g["name"] for g in last["details"]["gates"]] == ["artifact-integrity"]
    assert last["details"]["forced"] is False

    # the validation gate refuses staging (its LLM evaluations failed): the page shows the
    # gate's one-line message and nothing changes
    before = dashboard.cli_json("history", name)
    page.select_option("#to", "staging")
    page.fill("#reason", "try staging")
    with page.expect_response(lambda r: "/transition" in r.url) as answer:
        page.click("form.transition button")
    assert answer.value.status == 409
    message = page.inner_text('[role="alert"]')
    assert "cannot enter staging: gate validation failed" in message
    assert "\n" not in message.strip()
    assert dashboard.cli_json("versions", "show", name, "1")["stage"] == "testing"
    assert dashboard.cli_json("history", name) == before


def test_card_link_opens_the_stored_card(dashboard: Any, tab: Any) -> None:
    page = opened(tab, dashboard, f"/ui/models/{MODEL}/versions/1")
    links = page.locator("a.card-link")
    assert links.count() == 2
    page.click('a.card-link:text("heart-disease-v1.html")')
    page.wait_for_load_state("load")
    assert page.url.endswith("/ui/model-cards/heart-disease-v1.html")
    from modelward.workspace import Workspace

    with Workspace.open(dashboard.root) as ws:
        card = (ws.layout.cards / "heart-disease-v1.html").read_text(encoding="utf-8")
    assert (
        page.content().count("Model card: heart-disease:1")
        == card.count("Model card: heart-disease:1")
        > 0
    )  # the card itself, as `modelward card` wrote it
    shown = dashboard.cli_json("versions", "show", MODEL, "1")
    assert shown["sha256"][:16] in page.inner_text("body")
    page.go_back()
    page.click('a.card-link:text("heart-disease-v1.md")')
    page.wait_for_load_state("load")
    assert page.inner_text("body").lstrip().startswith("#")
    assert tab.clean(), tab.problems()
    # the model page links the same cards
    page = opened(tab, dashboard, f"/ui/models/{MODEL}")
    assert page.locator('a[href="/ui/model-cards/heart-disease-v1.html"]').count() == 1


@pytest.mark.parametrize(
    ("path", "status", "says"),
    [
        ("/ui/models/nope", 404, "heart-disease"),
        (f"/ui/models/{MODEL}/versions/99", 404, "versions 1-2"),
        (f"/ui/models/{MODEL}/versions/abc", 400, "version number"),
        (f"/ui/models/{MODEL}?page=abc", 400, "?page= must be a whole number"),
        (f"/ui/models/{MODEL}?vpage=0", 400, "?vpage="),
        (f"/ui/models/{MODEL}?kind=nonsense", 400, "transition"),
        (f"/ui/models/{MODEL}/versions/1?page=-1", 400, "?page="),
        (f"/ui/models/{MODEL}/compare?a=1", 400, "b must be a version number"),
        (f"/ui/models/{MODEL}/compare?a=1&b=7", 404, "no version 7"),
        ("/ui/models/" + "a" * 300, 400, "not a model name"),
        ("/ui/models/UPPER", 400, "not a model name"),
        ("/ui/models/a%2F..%2Fb", 404, ""),
        ("/ui/model-cards/..%2F..%2Fmodelward.db", 404, ""),
        ("/ui/documents/modelward.db", 400, "only .html"),
        ("/ui/model-cards/nope.html", 404, "heart-disease-v1.html"),
        ("/ui/model-cards/" + "x" * 300 + ".html", 400, "at most"),
    ],
)
def test_bad_input_answers_a_page_naming_the_problem(
    dashboard: Any, path: str, status: int, says: str
) -> None:
    answer = dashboard.get(path)
    assert answer.status_code == status, (path, answer.text[:300])
    assert says in answer.text.replace("&#39;", "'")


def test_bad_transitions_change_nothing(dashboard: Any) -> None:
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        client.get(f"/ui/models/{MODEL}/versions/2")
        csrf = client.cookies["mw_csrf"]
        before = dashboard.cli_json("history", MODEL)
        url = f"/ui/models/{MODEL}/versions/2/transition"
        for form, status, says in [
            ({"to": "heaven", "reason": "x"}, 400, "to must be a stage"),
            ({"to": "deprecated", "reason": "  "}, 400, "needs a reason"),
            ({"to": "staging", "reason": "x", "force": "yes"}, 400, "checkbox"),
            ({"to": "development", "reason": "x"}, 409, "staging"),
            ({"to": "testing", "reason": "x", "seen": "yesterday"}, 400, "ISO time"),
        ]:
            answer = client.post(url, data={"csrf": csrf, **form})
            assert answer.status_code == status, (form, answer.text[:300])
            assert says in answer.text, (form, answer.text[:500])
        # no CSRF token: refused before anything is read
        answer = client.post(url, data={"to": "testing", "reason": "x"})
        assert answer.status_code == 403
        bad = client.post(f"/ui/models/{MODEL}/versions/99/transition",
                          data={"csrf": csrf, "to": "testing", "reason": "x"})  # fmt: skip
        assert bad.status_code == 404
    assert dashboard.cli_json("history", MODEL) == before
    assert dashboard.cli_json("versions", "show", MODEL, "2")["stage"] == "staging"


def _add_big_model(db: Path, versions: int, events: int) -> None:
    """A model ``big`` with ``versions`` versions and ``events`` events, written straight
    into the workspace's SQLite database (the registry's commands would take minutes)."""
    with sqlite3.connect(db) as conn:
        copy = conn.execute(
            "SELECT kind, flavor, sha256, size, spec, input_schema, params, metrics, tags, "
            "source FROM model_versions WHERE version = 1 AND model_id = "
            "(SELECT id FROM models WHERE name = ?)",
            (MODEL,),
        ).fetchone()
        model_id = conn.execute(
            "INSERT INTO models (name, task, description, tags, created_at, created_by) "
            "VALUES ('big', 'binary-classification', '', '{}', '2026-01-01 00:00:00', 't')"
        ).lastrowid
        conn.executemany(
            "INSERT INTO model_versions (model_id, version, kind, flavor, sha256, size, spec, "
            "input_schema, params, metrics, tags, source, description, stage, created_at, "
            "created_by) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, "
            "'2026-01-01 00:00:00', 't')",
            [
                (model_id, v, *copy, "production" if v == versions else "development")
                for v in range(1, versions + 1)
            ],
        )
        kinds = ("registered", "transition", "deployed", "validated")
        conn.executemany(
            "INSERT INTO events (model_id, version, kind, actor, reason, details, created_at) "
            "VALUES (?, ?, ?, 't', ?, '{}', ?)",
            [
                (
                    model_id,
                    1 + i % versions,
                    kinds[i % 4],
                    f"event {i}",
                    f"2026-01-02 00:00:{i % 60:02d}.{i:06d}",
                )
                for i in range(events)
            ],  # fmt: skip
        )


def test_a_model_with_thousands_of_versions_and_events_pages_fast(dashboard: Any) -> None:
    _add_big_model(dashboard.root / "modelward.db", 2000, 10_000)
    for path in ("/ui/models/big", "/ui/models/big?kind=transition&page=40",
                 "/ui/models/big?vpage=90", "/ui/models/big/versions/2000",
                 "/ui/models/big/compare?a=1&b=2000"):  # fmt: skip
        dashboard.get(path)  # warm
        times = []
        for _ in range(5):
            started = time.perf_counter()
            answer = dashboard.get(path)
            times.append(time.perf_counter() - started)
            assert answer.status_code == 200, (path, answer.text[:300])
        # well under 100 ms on an idle machine; the bound leaves room for a loaded one
        assert sorted(times)[2] < 0.5, (path, times)
    page = dashboard.get("/ui/models/big").text
    assert "page 1 of 100 (2000)" in page
    assert page.count('<tr data-event="') == 50
    assert 'rel="next"' in page
    filtered = dashboard.get("/ui/models/big?kind=validated&page=50").text
    assert filtered.count('data-kind="validated"') == 50


def test_a_report_is_shown_as_written_and_nothing_in_it_runs(dashboard: Any, tab: Any) -> None:
    """A report file is answered as it is, in a sandbox: its styles and data: images show,
    its script never runs and it fetches nothing (a report a tool wrote, or a hostile one)."""
    reports = dashboard.root / "reports"
    reports.mkdir(exist_ok=True)
    (reports / "hostile.html").write_text(
        "<html><head><title>kept</title><style>h1{color:red}</style></head><body>"
        "<h1>A report</h1><script>document.title = 'ran'; fetch('/ui/')</script>"
        '<img src="data:image/gif;base64,R0lGODlhAQABAAAAACw=" onerror="document.title=1">'
        '<img src="/ui/static/ui.css"><form action="/ui/alerts/1/resolve" method="post">'
        "<button>go</button></form></body></html>",
        encoding="utf-8",
    )
    answer = dashboard.get("/ui/documents/hostile.html")
    assert answer.status_code == 200 and answer.headers["content-type"].startswith("text/html")
    assert answer.headers["content-security-policy"].startswith("sandbox;")
    answered: list[str] = []
    tab.page.on("response", lambda r: answered.append(r.url))
    tab.page.goto(dashboard.url + "/ui/documents/hostile.html")
    assert tab.page.title() == "kept"  # the script did not run
    assert tab.page.inner_text("h1") == "A report"
    assert [u for u in answered if not u.endswith("/hostile.html")] == []  # nothing fetched
    markdown = dashboard.get("/ui/model-cards/heart-disease-v1.md")
    assert markdown.headers["content-type"] == "text/plain; charset=utf-8"


def test_the_move_form_shows_only_to_who_may_act(dashboard: Any) -> None:
    from modelward.ui.pages import models
    from modelward.ui.render import render
    from modelward.ui.view import View
    from modelward.workspace import Workspace

    ws = Workspace.open(dashboard.root)
    form = f'action="/ui/models/{MODEL}/versions/2/transition"'
    for can_act in (False, True):
        view = View(ws=ws, params={"name": MODEL, "version": "2"}, query={},
                    viewer="reader", can_act=can_act)  # fmt: skip
        page = models.version_page(view)
        html = render(page.template, {**page.values, "title": page.title, "csrf": "c",
                                      "viewer": "reader", "can_act": can_act,
                                      "signed_in": True, "path": "/ui/", "args": {}})  # fmt: skip
        assert (form in html) is can_act
