"""What a page's function is given and what it gives back.

A page is a plain function ``(View) -> Page | Redirect | File`` that reads stored records through
``view.ws`` and returns a template's name and its values; it runs on a worker thread (the
database is synchronous), never on the server's event loop. An action (a POST) gets the
form's fields in ``view.form`` and answers with a :class:`Redirect` to the page that shows
what it did.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from modelward.errors import RequestError

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["File", "Page", "PageRoute", "Redirect", "View"]

#: Rows a table shows per page unless the URL asks for fewer (``?limit=``).
PAGE_SIZE = 50
MAX_PAGE_SIZE = 200


@dataclass
class View:
    """One request as a page sees it: the workspace, the path's parameters, the query,
    who is looking and whether they may act."""

    ws: Workspace
    params: Mapping[str, str]
    query: Mapping[str, list[str]]
    viewer: str  # the token's name, or "loopback" when the server needs none
    can_act: bool
    form: Mapping[str, str] = field(default_factory=dict)

    def arg(self, name: str, default: str | None = None) -> str | None:
        """The query parameter's last value (``default`` when absent or empty)."""
        values = self.query.get(name)
        return values[-1] if values and values[-1] != "" else default

    def number(self, name: str, default: int, *, low: int = 1, high: int = 10**9) -> int:
        """An integer query parameter within ``[low, high]``; a 400 naming it otherwise."""
        text = self.arg(name)
        if text is None:
            return default
        try:
            value = int(text)
        except ValueError as exc:
            raise RequestError(
                f"?{name}= must be a whole number, not {text[:20]!r}", field=name
            ) from exc
        if not low <= value <= high:
            raise RequestError(f"?{name}= must be between {low} and {high}", field=name)
        return value

    def paging(self) -> tuple[int, int]:
        """``(limit, offset)`` from ``?limit=`` and ``?page=`` (1-based)."""
        limit = self.number("limit", PAGE_SIZE, high=MAX_PAGE_SIZE)
        page = self.number("page", 1, high=100_000)
        return limit, (page - 1) * limit


@dataclass
class Page:
    """A template and its values; ``title`` is the window's title."""

    template: str
    title: str
    values: dict[str, Any] = field(default_factory=dict)
    status: int = 200


@dataclass
class Redirect:
    """Where an action sends the browser next (303 See Other)."""

    location: str


@dataclass
class File:
    """A stored document answered as it is (a report, a model card): its bytes and type.
    The dashboard answers it in a sandbox (no script, no request anywhere, an origin of its
    own), so nothing a report holds can act on the viewer's session."""

    body: bytes
    content_type: str


@dataclass(frozen=True)
class PageRoute:
    """``path`` (under ``/ui``) answered by ``render``. ``action``: a POST that changes
    something, so it needs the ``operate`` scope and the form's CSRF token."""

    path: str
    render: Callable[[View], Page | Redirect | File]
    action: bool = False
