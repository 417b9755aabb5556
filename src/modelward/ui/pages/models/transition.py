"""``POST /models/{name}/versions/{v}/transition``: the same ``Workspace.transition`` the
``modelward transition`` command calls, so the gates judge it and history records it
as the CLI's; a refused gate answers its one-line message and changes nothing."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from modelward.errors import RequestError
from modelward.registry.stages import Stage
from modelward.timeutil import parse_time
from modelward.ui.pages.models.lookup import model_name, version_number
from modelward.ui.view import Redirect, View

__all__ = ["transition"]


TRANSITION_FIELDS = frozenset({"to", "reason", "force", "replace", "seen"})


def transition(view: View) -> Redirect:
    """Move a version's stage exactly as ``modelward transition`` does."""
    name = model_name(view)
    number = version_number(view.params["version"], "version")
    form = view.form
    extra = sorted(set(form) - TRANSITION_FIELDS)
    if extra:
        raise RequestError(f"unexpected form field {extra[0][:40]!r}", field=extra[0][:40])
    to = form.get("to", "").strip()
    if to not in {s.value for s in Stage}:
        raise RequestError(
            f"to must be a stage ({', '.join(s.value for s in Stage)}), not {to[:40]!r}",
            field="to",
        )
    reason = form.get("reason", "").strip()
    if not reason:
        raise RequestError(
            "a transition needs a reason; say why in the reason field", field="reason"
        )
    if len(reason) > 2000:
        raise RequestError("the reason has at most 2000 characters", field="reason")
    options: dict[str, Any] = {
        "force": _checkbox(form, "force"),
        "replace": _checkbox(form, "replace"),
    }
    seen = form.get("seen", "")
    if seen:
        options["started"] = _seen(seen)
    if view.viewer != "loopback":
        options["actor"] = view.viewer
    view.ws.transition(name, number, to, reason=reason, **options)
    return Redirect(f"/ui/models/{name}/versions/{number}")


def _checkbox(form: Any, key: str) -> bool:
    value = form.get(key)
    if value not in (None, "", "on"):
        raise RequestError(f"{key} is a checkbox: 'on' or absent, not {value[:20]!r}", field=key)
    return value == "on"


def _seen(text: str) -> datetime:
    """When the page that sent the form was rendered: a move of the version (or of
    production) recorded after it refuses the transition, as the CLI's start time does."""
    try:
        return parse_time(text, what="seen")
    except Exception as exc:  # noqa: BLE001 - any unreadable time is the form's fault
        raise RequestError(f"seen must be an ISO time, not {text[:40]!r}", field="seen") from exc
