"""``modelward ui``: the dashboard on its own, for a workspace that serves no model here.

The same pages and rules as under ``modelward serve``: loopback without a token while the
workspace has none; beyond loopback only once a token exists, and then every page needs
one. Tokens created or revoked are followed within a second.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from modelward.errors import ConfigError
from modelward.http.app import App
from modelward.http.hosts import is_loopback
from modelward.http.ops import Operations
from modelward.http.tokens import TokenInfo, active_tokens
from modelward.ui.dashboard import Dashboard

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["WatchedTokens", "create_dashboard_app", "run_dashboard"]


class WatchedTokens:
    """The workspace's active tokens, re-read every ``every`` seconds on a thread; auth is
    on beyond loopback always, and on loopback once a token exists."""

    def __init__(self, ws: Workspace, *, require_auth: bool, every: float = 1.0) -> None:
        self.ws = ws
        self.require_auth = require_auth
        self.every = every
        self._tokens: Mapping[str, TokenInfo] = active_tokens(ws.db)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def tokens(self) -> Mapping[str, TokenInfo]:
        return self._tokens

    @property
    def auth_on(self) -> bool:
        return self.require_auth or bool(self._tokens)

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="ui-tokens", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                self._tokens = active_tokens(self.ws.db)
            except Exception:  # noqa: BLE001 - the database is back next round; keep the last
                continue


class _DashboardApp(App):
    def __init__(self, ws: Workspace, tokens: WatchedTokens) -> None:
        self.watched = tokens
        super().__init__([Dashboard(ws, tokens), Operations(health=lambda: {"status": "ok"})])

    async def startup(self) -> None:
        self.watched.start()
        await super().startup()

    async def shutdown(self) -> None:
        await super().shutdown()
        self.watched.stop()


def create_dashboard_app(ws: Workspace, *, require_auth: bool = False) -> App:
    return _DashboardApp(ws, WatchedTokens(ws, require_auth=require_auth))


def run_dashboard(
    ws: Workspace,
    *,
    host: str = "127.0.0.1",
    port: int = 8080,
    on_ready: Callable[[str], None] | None = None,
) -> None:
    """Serve the dashboard at ``host:port`` until stopped; ``on_ready`` gets its URL."""
    if not 0 < port < 65536:
        raise ConfigError(f"--port must be between 1 and 65535, got {port}", field="port")
    local = is_loopback(host)
    if not local and not active_tokens(ws.db):
        raise ConfigError(
            f"refusing to serve the dashboard on {host} without API tokens: beyond loopback "
            "every page needs one. Create one with `modelward tokens create NAME --scope "
            "read` or bind 127.0.0.1",
            field="host",
        )
    import uvicorn

    app = create_dashboard_app(ws, require_auth=not local)
    if on_ready is not None:
        shown = f"[{host}]" if ":" in host else host
        on_ready(f"http://{shown}:{port}/ui/")
    uvicorn.run(app, host=host, port=port, log_level="warning", access_log=False)
