"""The dashboard route group: server-rendered pages under ``/ui/``.

Mounted by ``modelward serve`` beside the API (same process, same tokens) and by
``modelward ui`` alone. Who may look follows the API's rule (the token source's
``auth_on``): on loopback with no token in the workspace anyone may look and act; else a
token is needed, sent as ``Authorization: Bearer`` or, from a browser, as the HttpOnly,
``SameSite=Strict`` cookie the login form sets. Pages need the ``read`` scope, actions
``operate`` (``admin`` has both).

Every POST is checked against cross-site requests twice: the browser's ``Origin`` (or
``Sec-Fetch-Site``) must be this site, and the form must carry the CSRF token the page was
rendered with, which equals the ``mw_csrf`` cookie (double submit: a page of another site
can neither read that cookie nor set it). A page's function runs on a worker thread; an
error of the tree answers an HTML page with its status and one-line message.
"""

from __future__ import annotations

import asyncio
import hmac
import logging
import secrets
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, NamedTuple
from urllib.parse import quote, urlsplit

from modelward.errors import ModelwardError, NotFound, PermissionDenied
from modelward.http.app import Group
from modelward.http.response import Response, html_response, redirect
from modelward.http.router import Route
from modelward.http.static import StaticFiles
from modelward.http.tokens import TokenInfo, find_token
from modelward.redact import redact
from modelward.ui.render import render
from modelward.ui.view import File, Page, PageRoute, Redirect, View

if TYPE_CHECKING:
    from modelward.http.auth import TokenSource
    from modelward.http.request import Request
    from modelward.workspace import Workspace

__all__ = ["PREFIX", "Dashboard"]

log = logging.getLogger("modelward.ui")

PREFIX = "/ui"
SESSION = "mw_ui"
CSRF = "mw_csrf"
#: How long the login cookie lasts (the token itself may be revoked sooner).
SESSION_S = 12 * 3600
STATIC = ("uPlot.iife.min.js", "uPlot.min.css", "ui.js", "ui.css")
#: The pages load only their own files: no inline script, no other origin.
CSP = (
    b"default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    b"connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
#: A stored document (a report, a card) shown as it is: its own inline styles and data:
#: images, nothing else; sandboxed (no script, an opaque origin, no form).
FILE_CSP = b"sandbox; default-src 'none'; style-src 'unsafe-inline'; img-src data:"
HEADERS = [
    (b"content-security-policy", CSP),
    (b"cache-control", b"no-store"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
]


class Dashboard(Group):
    """The pages of :mod:`modelward.ui.pages` over ``ws``; ``tokens``: who may look (the
    server's :class:`~modelward.serving.state.ServingState`, or ``modelward ui``'s)."""

    def __init__(self, ws: Workspace, tokens: TokenSource) -> None:
        from modelward.ui.pages import PAGES

        self.ws = ws
        self.tokens = tokens
        self.pages: tuple[PageRoute, ...] = tuple(PAGES)
        self.files = StaticFiles("modelward.ui", "static", STATIC)

    def routes(self) -> Sequence[Route]:
        routes = [
            Route("GET", PREFIX, self.root),
            Route("GET", f"{PREFIX}/static/{{name}}", self.static),
            Route("GET", f"{PREFIX}/login", self.login_form),
            Route("POST", f"{PREFIX}/login", self.login),
            Route("POST", f"{PREFIX}/logout", self.logout),
        ]
        for page in [*self.pages, PageRoute("/{rest:path}", _no_page)]:
            method = "POST" if page.action else "GET"
            routes.append(Route(method, PREFIX + page.path, self._handler(page)))
        return routes

    # -- the pages --------------------------------------------------------------------------

    def _handler(self, page: PageRoute) -> Any:
        async def handle(request: Request) -> Response:
            return await self.answer(request, page)

        return handle

    async def answer(self, request: Request, page: PageRoute) -> Response:
        csrf = request.cookies.get(CSRF) or secrets.token_urlsafe(24)
        who = Viewer(None, False)
        try:
            token = self.identify(request)
            who = Viewer(
                token.name if token is not None else "loopback", self._may(token, "operate")
            )
            if page.action:
                form = await self._checked_form(request, csrf)
                self._require(token, "operate")
            else:
                form = {}
                self._require(token, "read")
            view = View(self.ws, request.params, request.query, who.name or "", who.can_act, form)
            # the page's queries and its template, off the server's event loop
            return await asyncio.to_thread(self._outcome, request, csrf, page, view, who)
        except NeedsLogin as exc:
            return self._login_page(request, csrf, exc.message, status=401)
        except ModelwardError as exc:
            return self._error(request, csrf, exc, who)

    def _outcome(
        self, request: Request, csrf: str, page: PageRoute, view: View, who: Viewer
    ) -> Response:
        outcome = page.render(view)
        if isinstance(outcome, Redirect):
            return redirect(_local(outcome.location))
        if isinstance(outcome, File):
            headers = [(b"content-security-policy", FILE_CSP), *HEADERS[1:]]
            return Response(outcome.body, 200, headers, outcome.content_type.encode())
        return self._page(request, csrf, outcome, who)

    def identify(self, request: Request) -> TokenInfo | None:
        """The caller's token (None when the server needs none); NeedsLogin without one."""
        if not self.tokens.auth_on:
            return None
        presented = request.bearer() or request.cookies.get(SESSION)
        if not presented:
            raise NeedsLogin("sign in with an API token to see the dashboard")
        token = find_token(self.tokens.tokens, presented)
        if token is None:
            raise NeedsLogin("that token is unknown or revoked; sign in with another")
        return token

    def _may(self, token: TokenInfo | None, scope: str) -> bool:
        return token is None or token.allows(scope)

    def _require(self, token: TokenInfo | None, scope: str) -> None:
        if not self._may(token, scope):
            assert token is not None
            raise PermissionDenied(
                f"token {token.name!r} lacks the {scope!r} scope (it has "
                f"{', '.join(token.scopes) or 'none'}); create one with --scope {scope}"
            )

    async def _checked_form(self, request: Request, csrf: str) -> dict[str, str]:
        """The form of a POST from this site's own page; PermissionDenied otherwise."""
        if not _same_site(request):
            raise PermissionDenied("refused a cross-site request; use the dashboard's own page")
        form = await request.form()
        sent = form.pop("csrf", "")
        cookie = request.cookies.get(CSRF, "")
        if not cookie or not hmac.compare_digest(sent.encode(), cookie.encode()):
            raise PermissionDenied(
                "the form's CSRF token is missing or stale; reload the page and try again"
            )
        return form

    # -- answers ----------------------------------------------------------------------------

    def _page(self, request: Request, csrf: str, page: Page, who: Viewer) -> Response:
        values = {
            **page.values,
            "title": page.title,
            "csrf": csrf,
            "viewer": who.name,
            "can_act": who.can_act,
            "signed_in": bool(request.cookies.get(SESSION)),
            "path": request.path,
            "args": {k: v[-1] for k, v in request.query.items()},
        }
        response = html_response(render(page.template, values), page.status, HEADERS)
        if request.cookies.get(CSRF) != csrf:
            response.set_cookie(CSRF, csrf, path=PREFIX, secure=_https(request))
        return response

    def _error(
        self, request: Request, csrf: str, exc: ModelwardError, who: Viewer | None = None
    ) -> Response:
        if exc.status >= 500:
            log.warning("%s", redact(exc.message), exc_info=exc.__cause__ is not None)
        page = Page(
            "error.html.j2",
            f"{exc.status} {exc.code}",
            {"status": exc.status, "code": exc.code, "message": redact(exc.message)},
            status=exc.status,
        )
        return self._page(request, csrf, page, who or Viewer(None, False))

    def _login_page(
        self, request: Request, csrf: str, message: str = "", *, status: int = 200
    ) -> Response:
        target = request.path + (
            "?" + request.scope["query_string"].decode("latin-1")
            if request.scope.get("query_string")
            else ""
        )
        page = Page(
            "login.html.j2",
            "Sign in",
            {"message": message, "next": _local(target if request.method == "GET" else PREFIX)},
            status=status,
        )
        return self._page(request, csrf, page, Viewer(None, False))

    # -- fixed routes -----------------------------------------------------------------------

    async def root(self, request: Request) -> Response:
        return redirect(PREFIX + "/")

    async def static(self, request: Request) -> Response:
        return self.files.response(request, request.params["name"])

    async def login_form(self, request: Request) -> Response:
        csrf = request.cookies.get(CSRF) or secrets.token_urlsafe(24)
        return self._login_page(request, csrf)

    async def login(self, request: Request) -> Response:
        csrf = request.cookies.get(CSRF) or secrets.token_urlsafe(24)
        try:
            form = await self._checked_form(request, csrf)
        except ModelwardError as exc:
            return self._error(request, csrf, exc)
        presented = form.get("token", "").strip()
        token = find_token(self.tokens.tokens, presented) if presented else None
        if token is None:
            return self._login_page(
                request, csrf, "that token is unknown or revoked; check it and try again",
                status=401,
            )  # fmt: skip
        try:
            self._require(token, "read")
        except PermissionDenied as exc:
            return self._error(request, csrf, exc)
        response = redirect(_local(form.get("next") or PREFIX + "/"))
        response.set_cookie(
            SESSION, presented, max_age=SESSION_S, path=PREFIX, secure=_https(request)
        )
        return response

    async def logout(self, request: Request) -> Response:
        csrf = request.cookies.get(CSRF) or secrets.token_urlsafe(24)
        try:
            await self._checked_form(request, csrf)
        except ModelwardError as exc:
            return self._error(request, csrf, exc)
        response = redirect(PREFIX + "/login")
        response.delete_cookie(SESSION, path=PREFIX)
        return response


class Viewer(NamedTuple):
    """Who is looking (the token's name, "loopback", or None before sign-in)."""

    name: str | None
    can_act: bool


class NeedsLogin(Exception):  # noqa: N818 - control flow inside the dashboard, not an error
    """No usable token: a browser gets the login form (401). Never leaves the dashboard
    (not an error of the tree: the answer is the form, not an error body)."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


def _no_page(view: View) -> Page:
    """Any other path under /ui/: the error page, after the same sign-in as a page."""
    raise NotFound(f"no dashboard page {view.params['rest'][:100]!r}; start at /ui/")


def _same_site(request: Request) -> bool:
    """Whether a POST comes from this site's pages: ``Sec-Fetch-Site`` when the browser
    sends it, else ``Origin`` against ``Host``; a client sending neither (curl, a script
    with a bearer token) is judged by the CSRF token alone."""
    headers = request.headers
    fetch_site = headers.get("sec-fetch-site")
    if fetch_site is not None and fetch_site not in ("same-origin", "none"):
        return False
    origin = headers.get("origin")
    if origin is None:
        return True
    return origin != "null" and urlsplit(origin).netloc == headers.get("host", "")


def _https(request: Request) -> bool:
    return (
        request.scope.get("scheme") == "https"
        or request.headers.get("x-forwarded-proto", "") == "https"
    )


def _local(location: str) -> str:
    """``location`` when it is a path of the dashboard, else the home page: a form's
    ``next`` never sends the browser to another site."""
    if not location.startswith(PREFIX + "/") or location.startswith("//") or "\\" in location:
        return PREFIX + "/"
    return quote(location, safe="/?=&%:+,;@-._~")
