"""The gated update pipeline: evaluation → testing → staging → production.

``promote(ws, name, version, to="production")`` runs each stage's gates and changes in
order and stops at the first failure, undoing what that stage changed and recording why:

1. **evaluation** — the version's metrics (its latest ``evaluation`` run, else the metrics
   registered with it) against the policy thresholds, and no worse than the champion (the
   ``champion`` alias, else the production version) on the retention metric. Changes nothing.
2. **testing** — moves the version to ``testing`` and needs a passing ``test-predictions``
   run of the version. Undo: back to where it was.
3. **staging** — moves it to ``staging`` (the validation gate), routes the ``staging``
   environment to it, and verifies it there (a :class:`~modelward.verification.Verifier`:
   on the running server at ``url`` as ``modelward verify`` does, else offline: the artifact
   loads and predicts on rows built from its reference profile). Undo: the previous staging
   split and stage.
4. **production** — a canary rollout against the version serving production (the controller
   finishes it), or, when nothing serves production yet, a direct deployment.

An LLM endpoint version (``kind="endpoint"``) goes through the same four stages on its
own evidence (:mod:`modelward.lifecycle.endpoint_stages`): its ``llm evaluate`` run and a
paired test against the production version, its prompt tests and provider health, the
gateway's ``staging`` routing table verified by live calls, and a canary over the
production routing table.

``dry_run=True`` evaluates every gate it can without changing anything and returns the plan.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError, ModelwardError, NotFound
from modelward.lifecycle.endpoint_stages import (
    endpoint_evaluation,
    endpoint_health,
    endpoint_staging,
    production_routes,
    staging_plan,
)
from modelward.lifecycle.protection import direction
from modelward.lifecycle.results import PipelineResult, StageResult
from modelward.registry.actor import default_actor
from modelward.registry.gates import run_gates
from modelward.registry.stages import Stage
from modelward.rollout import RolloutEngine
from modelward.rollout.plan import make_plan, parse_stages
from modelward.rollout.traffic import default_traffic
from modelward.verification import Verifier, live_verifier, offline_verify

if TYPE_CHECKING:
    from modelward.policy import Limit
    from modelward.registry.records import VersionInfo
    from modelward.rollout.ports import TrafficPort
    from modelward.workspace import Workspace

__all__ = ["PipelineResult", "StageResult", "promote"]

ORDER = ("development", "testing", "staging", "production")
CLASSIFICATION = ("binary-classification", "multiclass-classification")
#: the tasks with performance thresholds in the policy (``thresholds.for_task``)
THRESHOLD_TASKS = (*CLASSIFICATION, "regression")
#: Run kinds of a version's prediction regression suite (`modelward test-predictions`).
TEST_KINDS = ("prediction-tests", "test-predictions")


def _number(value: Any, *, bound: str | None) -> float | None:
    """A metric as a number: plain, or ``{"value", "low", "high"}`` from an evaluation
    (its ``bound``, ``low`` or ``high``, when given and known; else its value)."""
    if isinstance(value, dict):
        value = value.get(bound) if bound and value.get(bound) is not None else value.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _limits(ws: Workspace, info: VersionInfo) -> list[Limit]:
    """The performance thresholds of ``info``'s model: its own policy, for its task."""
    task = ws.registry.get_model(info.model).task
    thresholds = ws.policy_for(info.model).thresholds
    return thresholds.limits(task) if task in THRESHOLD_TASKS else []


def _metrics(ws: Workspace, info: VersionInfo) -> tuple[dict[str, float], str]:
    """The latest ``evaluation`` run's metrics, else the ones registered with the version.
    With ``use_lower_ci`` each is the pessimistic end of its interval: the low one for a
    minimum, the high one for a maximum (an error)."""
    lower_ci = ws.policy_for(info.model).thresholds.use_lower_ci
    errors = {limit.metric for limit in _limits(ws, info) if limit.op == "<="}
    runs = ws.registry.list_runs(
        model=info.model, version=info.version, kinds=["evaluation"], limit=1
    )
    sources = []
    if runs:
        sources.append(
            (runs[0].results.get("metrics", runs[0].results), f"evaluation run #{runs[0].id}")
        )
    sources.append((info.metrics, "registered metrics"))
    for raw, where in sources:
        found = {
            str(k): n
            for k, v in (raw or {}).items()
            if (n := _number(v, bound=_bound(str(k), lower_ci, errors))) is not None
        }
        if found:
            return found, where
    return {}, "no metrics"


def _bound(metric: str, lower_ci: bool, errors: set[str]) -> str | None:
    if not lower_ci:
        return None
    return "high" if metric in errors else "low"


def _champion(ws: Workspace, info: VersionInfo) -> VersionInfo | None:
    """The ``champion`` alias, else the production version; None if that is ``info``."""
    try:
        other = ws.registry.get_version(info.model, "champion")
    except NotFound:
        production = ws.registry.get_model(info.model).production_version
        if production is None:
            return None
        other = ws.registry.get_version(info.model, production)
    return None if other.version == info.version else other


def _evaluation(ws: Workspace, info: VersionInfo, stage: StageResult) -> None:
    if info.kind == "endpoint":
        endpoint_evaluation(ws, info, _champion(ws, info), stage)
        return
    metrics, source = _metrics(ws, info)
    task = ws.registry.get_model(info.model).task
    policy = ws.policy_for(info.model)
    applicable = [limit for limit in _limits(ws, info) if limit.metric in metrics]
    if task in CLASSIFICATION and not applicable:
        stage.check(
            "evaluated",
            False,
            f"{info.ref} has no evaluation; run `modelward evaluate "
            f"{info.model} {info.version} --data FILE`",
        )
    for limit in applicable:
        value = metrics[limit.metric]
        op = "≥" if limit.op == ">=" else "≤"
        stage.check(
            limit.metric,
            limit.passes(value),
            f"{limit.metric} {value:.3f} ({source}) {op} {limit.value:.4g}",
        )
    if task not in CLASSIFICATION:
        runs = ws.registry.list_runs(
            model=info.model, version=info.version, kinds=["evaluation", "llm-evaluation"], limit=1
        )
        stage.check(
            "evaluated",
            bool(runs) and runs[0].verdict == "pass",
            f"latest evaluation: {runs[0].verdict if runs else 'none'}",
        )
    champion = _champion(ws, info)
    metric = policy.retention.metric
    if champion is None:
        stage.check("champion", True, "no champion to compare with")
        return
    theirs, _ = _metrics(ws, champion)
    if metric not in metrics or metric not in theirs:
        stage.check("champion", True, f"{metric} missing on one side: not comparable")
        return
    sign = direction(metric)
    ok = sign * (metrics[metric] - theirs[metric]) >= 0
    stage.check(
        "champion",
        ok,
        f"{metric} {metrics[metric]:.3f} vs champion {champion.ref} {theirs[metric]:.3f}",
    )


def _move(ws: Workspace, info: VersionInfo, to: str, actor: str, stage: StageResult) -> None:
    current = ws.registry.get_version(info.model, info.version).stage
    if ORDER.index(current) >= ORDER.index(to):
        return
    ws.registry.transition(info.model, info.version, to, reason="promote pipeline", actor=actor)
    stage.changes.append(f"stage {current} → {to}")


def _undo_move(ws: Workspace, info: VersionInfo, before: str, actor: str, stage: StageResult):
    current = ws.registry.get_version(info.model, info.version).stage
    if current != before:
        ws.registry.transition(
            info.model,
            info.version,
            before,
            actor=actor,
            reason=f"promote pipeline: {stage.name} failed, undone",
        )
        stage.undone.append(f"stage {current} → {before}")


def _test_predictions(ws: Workspace, info: VersionInfo, stage: StageResult) -> bool:
    runs = ws.registry.list_runs(
        model=info.model, version=info.version, kinds=list(TEST_KINDS), limit=1
    )
    if not runs:
        what = " (prompts and checks: input:, expect: {contains: …})" if _llm(info) else ""
        return stage.check(
            "test-predictions",
            False,
            f"{info.ref} has no test-predictions run; "
            f"run `modelward test-predictions {info.model} {info.version} "
            f"--cases cases.yml`{what}",
        )
    passed = stage.check(
        "test-predictions", runs[0].verdict == "pass", f"run #{runs[0].id}: {runs[0].verdict}"
    )
    if _llm(info):
        passed = endpoint_health(ws, info, stage) and passed
    return passed


def _llm(info: VersionInfo) -> bool:
    return info.kind == "endpoint"


def _staging(
    ws: Workspace,
    info: VersionInfo,
    traffic: TrafficPort,
    verify: Verifier,
    actor: str,
    stage: StageResult,
) -> bool:
    before = traffic.current(info.model, "staging")
    _move(ws, info, "staging", actor, stage)
    state = before
    if before.versions != {info.version}:
        state = traffic.set_targets(
            info.model,
            "staging",
            [(info.version, 100.0)],
            reason="promote pipeline: staging deploy",
            actor=actor,
            expected_revision=before.revision,
        )
        stage.changes.append(f"staging traffic → {info.version}")
    passed, detail = verify(ws, info.model, info.version, "staging")
    if stage.check("verify", passed, detail):
        return True
    if state.revision != before.revision:
        if before.targets:
            traffic.set_targets(
                info.model,
                "staging",
                list(before.targets),
                actor=actor,
                reason="promote pipeline: verify failed, restored",
                expected_revision=state.revision,
            )
            stage.undone.append("staging traffic restored")
        elif hasattr(traffic, "remove"):
            traffic.remove(info.model, "staging", actor=actor, expected_revision=state.revision)
            stage.undone.append("staging deployment removed")
        else:
            stage.undone.append(
                "staging still routes to it (this traffic port cannot remove a first "
                "deployment); deploy another version to staging"
            )
    return False


def promote(
    ws: Workspace,
    name: str,
    version: int | str,
    *,
    to: str = "production",
    dry_run: bool = False,
    stages: str | None = None,
    actor: str | None = None,
    traffic: TrafficPort | None = None,
    url: str | None = None,
    token: str | None = None,
    verify: Verifier | None = None,
) -> PipelineResult:
    """Run the pipeline for ``name:version`` up to ``to`` (staging or production).

    The staging deploy is verified by ``verify``; by default on the running server at
    ``url`` (with ``token``) as ``modelward verify`` does, else offline."""
    if to not in ("staging", "production"):
        raise ConfigError(f"--to must be staging or production, got {to!r}", field="to")
    if stages is not None:
        parse_stages(stages)  # a typo is reported before anything moves
    actor = actor or default_actor()
    info = ws.registry.get_version(name, version)
    llm = _llm(info)
    traffic = traffic or default_traffic(ws)
    if verify is None:
        verify = live_verifier(url, token) if url else offline_verify
    if info.stage not in ORDER[:3]:
        raise ConfigError(
            f"{info.ref} is in {info.stage}; the pipeline promotes versions in development, "
            "testing or staging"
        )
    names = ["evaluation", "testing", "staging"] + (["production"] if to == "production" else [])
    results = [StageResult(n, None) for n in names]
    outcome = PipelineResult(name, info.version, to, dry_run, results)
    evaluation, testing, staging = results[:3]

    _evaluation(ws, info, evaluation)
    evaluation.passed = all(c["passed"] for c in evaluation.checks)
    if dry_run:
        testing.passed = _test_predictions(ws, info, testing)
        for gate in run_gates(ws.registry, info, Stage.STAGING):
            staging.check(gate.name, gate.passed, gate.detail)
        plan = (
            staging_plan(ws, name, info.version) if llm else (None, "runs after the staging deploy")
        )
        staging.checks.append({"name": "verify", "passed": plan[0], "detail": plan[1]})
        staging.passed = all(c["passed"] is not False for c in staging.checks)
        if to == "production":
            detail = _plan(ws, traffic, name, stages, llm=llm)
            results[3].checks.append({"name": "plan", "passed": None, "detail": detail})
        return _record(ws, outcome, actor)
    if not evaluation.passed:
        return _record(ws, outcome, actor)

    start_stage = info.stage
    try:
        _move(ws, info, "testing", actor, testing)
        testing.passed = _test_predictions(ws, info, testing)
    except ModelwardError as exc:
        testing.passed = testing.check("transition", False, exc.message)
    if not testing.passed:
        _undo_move(ws, info, start_stage, actor, testing)
        return _record(ws, outcome, actor)

    try:
        if llm:
            _move(ws, info, "staging", actor, staging)
            staging.passed = endpoint_staging(ws, info, staging, url=url, token=token, actor=actor)
        else:
            staging.passed = _staging(ws, info, traffic, verify, actor, staging)
    except ModelwardError as exc:
        staging.passed = staging.check("staging", False, exc.message)
    if not staging.passed:
        _undo_move(ws, info, "testing", actor, staging)
        return _record(ws, outcome, actor)

    if to == "production":
        _production(ws, info, outcome, traffic, stages, actor, llm=llm)
    return _record(ws, outcome, actor)


def _production(
    ws: Workspace,
    info: VersionInfo,
    outcome: PipelineResult,
    traffic: TrafficPort,
    stages: str | None,
    actor: str,
    *,
    llm: bool,
) -> None:
    """A canary against what serves production (the deployments of a tabular model, the
    production routes of an endpoint); with nothing serving yet, the first version goes in
    directly."""
    production = outcome.stages[3]
    try:
        serving, where, revision = _serving(ws, traffic, info.model, llm=llm)
        if serving:
            rollout = RolloutEngine(ws, traffic=traffic).start(
                info.model, info.version, env="production", stages=stages, actor=actor,
                reason="promote pipeline",
            )  # fmt: skip
            outcome.rollout_id = rollout.id
            production.changes.append(
                f"canary rollout #{rollout.id} at {rollout.weight:g} %{where}"
            )
            production.check(
                "canary",
                True,
                f"rollout #{rollout.id} started; `modelward rollout run` finishes it",
            )
        elif llm:
            _first_endpoint_version(ws, info, production, actor)
        else:
            assert revision is not None  # read with the tabular deployments
            _first_deploy(ws, info, production, traffic, actor, revision)
        production.passed = True
    except ModelwardError as exc:
        production.passed = production.check("canary", False, exc.message)


def _serving(
    ws: Workspace, traffic: TrafficPort, name: str, *, llm: bool
) -> tuple[list[int], str, int | None]:
    """The versions serving production, where (" on" the routes, for an endpoint), and the
    deployments' revision read (a first deploy expects it unchanged)."""
    if llm:
        types, versions = production_routes(ws, name)
        return sorted(versions), f" on route(s) {', '.join(types)}", None
    current = traffic.current(name, "production")
    return sorted(current.versions), "", current.revision


def _first_deploy(
    ws: Workspace,
    info: VersionInfo,
    production: StageResult,
    traffic: TrafficPort,
    actor: str,
    revision: int,
) -> None:
    ws.registry.transition(
        info.model, info.version, "production", actor=actor,
        reason="promote pipeline: first production deploy",
    )  # fmt: skip
    traffic.set_targets(
        info.model, "production", [(info.version, 100.0)], actor=actor,
        reason="promote pipeline", expected_revision=revision,
    )  # fmt: skip
    production.changes.append("production traffic → 100 %")
    production.check("deploy", True, "nothing served production: deployed directly")


def _first_endpoint_version(
    ws: Workspace, info: VersionInfo, production: StageResult, actor: str
) -> None:
    ws.registry.transition(
        info.model, info.version, "production", actor=actor,
        reason="promote pipeline: first production version",
    )  # fmt: skip
    production.changes.append("stage staging → production")
    production.check(
        "deploy",
        True,
        f"no production route served {info.model!r}: {info.ref} moved to production; "
        f"route it with `modelward llm routes set TYPE --models {info.ref} --reason …`",
    )


def _plan(ws: Workspace, traffic: TrafficPort, name: str, stages: str | None, *, llm: bool) -> str:
    serving, where, _ = _serving(ws, traffic, name, llm=llm)
    if not serving:
        return (
            f"no production route serves {name!r}: move the version to production"
            if llm
            else "nothing serves production: deploy directly at 100 %"
        )
    task = "text-generation" if llm else "binary-classification"  # the stages only
    plan = make_plan(ws.policy_for(name).rollout, stages, task=task)
    steps = ", ".join(f"{s['weight']:g} % for {s['seconds'] / 60:g} min" for s in plan["stages"])
    return f"canary{where} against version(s) {serving}: {steps}"


def _record(ws: Workspace, outcome: PipelineResult, actor: str) -> PipelineResult:
    if not outcome.dry_run:
        run = ws.registry.record_run(
            "promote",
            model=outcome.model,
            version=outcome.version,
            inputs={"to": outcome.to},
            results=outcome.to_dict(),
            verdict="pass" if outcome.passed else "fail",
            actor=actor,
        )
        _notify(ws, outcome, actor, run.id)
    return outcome


def _notify(ws: Workspace, outcome: PipelineResult, actor: str, run_id: int) -> None:
    """Tell the alert sinks how the pipeline ended (its stage moves were sent as they
    happened)."""
    ref = f"{outcome.model}:{outcome.version}"
    failed = outcome.failed_stage
    if failed is None:
        message = f"promote pipeline of {ref} to {outcome.to} passed every stage"
        if outcome.rollout_id is not None:
            message += f"; canary rollout #{outcome.rollout_id} started"
    else:
        stage = next(s for s in outcome.stages if s.name == failed)
        why = next((c["detail"] for c in stage.checks if c["passed"] is False), "failed")
        message = f"promote pipeline of {ref} to {outcome.to} stopped at {failed}: {why}"
    ws.alerting.notify(
        source="lifecycle", event="promote-" + ("failed" if failed else "passed"),
        level="warning" if failed else "info", key=f"run:{run_id}", model=outcome.model,
        version=outcome.version, message=message,
        details={"actor": actor, "run": run_id, "failed_stage": failed},
    )  # fmt: skip
