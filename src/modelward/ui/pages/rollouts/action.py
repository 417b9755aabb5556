"""The actions (POST ``/ui/rollouts/{id}/pause|resume|advance|abort``, ``reason`` in the
form): the engine's own methods, as ``modelward rollout pause|resume|advance|abort`` calls
them, so history records them alike. The CLI names a rollout by model and environment;
the page by id, so an action on a rollout that is no longer live is refused here (it
would otherwise reach the model's newer rollout)."""

from __future__ import annotations

from modelward.errors import ConflictError, NotFound, RequestError
from modelward.rollout.records import LIVE
from modelward.ui.pages.rollouts.lookup import REASON_MAX, rollout_id
from modelward.ui.view import Redirect, View

__all__ = ["act"]


ACTIONS = ("pause", "resume", "advance", "abort")


def act(view: View) -> Redirect:
    """pause | resume | advance | abort: the engine's method the CLI command calls."""
    action = view.params.get("action", "")
    if action not in ACTIONS:
        raise NotFound(
            f"no rollout action {action[:30]!r}; use one of {', '.join(ACTIONS)}", field="action"
        )
    ident = rollout_id(view.params.get("id"))
    reason = _reason(view)
    with view.ws.sql.snapshot() as run:
        found = run(
            "SELECT m.name, r.environment, r.state FROM rollouts r JOIN models m "
            "ON r.model_id = m.id WHERE r.id = :id",
            {"id": ident},
        )
    if not found:
        raise NotFound(f"no rollout #{ident}; see /ui/rollouts")
    model, env, state = found[0]
    if state not in LIVE:
        raise ConflictError(
            f"rollout #{ident} of {model!r} is {state}; only a running or paused rollout "
            f"can {action}"
        )
    from modelward.rollout.engine import RolloutEngine  # what `modelward rollout` uses

    engine = RolloutEngine(view.ws)
    method = getattr(engine, action)
    method(model, env=env, reason=reason, actor=_actor(view))
    return Redirect(f"/ui/rollouts/{ident}")


def _reason(view: View) -> str:
    reason = " ".join(str(view.form.get("reason", "")).split())
    if len(reason) > REASON_MAX:
        raise RequestError(
            f"the reason is {len(reason)} characters; keep it under {REASON_MAX}", field="reason"
        )
    return reason


def _actor(view: View) -> str | None:
    """Who acted: the token's name; None (the CLI's ``user@host``) on a loopback server
    without tokens, where whoever acts is a local user as at the CLI."""
    return None if view.viewer == "loopback" else view.viewer
