"""The dashboard's tests: a workspace built by the demos' real commands, `modelward serve`
on it, and Debian's Chromium driven by Playwright.

The workspace is what `make demo` builds: the heart-disease runbook (train, evaluate,
validate, gates with a forced override, deploy, traffic with feedback, failing monitoring
checks, a canary rollout of version 2, backup, card) and the LLM fleet's act on the fake
providers (endpoints, evaluations, a routing table, gateway calls, canaries over the
routing table). It is built once per test session (a file lock: the xdist workers share
it) and copied for each test file, so one file's actions never change another's pages.
"""

from __future__ import annotations

import fcntl
import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest

from conftest import ROOT
from ui.build import run_demos

CHROMIUM = Path("/usr/bin/chromium")
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"]

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason="needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium; "
    "`make test` installs it as root)",
)


def _shared_dir(factory: pytest.TempPathFactory) -> Path:
    """A folder every xdist worker of this run sees (the run's base temp folder)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def build_workspace(folder: Path) -> Path:
    """The demos' workspace in ``folder`` (built by the first caller, or by the build
    started at collection, and waited for by the others); its root. ``MODELWARD_UI_BUILT``
    names a folder built before (while working on the pages: the build takes minutes)."""
    given = os.environ.get("MODELWARD_UI_BUILT")
    if given and (Path(given) / "done").exists():
        return Path(given) / "workspace"
    built = folder / "ui-built"
    with (folder / "ui-built.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (built / "done").exists():  # not built, or the early build failed: say why
            shutil.rmtree(built, ignore_errors=True)
            built.mkdir(parents=True)
            run_demos(built)
    return built / "workspace"


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Start the demos' build as soon as a worker knows this run holds dashboard tests: it
    runs beside the other tests instead of holding up the first dashboard test."""
    if os.environ.get("MODELWARD_UI_BUILT") or not CHROMIUM.exists():
        return
    here = Path(__file__).parent
    if not any(here in Path(str(item.path)).parents for item in items):
        return
    factory = getattr(config, "_tmp_path_factory", None)
    if factory is not None:
        _start_building(_shared_dir(factory))


def _start_building(folder: Path) -> None:
    built = folder / "ui-built"
    with (folder / "ui-built.lock").open("w") as lock:
        try:
            fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return  # another worker started it
        if (built / "done").exists():
            return
        shutil.rmtree(built, ignore_errors=True)
        built.mkdir(parents=True)
        # the child inherits the locked descriptor: the lock is held until the child exits
        subprocess.Popen(
            [sys.executable, str(Path(__file__).with_name("build.py")), str(built)],
            pass_fds=(lock.fileno(),), stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip


@pytest.fixture(scope="session")
def built_folder(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The folder the demos built the workspace in (with their output, ``<demo>.log``)."""
    return build_workspace(_shared_dir(tmp_path_factory)).parent


def demo_output(folder: Path, demo: str) -> str:
    log = folder / f"{demo}.log"
    if not log.exists():
        pytest.skip(f"{folder} (MODELWARD_UI_BUILT) holds no output of the {demo} demo")
    return log.read_text(encoding="utf-8", errors="replace")


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This test file's own copy of the demos' workspace (its root)."""
    source = build_workspace(_shared_dir(tmp_path_factory))
    target = tmp_path_factory.mktemp("ui") / "workspace"
    shutil.copytree(source, target)
    return target


@dataclass
class Dashboard:
    url: str  # the server's base URL; pages are under url + "/ui/"
    root: Path
    proc: subprocess.Popen
    log: Path
    environ: dict[str, str] = field(default_factory=dict)  # the server's (its DB URL)

    def cli(self, *args: str) -> subprocess.CompletedProcess[str]:
        """A `modelward` command on the same workspace (the CLI's view of the records)."""
        return subprocess.run(
            [sys.executable, "-m", "modelward.cli.main", *args],
            capture_output=True, text=True, env=self.env(), timeout=120, check=False,
        )  # fmt: skip

    def cli_json(self, *args: str) -> Any:
        ran = self.cli(*args, "--json")
        assert ran.returncode in (0, 1), ran.stderr
        return json.loads(ran.stdout)

    def env(self) -> dict[str, str]:
        return {**self.environ, "PYTHONPATH": str(ROOT / "src"), "MODELWARD_HOME": str(self.root)}

    def get(self, path: str, **options: Any) -> httpx.Response:
        return httpx.get(self.url + path, timeout=30, **options)


def start_dashboard(
    root: Path, log: Path, *args: str, env: dict[str, str] | None = None
) -> Dashboard:
    """`modelward serve --port 0` on ``root`` (``env``: more of its environment)."""
    env = {
        **os.environ, "PYTHONPATH": str(ROOT / "src"), "MODELWARD_HOME": str(root), **(env or {})
    }  # fmt: skip
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "modelward.cli.main", "serve", "--port", "0", *args],
            stdout=out, stderr=subprocess.STDOUT, env=env,
        )  # fmt: skip
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        found = re.search(r"listening on (http://[^\s\"]+)", log.read_text(errors="replace"))
        if found:
            return Dashboard(found.group(1), root, proc, log, env)
        if proc.poll() is not None:
            break
        time.sleep(0.05)
    proc.kill()
    raise AssertionError(f"modelward serve did not start:\n{log.read_text(errors='replace')}")


@pytest.fixture(scope="module")
def dashboard(built: Path) -> Iterator[Dashboard]:
    """`modelward serve` on this file's copy of the workspace (loopback, no token yet)."""
    server = start_dashboard(built, built.parent / "serve.log")
    yield server
    server.proc.terminate()
    try:
        server.proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.proc.kill()


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    if not CHROMIUM.exists():
        pytest.skip(
            "needs Debian's Chromium at /usr/bin/chromium (apt-get install chromium; "
            "`make test` installs it as root)"
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        yield launched
        launched.close()


@dataclass
class Watched:
    """A browser tab and everything that went wrong in it."""

    page: Any
    errors: list[str] = field(default_factory=list)  # console errors, page exceptions
    failed: list[str] = field(default_factory=list)  # failed requests, 4xx/5xx answers
    elsewhere: list[str] = field(default_factory=list)  # requests to any other host

    def clean(self) -> bool:
        return not (self.errors or self.failed or self.elsewhere)

    def problems(self) -> dict[str, list[str]]:
        return {"errors": self.errors, "failed": self.failed, "elsewhere": self.elsewhere}


def watch(context: Any) -> Watched:
    """A new tab of ``context`` that records console errors, failed requests and any
    request beyond 127.0.0.1 (blocked: the pages must need nothing from elsewhere)."""
    from urllib.parse import urlsplit

    page = context.new_page()
    seen = Watched(page)

    def only_here(route: Any) -> None:
        if urlsplit(route.request.url).hostname == "127.0.0.1":
            route.continue_()
        else:
            seen.elsewhere.append(route.request.url)
            route.abort()

    page.route("**/*", only_here)
    page.on("console", lambda m: m.type == "error" and seen.errors.append(m.text))
    page.on("pageerror", lambda e: seen.errors.append(str(e)))
    page.on("requestfailed", lambda r: seen.failed.append(f"{r.url}: {r.failure}"))
    page.on("response", lambda r: r.status >= 400 and seen.failed.append(f"{r.url}: {r.status}"))
    return seen


@pytest.fixture
def tab(browser: Any) -> Iterator[Watched]:
    """A fresh browser context and tab; the test asserts ``tab.clean()`` where it expects
    no error (a page that answers 4xx on purpose is recorded in ``failed``)."""
    context = browser.new_context(viewport={"width": 1280, "height": 800})
    try:
        yield watch(context)
    finally:
        context.close()


def drawn_charts(page: Any) -> int:
    """How many charts on the page uPlot drew onto a non-empty canvas."""
    page.wait_for_load_state("load")
    return int(
        page.evaluate(
            """() => [...document.querySelectorAll('figure[data-chart]')].filter(f => {
                 const c = f.querySelector('canvas');
                 return f.dataset.drawn === 'true' && c && c.width > 0 && c.height > 0;
               }).length"""
        )
    )


def cells(page: Any, selector: str) -> list[list[str]]:
    """The text of each row's cells of the table ``selector`` (header cells included)."""
    return [
        [cell.strip() for cell in row]
        for row in page.eval_on_selector_all(
            f"{selector} tbody tr",
            "rows => rows.map(r => [...r.children].map(c => c.innerText))",
        )
    ]


def opened(tab: Watched, dashboard: Dashboard, path: str) -> Any:
    """``tab``'s page at ``path``, loaded (answered 200)."""
    page = tab.page
    response = page.goto(dashboard.url + path)
    assert response is not None and response.status == 200, path
    page.wait_for_load_state("load")
    return page


def assert_refused(dashboard: Dashboard, cases: list[tuple[str, int, str]]) -> None:
    """Each ``(path, status, message)``: an HTML page with that status saying that."""
    import html

    for path, status, message in cases:
        answer = dashboard.get(path)
        assert answer.status_code == status, path
        assert answer.headers["content-type"].startswith("text/html"), path
        assert message in html.unescape(answer.text), (path, answer.text[-600:])
