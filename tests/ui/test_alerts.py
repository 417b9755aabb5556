"""The Alerts page and its resolve action, in a real browser on the demos' workspace (the
failing monitoring checks of heart-disease left critical alerts open), checked against
`modelward monitor alerts --json` for the same records."""

from __future__ import annotations

import html
from typing import Any

import httpx
from tests.ui.conftest import assert_refused, cells, opened


def _open_alerts(dashboard: Any) -> list[dict[str, Any]]:
    found: list[dict[str, Any]] = dashboard.cli_json("monitor", "alerts")
    return found


def test_the_page_lists_the_open_alerts_the_cli_lists(dashboard: Any, tab: Any) -> None:
    listed = _open_alerts(dashboard)
    assert listed and any(a["level"] == "critical" for a in listed)
    page = opened(tab, dashboard, "/ui/alerts")
    rows = cells(page, "#alerts")
    assert [r[0] for r in rows] == [f"#{a['id']}" for a in listed]
    for row, alert in zip(rows, listed, strict=True):
        assert row[1] == alert["level"]
        assert row[2].startswith(alert["check"])
        assert row[3] == alert["model"]
        assert row[4] == alert["message"]
        assert row[7] == str(alert["count"])
        assert row[8] == "open"
    # filters: critical only, and resolved (none yet)
    page = opened(tab, dashboard, "/ui/alerts?level=critical")
    critical = [a for a in listed if a["level"] == "critical"]
    assert [r[0] for r in cells(page, "#alerts")] == [f"#{a['id']}" for a in critical]
    page = opened(tab, dashboard, "/ui/alerts?state=resolved")
    assert page.locator("#alerts").count() == 0
    assert tab.clean(), tab.problems()


def test_resolving_an_alert_from_the_page(dashboard: Any, tab: Any) -> None:
    listed = _open_alerts(dashboard)
    target = listed[0]
    page = opened(tab, dashboard, "/ui/alerts")
    page.click(f'#alerts tr[data-alert="{target["id"]}"] button')
    page.wait_for_load_state("load")
    assert page.url.endswith("/ui/alerts")
    still_open = _open_alerts(dashboard)
    assert target["id"] not in [a["id"] for a in still_open]
    assert [a["id"] for a in still_open] == [a["id"] for a in listed[1:]]
    everything = dashboard.cli_json("monitor", "alerts", "--all")
    (resolved,) = [a for a in everything if a["id"] == target["id"]]
    assert resolved["resolved_at"] is not None
    assert f"#{target['id']}" not in [r[0] for r in cells(page, "#alerts")]
    page = opened(tab, dashboard, "/ui/alerts?state=resolved")
    (row,) = cells(page, "#alerts")
    assert row[0] == f"#{target['id']}" and row[8].startswith("resolved")
    assert page.locator(f'#alerts tr[data-alert="{target["id"]}"] button').count() == 0
    assert tab.clean(), tab.problems()


def test_a_refused_resolve_changes_nothing(dashboard: Any) -> None:
    everything = dashboard.cli_json("monitor", "alerts", "--all")
    done = next(a for a in everything if a["resolved_at"] is not None)
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        client.get("/ui/alerts")
        token = client.cookies["mw_csrf"]
        for path, status, message in [
            (f"/ui/alerts/{done['id']}/resolve", 409, f"alert #{done['id']} was resolved already"),
            ("/ui/alerts/999/resolve", 404, "no alert #999"),
            ("/ui/alerts/abc/resolve", 404, "an alert id is a number"),
            ("/ui/alerts/1/silence", 404, "no alert action 'silence'; use one of resolve"),
        ]:
            answer = client.post(path, data={"csrf": token})
            assert answer.status_code == status, path
            assert answer.headers["content-type"].startswith("text/html")
            assert message in html.unescape(answer.text), (path, answer.text[-600:])
    assert dashboard.cli_json("monitor", "alerts", "--all") == everything


def test_bad_filters_answer_400_naming_the_choices(dashboard: Any) -> None:
    assert_refused(
        dashboard,
        [
            ("/ui/alerts?state=closed", 400, "?state= must be one of open, resolved, all"),
            ("/ui/alerts?level=info", 400, "?level= must be one of warning, critical"),
            ("/ui/alerts?model=nope", 404, "no model 'nope'"),
            ("/ui/alerts?page=-2", 400, "?page= must be between"),
            ("/ui/alerts?limit=x", 400, "?limit= must be a whole number"),
        ],
    )


def test_a_read_only_token_sees_no_action_and_cannot_act(dashboard: Any, tab: Any) -> None:
    """Last in this file: once a token exists the server asks every visitor for one."""
    reader = dashboard.cli_json("tokens", "create", "reader", "--scope", "read")["token"]
    operator = dashboard.cli_json("tokens", "create", "operator", "--scope", "operate")["token"]
    page = tab.page
    page.goto(dashboard.url + "/ui/login")
    page.fill("#token", reader)
    page.click("form.login button")
    page.wait_for_load_state("load")
    for path in ("/ui/alerts", "/ui/rollouts/1"):
        page = opened(tab, dashboard, path)
        assert "(read only)" in page.inner_text("header")
        assert page.locator("main form[method=post]").count() == 0, path
    open_ids = [a["id"] for a in _open_alerts(dashboard)]
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        client.get("/ui/login")
        token = client.cookies["mw_csrf"]
        answer = client.post(
            f"/ui/alerts/{open_ids[0]}/resolve",
            data={"csrf": token},
            headers={"Authorization": f"Bearer {reader}"},
        )
        assert answer.status_code == 403
        assert "lacks the 'operate' scope" in html.unescape(answer.text)
        assert [a["id"] for a in _open_alerts(dashboard)] == open_ids
        # an operator sees the buttons
        seen = client.get("/ui/alerts", headers={"Authorization": f"Bearer {operator}"})
        assert f'action="/ui/alerts/{open_ids[0]}/resolve"' in seen.text
    assert tab.clean(), tab.problems()
