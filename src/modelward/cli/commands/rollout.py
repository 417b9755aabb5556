"""``modelward rollout …``: canary rollouts with automatic rollback."""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from typing import TYPE_CHECKING, Annotated

import typer

import modelward
from modelward.cli.app import calls, new_typer, state
from modelward.cli.options import JsonOption
from modelward.cli.output import console, err_console, print_json, table
from modelward.errors import ConfigError, ModelwardError
from modelward.present import fmt_time

if TYPE_CHECKING:
    from modelward.rollout import Decision, RolloutEngine, RolloutInfo

rollout_app = new_typer("Canary rollouts: staged traffic shifts with automatic rollback.")

Name = Annotated[str, typer.Argument(help="Model name.")]
Env = Annotated[str, typer.Option("--env", help="Environment.")]
Reason = Annotated[str, typer.Option("--reason", help="Why; recorded in history.")]


def _engine() -> RolloutEngine:
    return modelward.RolloutEngine(state().workspace())


def _summary(info: RolloutInfo) -> str:
    stages = info.stages
    return (
        f"rollout #{info.id} of {info.model}:{info.canary_version} in {info.environment} "
        f"(stable {info.stable_version}): {info.state}, stage {info.stage_index + 1} of "
        f"{len(stages)} at {info.weight:g} %, breaches {info.failures}"
    )


@rollout_app.command("start")
@calls("modelward.RolloutEngine.start")
def start(
    name: Name,
    version: Annotated[str, typer.Option("--version", help="Version to roll out.")],
    env: Env = "production",
    stages: Annotated[
        str | None,
        typer.Option("--stages", help="WEIGHT:DURATION,… e.g. 5:30m,25:1h,50:2h,100 (policy)."),
    ] = None,
    reason: Reason = "",
    force: Annotated[
        bool,
        typer.Option("--force", help="Start although a promotion gate fails (needs --reason)."),
    ] = False,
    route: Annotated[
        list[str] | None,
        typer.Option("--route", help="LLM endpoint: only this query type's route (repeat)."),
    ] = None,
    evaluation_dataset: Annotated[
        str | None,
        typer.Option(
            "--evaluation-dataset",
            help="LLM endpoint: score answers to this dataset's prompts (policy's default).",
        ),
    ] = None,
) -> None:
    """Start a canary: the first stage's share of traffic goes to VERSION (an LLM
    endpoint's: its share of every route serving NAME, or of each --route)."""
    info = _engine().start(
        name, version, env=env, stages=stages, reason=reason, force=force, routes=route,
        evaluation_dataset=evaluation_dataset,
    )  # fmt: skip
    console.print(_summary(info))
    if info.plan.get("routes"):
        console.print(f"  routes: {', '.join(info.plan['routes'])}")
    for gate in info.details.get("forced_gates") or []:
        console.print(f"  gate {gate}: FAILED, overridden with --force")
    console.print("  the controller (`modelward rollout run`) advances or rolls it back")


@rollout_app.command("status")
@calls("modelward.RolloutEngine.current", "modelward.RolloutEngine.decisions")
def status(name: Name, env: Env = "production", as_json: JsonOption = False) -> None:
    """The live (or latest) rollout and its recent decisions with their numbers."""
    engine = _engine()
    info = engine.current(name, env)
    runs = engine.decisions(info)
    if as_json:
        print_json({**info.to_dict(), "decisions": [r.to_dict() for r in runs]})
        return
    console.print(_summary(info))
    if info.details.get("ended"):
        console.print(f"  ended: {info.details['ended']}")
    rows = [
        (fmt_time(r.created_at), r.inputs.get("stage"), r.inputs.get("weight"),
         r.results.get("action"), r.verdict, r.results.get("reason"))
        for r in runs
    ]  # fmt: skip
    console.print(table(("time (UTC)", "stage", "weight %", "action", "verdict", "why"), rows))


@rollout_app.command("list")
@calls("modelward.RolloutEngine.list_rollouts")
def list_(
    name: Annotated[str | None, typer.Argument(help="Only this model.")] = None,
    live: Annotated[bool, typer.Option("--live", help="Only running or paused ones.")] = False,
    as_json: JsonOption = False,
) -> None:
    """Rollouts, newest first."""
    rollouts = _engine().list_rollouts(name, live=live)
    if as_json:
        print_json([r.to_dict() for r in rollouts])
        return
    rows = [
        (r.id, r.model, r.environment, r.canary_version, r.stable_version, r.state,
         f"{r.stage_index + 1}/{len(r.stages)}", r.weight, fmt_time(r.updated_at))
        for r in rollouts
    ]  # fmt: skip
    console.print(
        table(
            (
                "id",
                "model",
                "env",
                "canary",
                "stable",
                "state",
                "stage",
                "weight %",
                "updated (UTC)",
            ),
            rows,
        )  # fmt: skip
    )


@rollout_app.command("advance")
@calls("modelward.RolloutEngine.advance")
def advance(name: Name, env: Env = "production", reason: Reason = "") -> None:
    """Go to the next stage now (promote from the last), skipping the checks."""
    console.print(_summary(_engine().advance(name, env=env, reason=reason)))


@rollout_app.command("pause")
@calls("modelward.RolloutEngine.pause")
def pause(name: Name, env: Env = "production", reason: Reason = "") -> None:
    """Hold the rollout at its current split; the controller leaves it alone."""
    console.print(_summary(_engine().pause(name, env=env, reason=reason)))


@rollout_app.command("resume")
@calls("modelward.RolloutEngine.resume")
def resume(name: Name, env: Env = "production", reason: Reason = "") -> None:
    """Continue a paused rollout; the current stage starts again."""
    console.print(_summary(_engine().resume(name, env=env, reason=reason)))


@rollout_app.command("abort")
@calls("modelward.RolloutEngine.abort")
def abort(name: Name, env: Env = "production", reason: Reason = "") -> None:
    """Stop and send all traffic back to the stable version."""
    console.print(_summary(_engine().abort(name, env=env, reason=reason)))


@rollout_app.command("run")
@calls("modelward.RolloutEngine.run")
def run(
    models: Annotated[
        list[str] | None,
        typer.Argument(
            help="Only these models' rollouts (default: every model's).", show_default=False
        ),
    ] = None,
    once: Annotated[bool, typer.Option("--once", help="One pass over live rollouts.")] = False,
    until_done: Annotated[
        bool, typer.Option("--until-done", help="Exit when no rollout is live.")
    ] = False,
    interval: Annotated[
        float | None,
        typer.Option("--interval", help="Seconds between passes (policy: check_interval)."),
    ] = None,
    lease: Annotated[
        float | None,
        typer.Option(
            "--lease",
            help="Seconds a claim on a rollout outlives this controller if it dies "
            "(default: 3 check intervals, at least 30).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """The controller: judge every live rollout each interval; advance, promote or roll back."""
    if interval is not None and interval <= 0:
        raise ConfigError(f"--interval must be above 0 seconds, got {interval:g}", field="interval")
    if lease is not None and (lease <= 0 or (interval is not None and lease <= interval)):
        raise ConfigError(
            f"--lease must be above 0 seconds and longer than --interval, got {lease:g}; "
            "a shorter claim lapses between passes and another controller may take over",
            field="lease",
        )
    engine = _engine()
    if lease is not None:
        engine.lease = timedelta(seconds=lease)

    def show(d: Decision) -> None:
        if not as_json:
            err_console.print(f"rollout #{d.rollout_id} at {d.weight:g} %: {d.action} — {d.reason}")

    def failed(rollout_id: int, exc: ModelwardError) -> None:  # --once raises it instead
        message = f"rollout #{rollout_id}: {exc.message}; the next pass tries again"
        err_console.print(message, markup=False, highlight=False, soft_wrap=True)

    with _sigterm_as_exit():  # so the leases are released on SIGTERM too
        decisions = engine.run(
            once=once, until_done=until_done, interval=interval, on_decision=show,
            on_failure=None if once else failed, models=models,
        )  # fmt: skip
    if as_json:
        print_json([d.to_dict() for d in decisions])


@contextmanager
def _sigterm_as_exit() -> Iterator[None]:
    """SIGTERM raises SystemExit(143) (unwinding ``finally`` blocks) instead of killing the
    process on the spot; only in the main thread, where Python delivers signals."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum: int, _frame: object) -> None:
        raise SystemExit(128 + signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def register(app: typer.Typer) -> None:
    app.add_typer(rollout_app, name="rollout")
