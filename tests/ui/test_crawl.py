"""Every link of every dashboard page answers, on SQLite and on PostgreSQL.

The pages read parts of JSON columns in SQL, and the two databases spell that differently;
so the demos' workspace is also restored into a throwaway PostgreSQL database (`modelward
backup`, then `modelward restore --db-url`) and served from there. A crawler follows every
``/ui/`` link from the home page (GET only, up to a bound) and every page must answer 200
with the same headings on both databases."""

from __future__ import annotations

import re
import subprocess
import sys
from collections import deque
from pathlib import Path

import httpx

from ui.conftest import Dashboard, start_dashboard

LINK = re.compile(r'href="(/ui/[^"#]*)"')
HEADING = re.compile(r"<h1[^>]*>(.*?)</h1>", re.S)
ERROR = re.compile(r'<p class="error" role="alert">(.*?)</p>', re.S)
MAX_PAGES = 250


def crawl(server: Dashboard) -> dict[str, tuple[int, str]]:
    """Each page reached from /ui/: its status and its h1."""
    seen: dict[str, tuple[int, str]] = {}
    queue = deque(["/ui/"])
    with httpx.Client(base_url=server.url, timeout=60) as client:
        while queue and len(seen) < MAX_PAGES:
            path = queue.popleft().replace("&amp;", "&")
            if path in seen:
                continue
            answer = client.get(path)
            heading = HEADING.search(answer.text)
            said = ERROR.search(answer.text) if answer.status_code != 200 else None
            shown = said.group(1) if said else heading.group(1).strip() if heading else ""
            seen[path] = (answer.status_code, shown)
            if answer.headers.get("content-type", "").startswith("text/html") and (
                "sandbox" not in answer.headers.get("content-security-policy", "")
            ):
                queue.extend(link for link in LINK.findall(answer.text) if link not in seen)
    return seen


def test_every_page_a_link_reaches_answers_on_sqlite(dashboard):
    pages = crawl(dashboard)
    assert len(pages) > 40, sorted(pages)
    assert {p: found for p, found in pages.items() if found[0] != 200} == {}


def test_the_same_pages_answer_the_same_on_postgresql(dashboard, pg_url, tmp_path: Path):
    archive = tmp_path / "backup.tar.gz"
    ran = dashboard.cli("backup", "--out", str(archive), "--include-weights")
    assert ran.returncode == 0, ran.stderr
    restored = tmp_path / "ws-pg"
    ran = subprocess.run(
        [sys.executable, "-m", "modelward.cli.main", "restore", str(archive),
         "--workspace", str(restored), "--db-url", pg_url],
        capture_output=True, text=True, check=False, env=dashboard.env(), timeout=300,
    )  # fmt: skip
    assert ran.returncode == 0, ran.stderr
    server = start_dashboard(restored, tmp_path / "serve-pg.log", env={"MODELWARD_DB_URL": pg_url})
    try:
        on_pg = crawl(server)
    finally:
        server.proc.terminate()
        server.proc.wait(timeout=30)
    on_sqlite = crawl(dashboard)
    assert {p: found for p, found in on_pg.items() if found[0] != 200} == {}
    common = set(on_pg) & set(on_sqlite)
    assert len(common) > 40
    differ = {p: (on_sqlite[p], on_pg[p]) for p in common if on_sqlite[p] != on_pg[p]}
    assert differ == {}
