"""Who may see and do what on the dashboard: the login form, the cookie it sets, read and
operate tokens, cross-site requests, and `modelward ui` on its own.

This file's server gets tokens at the start (so on loopback too every page needs one);
the other files' servers have none (loopback, open to the machine, as the API)."""

from __future__ import annotations

import re
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from conftest import ROOT
from ui.conftest import needs_chromium, watch


@pytest.fixture(scope="module")
def tokens(dashboard) -> dict[str, str]:
    """A read token and an operate token; returns once the server requires them."""
    made = {}
    for scope in ("read", "operate"):
        ran = dashboard.cli("tokens", "create", f"ui-{scope}", "--scope", scope, "--json")
        assert ran.returncode == 0, ran.stderr
        made[scope] = __import__("json").loads(ran.stdout)["token"]
    deadline = time.monotonic() + 10
    while dashboard.get("/ui/").status_code != 401:
        assert time.monotonic() < deadline, "the server never started requiring the tokens"
        time.sleep(0.1)
    return made


def _csrf(client: httpx.Client, path: str = "/ui/login") -> str:
    page = client.get(path)
    found = re.search(r'name="csrf" value="([^"]+)"', page.text)
    assert found, page.text[:500]
    return found.group(1)


def test_without_a_token_every_page_is_the_login_form(dashboard, tokens):
    for path in ("/ui/", "/ui/models/heart-disease", "/ui/alerts", "/ui/no/such/page"):
        page = dashboard.get(path)
        assert page.status_code == 401, path
        assert 'action="/ui/login"' in page.text and 'name="token"' in page.text
        assert tokens["read"] not in page.text


def test_signing_in_sets_a_strict_http_only_cookie_and_goes_back(dashboard, tokens):
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        csrf = _csrf(client)
        answer = client.post(
            "/ui/login",
            data={"csrf": csrf, "token": tokens["read"], "next": "/ui/alerts?page=1"},
            headers={"Origin": dashboard.url},
        )
        assert answer.status_code == 303 and answer.headers["location"] == "/ui/alerts?page=1"
        cookie = next(
            value for key, value in answer.headers.multi_items() if key == "set-cookie"
        )  # the session cookie (the CSRF one was set by the form's page)
        assert cookie.startswith("mw_ui=") and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie and "Path=/ui" in cookie
        home = client.get("/ui/")
        assert home.status_code == 200 and "ui-read (read only)" in home.text
        assert 'action="/ui/logout"' in home.text
        out = client.post("/ui/logout", data={"csrf": csrf}, headers={"Origin": dashboard.url})
        assert out.status_code == 303
        assert client.get("/ui/").status_code == 401


def test_a_wrong_token_and_a_foreign_next_are_refused(dashboard, tokens):
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        csrf = _csrf(client)
        wrong = client.post("/ui/login", data={"csrf": csrf, "token": "mw_nope", "next": "/ui/"})
        assert wrong.status_code == 401 and "unknown or revoked" in wrong.text
        for foreign in ("https://evil.example/", "//evil.example/ui/", "/elsewhere", "/ui\\x"):
            answer = client.post(
                "/ui/login", data={"csrf": csrf, "token": tokens["read"], "next": foreign}
            )
            assert answer.status_code == 303 and answer.headers["location"] == "/ui/", foreign


def test_a_cross_site_post_is_refused_and_signs_nobody_in(dashboard, tokens):
    with httpx.Client(base_url=dashboard.url, timeout=30) as client:
        csrf = _csrf(client)
        form = {"csrf": csrf, "token": tokens["operate"], "next": "/ui/"}
        for headers in ({"Origin": "https://evil.example"}, {"Sec-Fetch-Site": "cross-site"}):
            answer = client.post("/ui/login", data=form, headers=headers)
            assert answer.status_code == 403 and "cross-site" in answer.text
            assert "mw_ui=" not in answer.headers.get("set-cookie", "")
        stale = client.post("/ui/login", data={**form, "csrf": "forged"})
        assert stale.status_code == 403 and "CSRF" in stale.text
    # a form posted without the CSRF cookie at all (another site's page cannot send it)
    bare = httpx.post(dashboard.url + "/ui/login", data=form, timeout=30)
    assert bare.status_code == 403


def test_a_script_may_send_the_token_as_a_bearer_header(dashboard, tokens):
    page = dashboard.get("/ui/", headers={"Authorization": f"Bearer {tokens['read']}"})
    assert page.status_code == 200 and "heart-disease" in page.text


def test_pages_say_how_they_may_be_used(dashboard, tokens):
    page = dashboard.get("/ui/", headers={"Authorization": f"Bearer {tokens['read']}"})
    csp = page.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert page.headers["cache-control"] == "no-store"
    assert "<script>" not in page.text  # no inline script: only data blocks and files
    uplot = dashboard.get("/ui/static/uPlot.iife.min.js")
    assert uplot.status_code == 200 and uplot.headers["etag"]
    bearer = {"Authorization": f"Bearer {tokens['read']}"}
    assert dashboard.get("/ui/static/..%2Fdashboard.py", headers=bearer).status_code == 404
    assert dashboard.get("/ui/static/NOTICE").status_code == 404  # served by exact name only


@needs_chromium
def test_in_the_browser_the_login_form_leads_to_the_pages(dashboard, tokens, browser):
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        tab = watch(context)
        page = tab.page
        page.goto(dashboard.url + "/ui/alerts")
        page.get_by_label("API token").fill(tokens["read"])
        page.get_by_role("button", name="Sign in").click()
        page.wait_for_url("**/ui/alerts")
        assert "ui-read" in page.locator("header").inner_text()
        page.goto(dashboard.url + "/ui/")
        assert page.get_by_role("link", name="heart-disease").count() >= 1
        cookies = {c["name"]: c for c in context.cookies()}
        assert cookies["mw_ui"]["httpOnly"] and cookies["mw_ui"]["sameSite"] == "Strict"
        assert page.evaluate("document.cookie") == ""  # neither cookie is readable by script
    finally:
        context.close()
    # the first page was the login form, answered 401 on purpose; nothing else failed
    assert [f for f in tab.failed if not f.endswith("/ui/alerts: 401")] == []
    assert [e for e in tab.errors if "401 (Unauthorized)" not in e] == []
    assert tab.elsewhere == []


def test_nothing_shipped_or_rendered_points_at_another_site(dashboard, tokens):
    package = ROOT / "src" / "modelward" / "ui"
    link = re.compile(r"""(?:src|href|action)\s*=\s*["']?\s*(?:https?:)?//""", re.I)
    for path in [*package.rglob("*.j2"), *package.rglob("*.js"), *package.rglob("*.css")]:
        text = path.read_text(encoding="utf-8")
        assert not link.search(text), path
        assert "cdn" not in text.lower().replace("cdnjs", "cdn"), path
    for path in ("/ui/", "/ui/monitoring", "/ui/rollouts", "/ui/llm", "/ui/alerts"):
        page = dashboard.get(path, headers={"Authorization": f"Bearer {tokens['read']}"})
        assert not link.search(page.text), path


def test_modelward_ui_refuses_to_serve_beyond_loopback_without_a_token(tmp_path: Path):
    ran = subprocess.run(
        [sys.executable, "-m", "modelward.cli.main", "init", str(tmp_path / "ws")],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    env = {"MODELWARD_HOME": str(tmp_path / "ws"), "PYTHONPATH": str(ROOT / "src")}
    ran = subprocess.run(
        [sys.executable, "-m", "modelward.cli.main", "ui", "--host", "0.0.0.0"],
        capture_output=True, text=True, check=False, env={**_base_env(), **env}, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 2
    assert "without API tokens" in ran.stderr and "tokens create" in ran.stderr
    ran = subprocess.run(
        [sys.executable, "-m", "modelward.cli.main", "ui", "--port", "70000"],
        capture_output=True, text=True, check=False, env={**_base_env(), **env}, timeout=60,
    )  # fmt: skip
    assert ran.returncode == 2 and "--port" in ran.stderr


def test_modelward_ui_alone_serves_the_same_pages(built):
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    env = {**_base_env(), "MODELWARD_HOME": str(built), "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelward.cli.main", "ui", "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert f"http://127.0.0.1:{port}/ui/" in line, line
        deadline = time.monotonic() + 30
        while True:
            try:
                home = httpx.get(f"http://127.0.0.1:{port}/ui/", timeout=5)
                break
            except httpx.TransportError:
                assert time.monotonic() < deadline
                time.sleep(0.1)
        # this file's workspace has tokens by now (the module's fixture may have run)
        assert home.status_code in (200, 401)
        assert "heart-disease" in home.text or 'action="/ui/login"' in home.text
        assert httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _base_env() -> dict[str, str]:
    import os

    return {k: v for k, v in os.environ.items() if k != "MODELWARD_HOME"}


def _outside_address() -> str | None:
    """This machine's first address beyond loopback (None when it has none)."""
    import socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("192.0.2.1", 9))  # no packet is sent: it only picks a route
            address = probe.getsockname()[0]
    except OSError:
        return None
    return None if address.startswith("127.") else address


def test_beyond_loopback_every_page_needs_a_token(built, tokens):
    """`modelward ui` on an address beyond loopback (allowed once a token exists): the
    login form for a browser without one, the page with one."""
    import socket

    address = _outside_address()
    if address is None:
        pytest.skip("this machine has no address beyond loopback to bind")
    with socket.socket() as probe:
        probe.bind((address, 0))
        port = probe.getsockname()[1]
    env = {**_base_env(), "MODELWARD_HOME": str(built), "PYTHONPATH": str(ROOT / "src")}
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelward.cli.main", "ui", "--host", address, "--port", str(port)],
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
    )  # fmt: skip
    url = f"http://{address}:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                page = httpx.get(url + "/ui/", timeout=5)
                break
            except httpx.TransportError:
                assert proc.poll() is None and time.monotonic() < deadline
                time.sleep(0.1)
        assert page.status_code == 401 and 'action="/ui/login"' in page.text
        bearer = {"Authorization": f"Bearer {tokens['read']}"}
        assert httpx.get(url + "/ui/", headers=bearer, timeout=10).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=30)
