"""The list pages' filters read from the query: a ``?name=`` among fixed choices, and
``?model=`` as a model's id (NotFound naming it when there is none), so every page refuses
a bad filter with the same message."""

from __future__ import annotations

from typing import Any

from modelward.errors import NotFound, RequestError
from modelward.ui.view import View

__all__ = ["choice", "model_id"]


def choice(
    view: View, name: str, choices: tuple[str, ...], default: str | None = None
) -> str | None:
    """``?name=`` (``default`` when absent) if it is one of ``choices``; RequestError
    otherwise."""
    value = view.arg(name, default)
    if value is not None and value not in choices:
        raise RequestError(
            f"?{name}= must be one of {', '.join(choices)}, not {value[:30]!r}", field=name
        )
    return value


def model_id(run: Any, name: str) -> Any:
    """The id of the model ``name`` (``run``: a snapshot's query function)."""
    found = run("SELECT id FROM models WHERE name = :name", {"name": name})
    if not found:
        raise NotFound(f"no model {name[:60]!r}; see /ui/")
    return found[0][0]
