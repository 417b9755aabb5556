"""Reports and model cards already written, opened from the dashboard.

``/ui/documents/{name}`` shows a file of the workspace's reports folder and
``/ui/model-cards/{name}`` one of its model cards. A URL never becomes a path: the folder
(which ``ws.layout`` names) is listed and only a file found there under exactly that name,
ending in .html, .md or .json, is read, and answered as it is: HTML as HTML, Markdown as
plain text, JSON as JSON, always in the dashboard's sandbox for documents (no script runs,
nothing is fetched, the document has an origin of its own), so nothing a report holds can
act on the viewer's session.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import TYPE_CHECKING

from modelward.errors import NotFound, PayloadTooLarge, RequestError
from modelward.ui.view import File, PageRoute, View

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["ROUTES", "card_files", "listed", "report_files"]

SUFFIXES = (".html", ".md", ".json")
TYPES = {
    ".html": "text/html; charset=utf-8",
    ".md": "text/plain; charset=utf-8",
    ".json": "application/json",
}
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
    return {"report_files": reports[:SHOWN], "card_files": cards[:SHOWN]}


def report(view: View) -> File:
    return _show(view, view.ws.layout.reports, "/ui/documents/")


def card(view: View) -> File:
    return _show(view, view.ws.layout.cards, "/ui/model-cards/")


def _show(view: View, folder: Path, href: str) -> File:
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
    return File(path.read_bytes(), TYPES[path.suffix])


ROUTES = [
    PageRoute("/model-cards/{name}", card),
    PageRoute("/documents/{name}", report),
]
