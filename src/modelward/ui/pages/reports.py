"""Reports and model cards already written, opened from the dashboard.

``/ui/reports/{name}`` shows a file of the workspace's reports folder and
``/ui/reports/cards/{name}`` one of its model cards. A URL never becomes a path: the folder
(which ``ws.layout`` names) is listed and only a file found there under exactly that name,
ending in .html, .md or .json, is read. Markdown and JSON are shown as text (escaped, in a
``<pre>``); an HTML report's body is shown after an allow-list of tags and attributes kept
what is document (headings, tables, figures, data: images) and dropped the rest (its
styles, any script, form or frame), so the page keeps the dashboard's strict
Content-Security-Policy and nothing in a report can act on the viewer's session.
"""

from __future__ import annotations

import os
import re
from html import escape
from html.parser import HTMLParser
from pathlib import Path
from typing import TYPE_CHECKING

from markupsafe import Markup

from modelward.errors import NotFound, PayloadTooLarge, RequestError
from modelward.ui.view import Page, PageRoute, View

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["ROUTES", "card_files", "listed", "report_files"]

SUFFIXES = (".html", ".md", ".json")
#: A report larger than this is not shown in a page (open it from the folder instead).
MAX_BYTES = 5_000_000
MAX_NAME = 200
#: How many names of a folder a page lists or an error names.
SHOWN = 20


def listed(folder: Path) -> dict[str, Path]:
    """The folder's regular files with a servable suffix, by exact name (no sub-folders,
    no symbolic links); an empty dict when the folder does not exist."""
    try:
        entries = list(os.scandir(folder))
    except (FileNotFoundError, NotADirectoryError):
        return {}
    return {
        entry.name: Path(entry.path)
        for entry in entries
        if entry.name.endswith(SUFFIXES) and entry.is_file(follow_symlinks=False)
    }


def card_files(ws: Workspace, model: str, version: int) -> list[str]:
    """The card files of one version found in the cards folder (.html first)."""
    files = listed(ws.layout.cards)
    stem = f"{model}-v{version}"
    return [f"{stem}{suffix}" for suffix in SUFFIXES if f"{stem}{suffix}" in files]


def report_files(
    ws: Workspace, model: str, folder: dict[str, Path] | None = None
) -> dict[str, list[str]]:
    """A model's files in the reports folder (``<model>-…``; ``folder``: its listing when
    the caller has it) and its cards folder (``<model>-v<n>.…``), newest names first, at
    most :data:`SHOWN` of each."""
    files = listed(ws.layout.reports) if folder is None else folder
    reports = sorted((n for n in files if n.startswith(f"{model}-")), reverse=True)
    card = re.compile(rf"^{re.escape(model)}-v(\d+)\.")
    cards = sorted(
        (n for n in listed(ws.layout.cards) if card.match(n)),
        key=lambda n: (-int(card.match(n).group(1)), n),  # type: ignore[union-attr]
    )
    return {"reports": reports[:SHOWN], "cards": cards[:SHOWN]}


def report(view: View) -> Page:
    return _show(view, view.ws.layout.reports, "/ui/reports/")


def card(view: View) -> Page:
    return _show(view, view.ws.layout.cards, "/ui/reports/cards/")


def _show(view: View, folder: Path, href: str) -> Page:
    name = view.params["name"]
    if len(name) > MAX_NAME:
        raise RequestError(f"a report's name has at most {MAX_NAME} characters", field="name")
    if not name.endswith(SUFFIXES):
        raise RequestError(
            f"only {', '.join(SUFFIXES)} reports open here, not {name[:60]!r}", field="name"
        )
    files = listed(folder)
    path = files.get(name)
    if path is None:
        some = ", ".join(sorted(files)[:SHOWN]) or "none yet"
        raise NotFound(f"no report named {name[:60]!r} in {href} (there: {some})", field="name")
    size = path.stat().st_size
    if size > MAX_BYTES:
        raise PayloadTooLarge(f"{name} has {size} bytes, more than a page shows; open {path}")
    text = path.read_text(encoding="utf-8", errors="replace")
    html = name.endswith(".html")
    return Page(
        "version_report.html.j2",
        name,
        {
            "name": name,
            "kind": "html" if html else name.rsplit(".", 1)[1],
            "text": "" if html else text,
            "body": clean_html(text) if html else Markup(""),
            "size": size,
        },
    )


# -- an HTML report's body, allow-listed ------------------------------------------------------

TAGS = frozenset(
    "a abbr b br caption code dd del details div dl dt em figcaption figure h1 h2 h3 h4 h5 "
    "h6 hr i img ins kbd li mark ol p pre q s section small span strong sub summary sup "
    "table tbody td tfoot th thead time tr u ul".split()
)
VOID = frozenset({"br", "hr", "img"})
#: Content dropped with its element (its text is never shown).
DROPPED = frozenset({"script", "style", "template", "textarea", "title", "noscript", "svg"})
#: The ``<div class="scroll">`` the cleaner puts around each table (its stack's name).
SCROLL = "div.scroll"
ATTRIBUTES = frozenset({"class", "scope", "colspan", "rowspan", "alt", "title", "datetime"})


def clean_html(text: str) -> Markup:
    """The allow-listed body of an HTML document (see the module's docstring)."""
    cleaner = _Cleaner()
    cleaner.feed(text)
    cleaner.close()
    return Markup("".join(cleaner.out))


class _Cleaner(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.out: list[str] = []
        self.skipping = 0  # depth inside a dropped element
        self.open: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in DROPPED:
            self.skipping += 1
            return
        if self.skipping or tag not in TAGS:
            return
        tag = _demoted(tag)
        kept = "".join(
            f' {k}="{escape(v)}"' for k, v in (_attribute(tag, k, v) for k, v in attrs) if k
        )
        if tag == "table":  # a wide table scrolls on a narrow screen, not the page
            self.out.append('<div class="scroll">')
            self.open.append(SCROLL)
        if tag == "img":  # so is a wide chart
            self.out.append(f'<div class="scroll"><{tag}{kept}></div>')
            return
        self.out.append(f"<{tag}{kept}>")
        if tag not in VOID:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if tag in DROPPED:
            self.skipping = max(0, self.skipping - 1)
            return
        if self.skipping or tag not in TAGS or tag in VOID:
            return
        tag = _demoted(tag)
        if tag not in self.open:
            return
        while self.open:
            last = self.open.pop()
            self.out.append(_closing(last))
            if last == tag:
                break
        if tag == "table" and self.open and self.open[-1] == SCROLL:
            self.out.append(_closing(self.open.pop()))

    def handle_data(self, data: str) -> None:
        if not self.skipping:
            self.out.append(escape(data, quote=False))

    def close(self) -> None:
        super().close()
        self.out.extend(_closing(tag) for tag in reversed(self.open))
        self.open.clear()


def _closing(tag: str) -> str:
    return "</div>" if tag == SCROLL else f"</{tag}>"


def _demoted(tag: str) -> str:
    """Headings one level down: the page's own ``h1`` names the report."""
    if len(tag) == 2 and tag[0] == "h" and tag[1] in "12345":
        return f"h{int(tag[1]) + 1}"
    return tag


def _attribute(tag: str, key: str, value: str | None) -> tuple[str, str]:
    """``(key, value)`` when the attribute is kept, else ``("", "")``: only inert ones, an
    image's ``data:image/`` source and a link within the page or the dashboard."""
    value = value or ""
    if key in ATTRIBUTES:
        return key, value
    if tag == "img" and key == "src" and re.match(r"data:image/(png|jpeg|gif|webp);", value):
        return key, value
    if tag == "a" and key == "href" and (value.startswith("#") or value.startswith("/ui/")):
        return key, value
    return "", ""


ROUTES = [
    PageRoute("/reports/cards/{name}", card),
    PageRoute("/reports/{name}", report),
]
