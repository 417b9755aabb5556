"""The canary rollout engine: a state machine over the ``rollouts`` table.

States: ``running`` → (``paused`` ⇄ ``running``) → ``promoted`` | ``rolled-back`` |
``aborted``. At most one live (running or paused) rollout per model and environment, held
by a partial unique index. Every change is written to the row first (a conditional UPDATE,
so a change that raced another loses cleanly) and then to the traffic split, which each
controller step reconciles with the row: a controller killed between the two finishes the
job when it (or another) comes back. The controller acts on a rollout only while it holds
the lease ``rollout:<id>``.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from collections.abc import Callable, Collection, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from sqlalchemy import select, update

from modelward.errors import (
    AlreadyExists,
    ConfigError,
    ConflictError,
    ModelwardError,
    NotFound,
    RaceLost,
)
from modelward.llm.online import online_evaluation
from modelward.llm.routing import current_routes
from modelward.registry.actor import default_actor
from modelward.registry.gates import run_gates
from modelward.registry.records import RunInfo, aware
from modelward.registry.stages import Stage
from modelward.rollout.judge import judge
from modelward.rollout.lease import acquire, release, release_all
from modelward.rollout.metrics import PredictionLogMetrics
from modelward.rollout.plan import make_plan
from modelward.rollout.ports import Clock, MetricsPort, TrafficPort, WindowStats
from modelward.rollout.records import LIVE, TERMINAL, Decision, RolloutInfo
from modelward.rollout.routing_traffic import routes_serving
from modelward.rollout.traffic import ENDPOINT_TASK, default_traffic
from modelward.store.tables import ModelRow, RolloutRow
from modelward.timeutil import parse_duration, utcnow

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["RolloutEngine"]

_VERDICT = {"advance": "pass", "promote": "pass", "rollback": "fail", "breach": "warn"}
#: the level of a rollout event's notification (others are info)
_LEVELS = {"rollout-rolled-back": "warning", "rollout-aborted": "warning"}


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"


class RolloutEngine:
    """Start, steer and judge canary rollouts. ``step`` is one controller tick."""

    def __init__(
        self,
        workspace: Workspace,
        *,
        traffic: TrafficPort | None = None,
        metrics: MetricsPort | None = None,
        clock: Clock = utcnow,
        owner: str | None = None,
        lease: timedelta | None = None,
    ) -> None:
        self.ws = workspace
        self.registry = workspace.registry
        self.db = workspace.db
        self.traffic: TrafficPort = traffic or default_traffic(workspace)
        self.metrics: MetricsPort = metrics or PredictionLogMetrics(
            workspace.logs_url, wal=workspace.layout.wal
        )
        self.clock = clock
        self.owner = owner or _owner()
        self.lease = lease  # how long a claim outlives a dead controller; None: from the plan

    # -- reading --------------------------------------------------------------------------

    def _info(self, row: RolloutRow, name: str) -> RolloutInfo:
        return RolloutInfo(
            id=row.id, model=name, environment=row.environment,
            canary_version=row.canary_version, stable_version=row.stable_version,
            state=row.state, stage_index=row.stage_index,
            stage_started_at=aware(row.stage_started_at), failures=row.failures,
            plan=dict(row.plan or {}), details=dict(row.details or {}),
            created_at=aware(row.created_at), created_by=row.created_by,
            updated_at=aware(row.updated_at),
        )  # fmt: skip

    def get(self, rollout_id: int) -> RolloutInfo:
        with self.db.session(readonly=True) as session:
            found = session.execute(
                select(RolloutRow, ModelRow.name)
                .join(ModelRow, RolloutRow.model_id == ModelRow.id)
                .where(RolloutRow.id == rollout_id)
            ).first()
            if found is None:
                raise NotFound(f"no rollout #{rollout_id}; see `modelward rollout list`")
            return self._info(found[0], found[1])

    def list_rollouts(
        self, name: str | None = None, *, env: str | None = None, live: bool = False
    ) -> list[RolloutInfo]:
        """Rollouts, newest first."""
        with self.db.session(readonly=True) as session:
            query = select(RolloutRow, ModelRow.name).join(
                ModelRow, RolloutRow.model_id == ModelRow.id
            )
            if name is not None:
                query = query.where(
                    RolloutRow.model_id == self.registry._model_row(session, name).id
                )
            if env is not None:
                query = query.where(RolloutRow.environment == env)
            if live:
                query = query.where(RolloutRow.state.in_(LIVE))
            rows = session.execute(query.order_by(RolloutRow.id.desc())).all()
            return [self._info(row, model) for row, model in rows]

    def current(self, name: str, env: str = "production") -> RolloutInfo:
        """The live rollout of ``name`` in ``env``, else its latest one."""
        rollouts = self.list_rollouts(name, env=env)
        if not rollouts:
            raise NotFound(
                f"{name!r} has no rollout in {env}; start one with "
                f"`modelward rollout start {name} --version N --env {env}`"
            )
        live = [r for r in rollouts if r.state in LIVE]
        return live[0] if live else rollouts[0]

    def decisions(self, info: RolloutInfo, limit: int = 10) -> list[RunInfo]:
        """The controller's latest recorded decisions on one rollout, newest first."""
        runs = self.registry.list_runs(model=info.model, kinds=["rollout"], limit=200)
        return [r for r in runs if r.inputs.get("rollout") == info.id][:limit]

    def _live(self, name: str, env: str) -> RolloutInfo:
        info = self.current(name, env)
        if info.state not in LIVE:
            raise NotFound(
                f"{name!r} has no live rollout in {env} (the last one, #{info.id}, is "
                f"{info.state}); see `modelward rollout status {name}`"
            )
        return info

    # -- starting -------------------------------------------------------------------------

    def start(
        self,
        name: str,
        version: int | str,
        *,
        env: str = "production",
        stages: str | None = None,
        actor: str | None = None,
        reason: str = "",
        force: bool = False,
        routes: Sequence[str] | None = None,
        evaluation_dataset: str | Path | None = None,
    ) -> RolloutInfo:
        """Send the first stage's share of ``env``'s traffic to ``version``.

        ``force`` (with a ``reason``) starts the canary although a promotion gate fails; the
        overridden gates are recorded with the rollout and in history, as for transitions.
        An endpoint model's traffic is the gateway's routing table: the canary takes its
        share of every route serving ``name`` in ``env`` (or of the query types in
        ``routes``), and is judged on the LLM's evidence (:func:`make_plan`), accuracy
        included from the answers to ``evaluation_dataset``'s prompts (else the policy's
        ``llm.online_evaluation_dataset``).
        """
        actor = actor or default_actor()
        task = self.registry.get_model(name).task
        policy = self.ws.policy_for(name)
        plan = make_plan(policy.rollout, stages, task=task, llm=policy.llm)
        plan.update(self._scope(name, env, task, routes))
        self._online_evaluation(plan, evaluation_dataset)
        info = self.registry.get_version(name, version)
        overridden: list[str] = []
        if info.stage in ("deprecated", "retired"):
            raise ConfigError(f"{info.ref} is {info.stage}; it cannot receive traffic")
        if env == "production":
            if info.stage not in ("staging", "maintenance"):
                raise ConfigError(
                    f"{info.ref} is in {info.stage}; a production canary must come from staging "
                    f"(`modelward transition {name} {info.version} --to staging`)"
                )
            failed = [g for g in run_gates(self.registry, info, Stage.PRODUCTION) if not g.passed]
            if failed and force and not reason.strip():
                raise ConfigError(
                    '--force overrides failing gates only with a reason; add --reason "why"'
                )
            if force:
                overridden = [f"{g.name}: {g.detail}" for g in failed]
            elif failed:
                raise ConfigError(
                    f"{info.ref} would not pass gate {failed[0].name} at promotion "
                    f"({failed[0].detail}); fix that before starting the canary"
                )
        for live_rollout in self.list_rollouts(name, env=env, live=True):
            raise AlreadyExists(
                f"rollout #{live_rollout.id} of {name!r} in {env} is still live; finish it "
                f"(`modelward rollout abort {name} --env {env}`) before starting another"
            )
        state = self.traffic.current(name, env, scope=plan.get("routes"))
        serving = sorted(state.versions)
        if not serving:
            raise ConfigError(
                f"nothing of {name!r} is deployed in {env}, so there is no stable version to "
                f"compare with; deploy one there first"
            )
        if len(serving) > 1:
            raise ConfigError(
                f"the {env} traffic of {name!r} is split over versions "
                f"{', '.join(map(str, serving))}; route it to one version before a canary"
            )
        stable = serving[0]
        if stable == info.version:
            raise ConfigError(f"{info.ref} already serves all of {env}; nothing to roll out")
        now = self.clock()
        try:
            with self.db.session() as session:
                model = self.registry._model_row(session, name)
                live = session.scalar(
                    select(RolloutRow.id).where(
                        RolloutRow.model_id == model.id,
                        RolloutRow.environment == env,
                        RolloutRow.state.in_(LIVE),
                    )
                )
                if live is not None:
                    raise AlreadyExists(
                        f"rollout #{live} of {name!r} in {env} is still live; finish it "
                        f"(`modelward rollout abort {name} --env {env}`) before starting another"
                    )
                row = RolloutRow(
                    model_id=model.id, environment=env, canary_version=info.version,
                    stable_version=stable, state="running", stage_index=0,
                    stage_started_at=now, failures=0, plan=plan,
                    details={"reason": reason, "forced_gates": overridden}, created_at=now,
                    created_by=actor, updated_at=now,
                )  # fmt: skip
                session.add(row)
                session.flush()
                rollout_id = row.id
                self.registry._event(
                    session, model.id, info.version, "rollout-started", actor, reason=reason,
                    details={"rollout": row.id, "environment": env, "stable": stable,
                             "stages": plan["stages"], "forced_gates": overridden,
                             "forced": bool(overridden)},
                )  # fmt: skip
        except RaceLost as exc:
            raise AlreadyExists(
                f"another rollout of {name!r} in {env} started at the same moment; see "
                f"`modelward rollout status {name} --env {env}`"
            ) from exc
        rollout = self.get(rollout_id)
        try:
            self._reconcile(rollout, actor=actor, reason=f"rollout #{rollout_id} started")
        except ModelwardError as exc:
            self._finish(rollout, "aborted", actor, f"could not route traffic: {exc.message}",
                         move_traffic=False)  # fmt: skip
            raise
        self._record(rollout, "start", f"canary at {rollout.weight:g} %", [], actor=actor)
        self._notify(rollout, "rollout-started", actor, reason, None, weight=rollout.weight,
                     forced_gates=overridden)  # fmt: skip
        return self.get(rollout_id)

    def _scope(
        self, name: str, env: str, task: str, routes: Sequence[str] | None
    ) -> dict[str, Any]:
        """An endpoint rollout's routes, frozen at its start: the named query types, else
        every route serving ``name`` now (a route added later is not pulled in)."""
        if task != ENDPOINT_TASK:
            if routes:
                raise ConfigError(
                    f"{name!r} is a {task} model; --route applies to LLM endpoint models only"
                )
            return {}
        table = current_routes(self.ws, env)
        serving = routes_serving(table.routes if table else {}, name, routes or None)
        if not serving:
            raise ConfigError(
                f"no route of the {env} routing table serves {name!r}, so there is no stable "
                f"version to compare with; route it first (`modelward llm routes set TYPE "
                f'--models {name}:N --env {env} --reason "…"`)'
            )
        return {"routes": serving}

    def _online_evaluation(self, plan: dict[str, Any], dataset: str | Path | None) -> None:
        """Pin the plan's online evaluation dataset to an absolute path (a relative one in
        the policy is the workspace's) and check it reads, so a bad one fails the start."""
        spec = plan.get("online_evaluation")
        if dataset is not None:
            if plan.get("task") != ENDPOINT_TASK:
                raise ConfigError("an evaluation dataset applies to LLM endpoint models only")
            spec = {"dataset": str(dataset), "sample": (spec or {}).get("sample", 1.0)}
        elif spec is not None:
            spec = {**spec, "dataset": str(self.ws.root / str(spec["dataset"]))}
        if spec is None:
            return
        spec["dataset"] = str(Path(spec["dataset"]).resolve())
        online_evaluation(spec)
        plan["online_evaluation"] = spec

    # -- traffic --------------------------------------------------------------------------

    def _reconcile(self, info: RolloutInfo, *, actor: str, reason: str) -> None:
        """Make the traffic split match what the rollout's state calls for."""
        desired = info.desired_targets()
        scope = info.plan.get("routes")
        state = self.traffic.current(info.model, info.environment, scope=scope)
        if _norm(state.targets) == _norm(desired):
            return
        ours = {info.canary_version, info.stable_version}
        stray = state.versions - ours
        if stray:
            raise ConflictError(
                f"the {info.environment} deployment of {info.model!r} now routes to version(s) "
                f"{', '.join(map(str, sorted(stray)))}, changed outside rollout #{info.id}"
            )
        self.traffic.set_targets(
            info.model, info.environment, list(desired), reason=reason, actor=actor,
            expected_revision=state.revision, scope=scope,
        )  # fmt: skip

    # -- state changes --------------------------------------------------------------------

    def _update(self, info: RolloutInfo, **values: Any) -> None:
        """Change the row only if nobody changed its state or stage since ``info`` was read."""
        values.setdefault("updated_at", self.clock())
        with self.db.session() as session:
            result: Any = session.execute(
                update(RolloutRow)
                .where(
                    RolloutRow.id == info.id,
                    RolloutRow.state == info.state,
                    RolloutRow.stage_index == info.stage_index,
                )
                .values(**values)
            )
            if result.rowcount != 1:
                raise ConflictError(
                    f"rollout #{info.id} changed while this step ran; see "
                    f"`modelward rollout status {info.model} --env {info.environment}`"
                )

    def _event(
        self, info: RolloutInfo, kind: str, actor: str, reason: str, *, level: str = "",
        **details: Any,
    ) -> None:  # fmt: skip
        """Record a rollout event in history, then tell the alert sinks."""
        event = self.registry.record_event(
            info.model, kind, version=info.canary_version, reason=reason, actor=actor,
            details={"rollout": info.id, "environment": info.environment, **details},
        )  # fmt: skip
        self._notify(info, kind, actor, reason, event.id, level=level, **details)

    def _notify(
        self, info: RolloutInfo, kind: str, actor: str, reason: str, event_id: int | None,
        *, level: str = "", **details: Any,
    ) -> None:  # fmt: skip
        where = "to" if kind == "rollout-advanced" else "at"
        weight = f" {where} {details['weight']:g} %" if "weight" in details else ""
        self.ws.alerting.notify(
            source="rollout", event=kind, level=level or _LEVELS.get(kind, "info"),
            key=f"rollout:{info.id}:{kind}:{event_id or 0}", model=info.model,
            version=info.canary_version, environment=info.environment,
            message=f"rollout #{info.id} of {info.model}:{info.canary_version} in "
            f"{info.environment} {kind.removeprefix('rollout-').replace('-', ' ')}{weight}: "
            f"{reason or 'no reason given'}",
            details={"rollout": info.id, "actor": actor, "stable": info.stable_version,
                     "stage": info.stage_index + 1, **details},
        )  # fmt: skip

    def _finish(
        self,
        info: RolloutInfo,
        state: str,
        actor: str,
        reason: str,
        *,
        move_traffic: bool = True,
    ) -> RolloutInfo:
        details = {**info.details, "ended": reason, "traffic_pending": move_traffic}
        self._update(info, state=state, details=details)
        kind = {"promoted": "rollout-promoted", "rolled-back": "rollout-rolled-back"}
        self._event(
            info, kind.get(state, "rollout-aborted"), actor, reason, stable=info.stable_version
        )
        done = self.get(info.id)
        if move_traffic:
            self._settle(done, actor)
        return self.get(info.id)

    def _settle(self, info: RolloutInfo, actor: str) -> None:
        """Route a finished rollout's traffic (again, if a controller died half-way)."""
        try:
            self._reconcile(info, actor=actor, reason=f"rollout #{info.id} {info.state}")
        except ConflictError as exc:
            self._record(info, "traffic-conflict", exc.message, [], actor=actor)
        details = {k: v for k, v in info.details.items() if k != "traffic_pending"}
        with self.db.session() as session:
            session.execute(
                update(RolloutRow).where(RolloutRow.id == info.id).values(details=details)
            )

    def _promote(self, info: RolloutInfo, actor: str, reason: str) -> RolloutInfo:
        if info.environment == "production":
            current = self.registry.get_version(info.model, info.canary_version).stage
            if current != "production":
                try:
                    self.registry.transition(
                        info.model, info.canary_version, "production", replace=True,
                        reason=f"rollout #{info.id} promoted: {reason}", actor=actor,
                        # a canary started with --force carries its override to the end
                        force=bool(info.details.get("forced_gates")),
                    )  # fmt: skip
                except ModelwardError as exc:
                    self._update(
                        info, state="paused", details={**info.details, "error": exc.message}
                    )
                    self._event(info, "rollout-paused", actor,
                                f"promotion refused: {exc.message}", level="warning")  # fmt: skip
                    return self.get(info.id)
        return self._finish(info, "promoted", actor, reason)

    def pause(self, name: str, *, env: str = "production", actor: str | None = None,
              reason: str = "") -> RolloutInfo:  # fmt: skip
        info = self._live(name, env)
        if info.state == "paused":
            raise ConfigError(
                f"rollout #{info.id} is already paused; resume it with `rollout resume`"
            )
        actor = actor or default_actor()
        self._update(info, state="paused")
        self._event(info, "rollout-paused", actor, reason or "paused by hand")
        return self.get(info.id)

    def resume(self, name: str, *, env: str = "production", actor: str | None = None,
               reason: str = "") -> RolloutInfo:  # fmt: skip
        """Run again; the stage's clock and sample restart (data from the pause is not judged)."""
        info = self._live(name, env)
        if info.state == "running":
            raise ConfigError(f"rollout #{info.id} is not paused; nothing to resume")
        actor = actor or default_actor()
        details = {k: v for k, v in info.details.items() if k != "error"}
        self._update(info, state="running", stage_started_at=self.clock(), details=details)
        self._event(info, "rollout-resumed", actor, reason or "resumed by hand")
        return self.get(info.id)

    def abort(self, name: str, *, env: str = "production", actor: str | None = None,
              reason: str = "") -> RolloutInfo:  # fmt: skip
        """Stop now and send all traffic back to the stable version."""
        info = self._live(name, env)
        actor = actor or default_actor()
        done = self._finish(info, "aborted", actor, reason or "aborted by hand")
        self._record(done, "abort", reason or "aborted by hand", [], actor=actor)
        return done

    def advance(self, name: str, *, env: str = "production", actor: str | None = None,
                reason: str = "") -> RolloutInfo:  # fmt: skip
        """Go to the next stage now (or promote from the last), skipping the checks."""
        info = self._live(name, env)
        actor = actor or default_actor()
        why = reason or "advanced by hand"
        decision = self._next(info, actor, why)
        self._record(self.get(info.id), decision, why, [], actor=actor)
        return self.get(info.id)

    def _next(self, info: RolloutInfo, actor: str, reason: str) -> str:
        stages = info.stages
        nxt = info.stage_index + 1
        if nxt >= len(stages) or (stages[nxt]["weight"] >= 100 and stages[nxt]["seconds"] <= 0):
            self._promote(info, actor, reason)
            return "promote"
        self._update(info, stage_index=nxt, stage_started_at=self.clock())
        self._event(info, "rollout-advanced", actor, reason, weight=stages[nxt]["weight"])
        moved = self.get(info.id)
        if moved.state in LIVE:
            self._reconcile(moved, actor=actor, reason=f"rollout #{info.id} at {moved.weight:g} %")
        return "advance"

    # -- the controller -------------------------------------------------------------------

    def _lease_ttl(self, info: RolloutInfo) -> timedelta:
        if self.lease is not None:
            return self.lease
        return timedelta(seconds=max(3 * float(info.plan.get("check_interval_s", 60)), 30))

    def step(self, rollout_id: int) -> Decision:
        """One controller tick for one rollout: judge the current stage and act."""
        info = self.get(rollout_id)
        now = self.clock()
        holder = acquire(self.db, f"rollout:{info.id}", self.owner, now, self._lease_ttl(info))
        if holder is not None:
            return Decision(info.id, "skipped", f"lease held by {holder}", info.stage_index,
                            info.weight)  # fmt: skip
        actor = f"controller {self.owner}"
        if info.details.get("traffic_pending"):
            self._settle(info, actor)
            info = self.get(rollout_id)
        if info.state != "running":
            if info.state in TERMINAL:
                release(self.db, f"rollout:{info.id}", self.owner)
            return Decision(info.id, "idle", f"rollout is {info.state}", info.stage_index,
                            info.weight)  # fmt: skip
        try:
            return self._judge_and_act(info, now, actor)
        except ConflictError as exc:
            if "changed outside" in exc.message:
                done = self._finish(info, "aborted", actor, exc.message, move_traffic=False)
                run = self._record(done, "abort", exc.message, [], actor=actor)
                return Decision(info.id, "abort", exc.message, info.stage_index, info.weight,
                                run_id=run)  # fmt: skip
            return Decision(info.id, "skipped", exc.message, info.stage_index, info.weight)

    def _judge_and_act(self, info: RolloutInfo, now: Any, actor: str) -> Decision:
        self._reconcile(info, actor=actor, reason=f"rollout #{info.id} at {info.weight:g} %")
        plan = info.plan
        since = info.stage_started_at
        evaluation = plan.get("online_evaluation")
        canary = self.metrics.window(
            info.model, info.environment, info.canary_version, since, now, evaluation=evaluation
        )
        stable = WindowStats()
        if info.stable_version is not None and info.weight < 100:
            stable = self.metrics.window(
                info.model, info.environment, info.stable_version, since, now,
                evaluation=evaluation,
            )  # fmt: skip
        judgement = judge(plan, canary, stable)
        checks = [c.to_dict() for c in judgement.checks]
        stage = info.stages[info.stage_index]
        elapsed = (now - since).total_seconds()
        status = judgement.status
        numbers = {"canary": canary.summary(), "stable": stable.summary(), "elapsed_s": elapsed}
        if status == "fail" or (status == "breach" and info.failures + 1 >= plan["failure_limit"]):
            reason = judgement.describe()
            if status == "breach":
                self._update(info, failures=info.failures + 1)
                info = self.get(info.id)
                reason = f"{info.failures} breaches (limit {plan['failure_limit']}): {reason}"
            done = self._finish(info, "rolled-back", actor, reason)
            action = "rollback"
        elif status == "breach":
            self._update(info, failures=info.failures + 1)
            done, action = self.get(info.id), "breach"
            reason = f"breach {done.failures} of {plan['failure_limit']}: {judgement.describe()}"
            # each breach its own notification (the key counts them), never deduplicated away
            self._notify(done, "rollout-breach", actor, reason, done.failures, level="warning",
                         checks=checks)  # fmt: skip
        elif status == "no-data" or elapsed < stage["seconds"]:
            action = "wait"
            reason = (
                judgement.describe()
                if status == "no-data"
                else f"healthy; {elapsed:.0f} s of {stage['seconds']:.0f} s at {info.weight:g} %"
            )
            key = "no-data" if status == "no-data" else "time"
            if info.details.get("last_wait") == [info.stage_index, key]:
                return Decision(info.id, action, reason, info.stage_index, info.weight, checks)
            self._update(info, details={**info.details, "last_wait": [info.stage_index, key]})
            done = self.get(info.id)
        else:
            reason = (
                f"stage {info.stage_index + 1} at {info.weight:g} % passed: {judgement.describe()}"
            )
            action = self._next(info, actor, reason)
            done = self.get(info.id)
        run = self._record(done, action, reason, checks, actor=actor, numbers=numbers,
                           stage_index=info.stage_index, weight=info.weight)  # fmt: skip
        if done.state in TERMINAL:
            release(self.db, f"rollout:{info.id}", self.owner)
        return Decision(info.id, action, reason, info.stage_index, info.weight, checks, run)

    def _record(
        self,
        info: RolloutInfo,
        action: str,
        reason: str,
        checks: list[dict[str, Any]],
        *,
        actor: str,
        numbers: dict[str, Any] | None = None,
        stage_index: int | None = None,
        weight: float | None = None,
    ) -> int:
        run = self.registry.record_run(
            "rollout", model=info.model, version=info.canary_version,
            inputs={"rollout": info.id, "environment": info.environment,
                    "stage": (info.stage_index if stage_index is None else stage_index) + 1,
                    "weight": info.weight if weight is None else weight,
                    "stable": info.stable_version},
            results={"action": action, "reason": reason, "state": info.state,
                     "failures": info.failures, "checks": checks, **(numbers or {})},
            verdict=_VERDICT.get(action, "info"), actor=actor,
        )  # fmt: skip
        return run.id

    def run(
        self,
        *,
        once: bool = False,
        until_done: bool = False,
        max_iterations: int | None = None,
        interval: float | None = None,
        sleep: Callable[[float], None] = time.sleep,
        on_decision: Callable[[Decision], None] | None = None,
        on_failure: Callable[[int, ModelwardError], None] | None = None,
        keep_leases: bool = False,
        models: Collection[str] | None = None,
    ) -> list[Decision]:
        """The controller loop: step every live rollout (of ``models`` only, when given:
        one controller per team) each check interval.

        A rollout whose step fails (its log cannot be read, the database is away) is told
        to ``on_failure`` and left as it is; the others are stepped, and the next pass
        tries it again. A single pass (``once``, ``max_iterations``) raises the first
        such failure after stepping the others.

        The leases it took are released when it returns or raises (SIGTERM included, where
        the caller turns it into an exception), so the next controller acts at once;
        ``keep_leases`` holds them for a caller that runs one pass after another."""
        try:
            for name in models or ():
                self.ws.catalog.get_model(name)  # a one-line error for an unknown name
            return self._loop(
                once, until_done, max_iterations, interval, sleep,
                _Reports(on_decision, on_failure), models,
            )  # fmt: skip
        finally:
            if not keep_leases:
                try:
                    self.release_leases()
                except ModelwardError:  # the database is gone: the claims simply run out
                    pass

    def release_leases(self) -> None:
        """Give up the claims this controller holds (a pass never needs them afterwards)."""
        release_all(self.db, self.owner)

    def _loop(
        self,
        once: bool,
        until_done: bool,
        max_iterations: int | None,
        interval: float | None,
        sleep: Callable[[float], None],
        reports: _Reports,
        models: Collection[str] | None,
    ) -> list[Decision]:
        decisions: list[Decision] = []
        iterations = 0

        def live_ones() -> list[RolloutInfo]:
            found = self.list_rollouts(live=True)
            return found if not models else [r for r in found if r.model in models]

        while True:
            live = live_ones()
            failed = self._pass(live, decisions, reports)
            iterations += 1
            last = once or (max_iterations is not None and iterations >= max_iterations)
            if last and failed:
                raise failed[0]
            if last or (until_done and not live_ones()):
                return decisions
            sleep(interval if interval is not None else self.wait_seconds(live))

    def _pass(
        self, live: list[RolloutInfo], decisions: list[Decision], reports: _Reports
    ) -> list[ModelwardError]:
        """Step each of ``live`` (its decision added to ``decisions``); the failures."""
        failed = []
        for info in live:
            try:
                decision = self.step(info.id)
            except ModelwardError as exc:  # this rollout waits; the others go on
                failed.append(exc)
                if reports.on_failure is not None:
                    reports.on_failure(info.id, exc)
                continue
            decisions.append(decision)
            if reports.on_decision is not None:
                reports.on_decision(decision)
        return failed

    def wait_seconds(self, live: list[RolloutInfo]) -> float:
        """Seconds until the next pass: the shortest check interval of the live rollouts,
        the policy's ``rollout.check_interval`` when none is live."""
        default = parse_duration(self.ws.policy.rollout.check_interval).total_seconds()
        return min((float(r.plan.get("check_interval_s", default)) for r in live), default=default)


@dataclass(frozen=True)
class _Reports:
    """Whom the controller loop tells of each step's decision and of each failed step."""

    on_decision: Callable[[Decision], None] | None
    on_failure: Callable[[int, ModelwardError], None] | None


def _norm(targets: Any) -> list[tuple[int, float]]:
    return sorted((int(v), round(float(w), 6)) for v, w in targets if float(w) > 0)
