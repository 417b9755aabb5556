"""The Rollouts and Deployments pages and the rollout actions, in a real browser on the
demos' workspace (heart-disease: a canary of v2 at 5 % in production; assistant: a
promoted and a rolled-back endpoint rollout), checked against what the CLI prints for the
same records. The tests run in file order on one copy of the workspace: the read-only
pages first, then pause and resume, a refused action, and abort last."""

from __future__ import annotations

import html
from typing import Any

import httpx
import pytest
from tests.ui.conftest import assert_refused, cells, drawn_charts, opened

from modelward.present import fmt

MODEL = "heart-disease"


def _status(dashboard: Any, model: str = MODEL) -> dict[str, Any]:
    status: dict[str, Any] = dashboard.cli_json("rollout", "status", model)
    return status


def _events(dashboard: Any, kind: str, model: str = MODEL) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = dashboard.cli_json("history", model, "--kind", kind)
    return events


def _weight(value: float) -> str:
    return f"{value:g}"


def test_the_list_shows_every_rollout_the_cli_lists(dashboard: Any, tab: Any) -> None:
    page = opened(tab, dashboard, "/ui/rollouts")
    listed = dashboard.cli_json("rollout", "list")
    assert len(listed) == 3
    rows = cells(page, "#rollouts")
    assert [r[0] for r in rows] == [f"#{r['id']}" for r in listed]
    for row, r in zip(rows, listed, strict=True):
        assert row[1:6] == [
            r["model"], r["environment"], f"v{r['canary_version']}", f"v{r['stable_version']}",
            r["state"],
        ]  # fmt: skip
        assert row[6] == f"{r['stage_index'] + 1}/{len(r['plan']['stages'])}"
        assert row[7] == _weight(r["weight"])
    # the state filter: only the live canary of heart-disease
    page = opened(tab, dashboard, "/ui/rollouts?state=live")
    live = dashboard.cli_json("rollout", "list", "--live")
    assert [r[0] for r in cells(page, "#rollouts")] == [f"#{r['id']}" for r in live]
    assert [r["model"] for r in live] == [MODEL]
    page = opened(tab, dashboard, "/ui/rollouts?state=rolled-back&model=assistant")
    assert [r[5] for r in cells(page, "#rollouts")] == ["rolled-back"]
    assert tab.clean(), tab.problems()


@pytest.mark.parametrize("model", [MODEL, "assistant"])
def test_a_rollout_shows_the_decisions_and_checks_the_cli_shows(
    dashboard: Any, tab: Any, model: str
) -> None:
    status = _status(dashboard, model)
    page = opened(tab, dashboard, f"/ui/rollouts/{status['id']}")
    assert page.inner_text("#state") == status["state"]
    assert page.inner_text("#weight") == f"{_weight(status['weight'])} %"
    decisions = status["decisions"]
    assert decisions, "the demo's controller judged the rollout"
    rows = {row[0]: row for row in cells(page, "#decisions")}
    for run in decisions:
        row = rows[f"#{run['id']}"]
        assert row[2] == str(run["inputs"]["stage"])
        assert row[3] == _weight(run["inputs"]["weight"])
        assert row[4:7] == [run["results"]["action"], run["verdict"], run["results"]["reason"]]
    # the analysis of the latest judged stage: each check's numbers, p-value and verdict
    judged = next(run for run in decisions if run["results"]["checks"])
    stage = judged["inputs"]["stage"]
    checks = {row[0]: row for row in cells(page, f"#checks-stage-{stage}")}
    assert set(checks) == {c["name"] for c in judged["results"]["checks"]}
    for check in judged["results"]["checks"]:
        row = checks[check["name"]]
        assert row[1:4] == [fmt(check["canary"]), fmt(check["stable"]), fmt(check["limit"])]
        assert row[5] == fmt(check["p_value"], 3)
        assert row[6] == check["status"]
    # the plan: every stage's weight
    plan = [row[1] for row in cells(page, "#plan")]
    assert plan == [_weight(s["weight"]) for s in status["plan"]["stages"]]
    assert drawn_charts(page) > 0
    assert tab.clean(), tab.problems()


def test_the_rolled_back_endpoint_rollout_shows_why(dashboard: Any, tab: Any) -> None:
    status = _status(dashboard, "assistant")
    assert status["state"] == "rolled-back"
    page = opened(tab, dashboard, f"/ui/rollouts/{status['id']}")
    assert status["details"]["ended"] in page.inner_text("#summary")
    assert "LLM fleet" in page.inner_text("#summary")  # its traffic is the routing table
    history = cells(page, "#history")
    assert history[0][1] == "rollout-rolled-back"
    assert history[0][3] == status["details"]["ended"]
    # a finished rollout offers no action
    assert page.locator("form.act").count() == 0
    assert tab.clean(), tab.problems()


def test_deployments_show_the_split_the_cli_lists(dashboard: Any, tab: Any) -> None:
    page = opened(tab, dashboard, "/ui/deployments")
    listed = dashboard.cli_json("deployments", "list")
    assert listed
    for deployment in listed:
        row = page.locator(
            f'#deployments tr[data-model="{deployment["model"]}"]'
            f'[data-env="{deployment["environment"]}"]'
        )
        texts = [c.strip() for c in row.locator("td").all_inner_texts()]
        split = " · ".join(
            f"v{t['version']} {_weight(t['weight'])} %" for t in deployment["targets"]
        )
        assert texts[1] == split
        assert texts[2] == str(deployment["revision"])
        previous = deployment["previous"]
        assert texts[3] == (
            " · ".join(f"v{t['version']} {_weight(t['weight'])} %" for t in previous)
            if previous
            else "none"
        )
        assert texts[6].startswith("#")  # the live canary moving it
    # an endpoint model's traffic is the routing table: the LLM page
    assert page.locator('#deployments tr[data-model="assistant"] a[href="/ui/llm"]').count() == 1
    assert tab.clean(), tab.problems()


def test_pause_then_resume_from_the_page(dashboard: Any, tab: Any) -> None:
    status = _status(dashboard)
    assert status["state"] == "running"
    page = opened(tab, dashboard, f"/ui/rollouts/{status['id']}")
    page.fill("#reason-pause", "hold for the bias review")
    page.click("#do-pause")
    page.wait_for_load_state("load")
    assert page.url.endswith(f"/ui/rollouts/{status['id']}")
    assert _status(dashboard)["state"] == "paused"
    assert page.inner_text("#state") == "paused"
    paused = _events(dashboard, "rollout-paused")
    assert [e["reason"] for e in paused] == ["hold for the bias review"]
    assert cells(page, "#history")[0][1] == "rollout-paused"
    page.fill("#reason-resume", "review done")
    page.click("#do-resume")
    page.wait_for_load_state("load")
    assert _status(dashboard)["state"] == "running"
    assert [e["reason"] for e in _events(dashboard, "rollout-resumed")] == ["review done"]
    assert page.inner_text("#state") == "running"
    assert tab.clean(), tab.problems()


def test_a_refused_action_shows_its_message_and_changes_nothing(dashboard: Any, tab: Any) -> None:
    status = _status(dashboard)
    page = opened(tab, dashboard, f"/ui/rollouts/{status['id']}")
    page.fill("#reason-pause", "first")
    page.click("#do-pause")
    page.wait_for_load_state("load")
    # someone resumes it at the CLI meanwhile; this page still offers Resume
    ran = dashboard.cli("rollout", "resume", MODEL, "--reason", "at the CLI")
    assert ran.returncode == 0, ran.stderr
    before = dashboard.cli_json("history", MODEL)
    page.fill("#reason-resume", "too late")
    page.click("#do-resume")
    page.wait_for_load_state("load")
    assert "is not paused; nothing to resume" in page.inner_text("p.error")
    assert page.locator("h1").inner_text().startswith("4")
    assert _status(dashboard)["state"] == "running"
    assert dashboard.cli_json("history", MODEL) == before
    # a finished rollout: refused, by id, even though its model has another one
    listed = dashboard.cli_json("rollout", "list")
    promoted = next(r for r in listed if r["state"] == "promoted")
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        client.get("/ui/rollouts")
        answer = client.post(
            f"/ui/rollouts/{promoted['id']}/abort",
            data={"csrf": client.cookies["mw_csrf"], "reason": "no"},
        )
    assert answer.status_code == 409
    assert f"rollout #{promoted['id']} of 'assistant' is promoted" in html.unescape(answer.text)
    assert dashboard.cli_json("rollout", "list") == listed


def test_bad_input_answers_an_html_page_naming_the_problem(dashboard: Any) -> None:
    assert_refused(
        dashboard,
        [
            ("/ui/rollouts/999", 404, "no rollout #999"),
            ("/ui/rollouts/abc", 404, "a rollout id is a number"),
            ("/ui/rollouts/-1", 404, "a rollout id is a number"),
            ("/ui/rollouts/99999999999999999999999", 404, "a rollout id is a number"),
            ("/ui/rollouts?state=done", 400, "?state= must be one of live, running, paused"),
            ("/ui/rollouts?model=nope", 404, "no model 'nope'"),
            ("/ui/rollouts?page=x", 400, "?page= must be a whole number"),
            ("/ui/rollouts/1?page=0", 400, "?page= must be between"),
            ("/ui/deployments?env=qa", 400, "?env= must be one of staging, production"),
        ],
    )
    before = _status(dashboard)
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        client.get("/ui/rollouts")
        token = client.cookies["mw_csrf"]
        for path, status, message in [
            ("/ui/rollouts/1/explode", 404, "no rollout action 'explode'; use one of pause"),
            ("/ui/rollouts/x/pause", 404, "a rollout id is a number"),
            ("/ui/rollouts/999/pause", 404, "no rollout #999"),
        ]:
            answer = client.post(path, data={"csrf": token, "reason": "r"})
            assert answer.status_code == status, path
            assert message in html.unescape(answer.text), (path, answer.text[-600:])
        # a reason beyond the limit, a form without its CSRF token: refused, nothing changes
        long = client.post("/ui/rollouts/1/pause", data={"csrf": token, "reason": "x" * 600})
        assert long.status_code == 400 and "keep it under 500" in long.text
        assert client.post("/ui/rollouts/1/pause", data={"reason": "r"}).status_code == 403
    assert _status(dashboard) == before


def test_abort_from_the_page_sends_traffic_back_to_stable(dashboard: Any, tab: Any) -> None:
    status = _status(dashboard)
    assert status["state"] == "running"
    page = opened(tab, dashboard, f"/ui/rollouts/{status['id']}")
    page.fill("#reason-abort", "bias review failed")
    page.click("#do-abort")
    page.wait_for_load_state("load")
    after = _status(dashboard)
    assert after["state"] == "aborted"
    assert page.inner_text("#state") == "aborted"
    assert [e["reason"] for e in _events(dashboard, "rollout-aborted")] == ["bias review failed"]
    (production,) = [d for d in dashboard.cli_json("deployments", "list") if d["model"] == MODEL]
    assert [(t["version"], t["weight"]) for t in production["targets"]] == [
        (status["stable_version"], 100.0)
    ]
    assert page.locator("form.act").count() == 0
    rows = {row[0]: row for row in cells(page, "#decisions")}
    assert rows[f"#{after['decisions'][0]['id']}"][4] == "abort"
    assert tab.clean(), tab.problems()
