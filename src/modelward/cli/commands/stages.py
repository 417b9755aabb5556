"""``modelward transition``, ``approve``, ``history`` and ``alias``: the lifecycle and its
record."""

from __future__ import annotations

from typing import Annotated, Any

import typer

from modelward.cli.app import LAUNCHED, calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, print_json, table
from modelward.errors import NotFound, TransitionError
from modelward.present import fmt_time
from modelward.timeutil import parse_time, utcnow

alias_app = new_typer("Point aliases (champion, challenger, …) at versions.")


@calls("Workspace.transition")
def transition(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    to: Annotated[str, typer.Option("--to", help="Target stage.")],
    reason: Annotated[str, typer.Option("--reason", help="Why; recorded in history.")] = "",
    force: Annotated[
        bool, typer.Option("--force", help="Override failing gates (recorded, needs --reason).")
    ] = False,
    replace: Annotated[
        bool,
        typer.Option("--replace", help="Entering production: move the current one to maintenance."),
    ] = False,
    expect_current: Annotated[
        str | None,
        typer.Option(
            "--expect-current",
            help="Entering production: the version you expect there now (a number, or none); "
            "refused if production is another.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Move a version to another lifecycle stage, through the state machine and its gates.

    Refused (exit 2, nothing changed) when the version, or production for a promotion, moved
    after the command started: re-read with `modelward versions list NAME` and run it again.
    """
    options: dict[str, Any] = {"force": force, "replace": replace, "started": LAUNCHED.get()}
    if expect_current is not None:
        options["expected"] = _expected(expect_current)
    event = state().workspace().transition(name, version, to, reason=reason, **options)
    gates = event.details.get("gates", [])
    console.print(f"{name}:{event.version} {event.from_stage} → {event.to_stage}")
    for gate in gates:
        mark = "pass" if gate["passed"] else "FAIL (forced)"
        console.print(f"  gate {gate['name']}: {mark} — {gate['detail']}")


@calls("Workspace.registry.approve", "Workspace.registry.approvals")
def approve(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[str, typer.Argument(help="Version number or alias.")],
    for_stage: Annotated[
        str, typer.Option("--for", help="The stage approved for (production).")
    ] = "production",
    reason: Annotated[str, typer.Option("--reason", help="What you checked; recorded.")] = "",
    as_json: JsonOption = False,
) -> None:
    """Approve a version for production (recorded with who and why).

    The production gate needs the policy's number of approvals by distinct people
    (lifecycle.approvals_required); who approves is $MODELWARD_ACTOR, else user@host.
    """
    registry = state().workspace().registry
    event = registry.approve(name, version, stage=for_stage, reason=reason)
    summary = registry.approvals(name, event.version if event.version is not None else version)
    if as_json:
        print_json({"approval": event.to_dict(), **summary})
        return
    people, required = summary["approvers"], summary["required"]
    count = (
        f"{len(people)} of {required} required approvals ({', '.join(people)})"
        if required
        else "the policy requires none (lifecycle.approvals_required: 0)"
    )
    console.print(f"{name}:{event.version} approved for production by {event.actor}; {count}")


def _expected(text: str) -> int | None:
    value = text.strip().lower()
    if value == "none":
        return None
    if not value.isdigit() or int(value) < 1:
        raise TransitionError(
            f"--expect-current takes a version number or none, got {text!r}", field="expected"
        )
    return int(value)


@calls("Workspace.catalog.history")
def history(
    name: Annotated[str, typer.Argument(help="Model name.")],
    version: Annotated[int | None, typer.Option(help="Only this version's events.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help="Only these event kinds (repeatable).")
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Every recorded event of a model: registrations, transitions, aliases, deployments."""
    events = state().catalog().history(name, version=version, kinds=kind)
    if as_json:
        print_json([e.to_dict() for e in events])
        return
    rows = []
    for e in events:
        move = f"{e.from_stage or ''} → {e.to_stage}" if e.to_stage else ""
        extra = e.details.get("alias") or ""
        if e.details.get("forced"):
            extra = "FORCED past failing gates"
        rows.append((fmt_time(e.created_at), e.version, e.kind, move, e.actor, e.reason, extra))
    console.print(table(("time (UTC)", "version", "event", "stage", "by", "reason", ""), rows))


@alias_app.command("set")
@calls("Workspace.registry.set_alias")
def alias_set(
    name: Annotated[str, typer.Argument(help="Model name.")],
    alias: Annotated[str, typer.Argument(help="Alias, e.g. champion.")],
    version: Annotated[str, typer.Argument(help="Version number (or another alias).")],
    reason: Annotated[str, typer.Option(help="Why; recorded in history.")] = "",
) -> None:
    """Point an alias at a version (the move is recorded)."""
    info = state().workspace().registry.set_alias(name, alias, version, reason=reason)
    console.print(f"{name}@{info.alias} → version {info.version}")


@alias_app.command("delete")
@calls("Workspace.registry.delete_alias")
def alias_delete(
    name: Annotated[str, typer.Argument(help="Model name.")],
    alias: Annotated[str, typer.Argument(help="Alias to remove.")],
    reason: Annotated[str, typer.Option(help="Why; recorded in history.")] = "",
) -> None:
    """Remove an alias (recorded)."""
    state().workspace().registry.delete_alias(name, alias, reason=reason)
    console.print(f"{name}@{alias} removed")


@alias_app.command("show")
@calls("Workspace.catalog.alias_at")
def alias_show(
    name: Annotated[str, typer.Argument(help="Model name.")],
    alias: Annotated[str, typer.Argument(help="Alias.")],
    at: Annotated[
        str | None,
        typer.Option("--at", help="ISO time: which version the alias pointed at then."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The version an alias points at now, or pointed at at a past time (--at)."""
    catalog = state().catalog()
    when = parse_time(at, what="--at") if at else utcnow()
    version = catalog.alias_at(name, alias, when)
    if as_json:
        print_json({"model": name, "alias": alias, "at": when.isoformat(), "version": version})
        return
    if version is None:
        raise NotFound(f"{name}@{alias} pointed at no version at {fmt_time(when)} UTC")
    console.print(f"{name}@{alias} at {fmt_time(when)} UTC → version {version}")


def register(app: typer.Typer) -> None:
    app.command("transition")(transition)
    app.command("approve")(approve)
    app.command("history")(history)
    app.add_typer(alias_app, name="alias")
