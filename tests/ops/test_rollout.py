"""Canary rollouts over a real DB and real Parquet prediction logs, with a settable clock."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from tests.ops.conftest import add_versions, to_stage
from tests.ops.simulate import Behaviour, Clock, Traffic

from modelward.errors import AlreadyExists, ConfigError, NotFound
from modelward.rollout import RolloutEngine, ServingTraffic

STAGES = "5:10m,25:10m,50:10m,100"


def drive(engine: RolloutEngine, rollout_id: int, clock: Clock, traffic: Traffic, minutes=120):
    """Serve a minute of traffic with the current split, tick the controller; repeat."""
    decisions = []
    for _ in range(minutes):
        start = clock.now
        targets = engine.traffic.current("heart", "production").targets
        traffic.serve(start, clock.advance(60), targets)
        decisions.append(engine.step(rollout_id))
        if engine.get(rollout_id).state != "running":
            break
    return decisions


def test_healthy_canary_is_promoted(setup):
    ws, clock, traffic = setup
    traffic.behaviour = {1: Behaviour(), 2: Behaviour()}
    engine = RolloutEngine(ws, clock=clock)
    rollout = engine.start("heart", 2, stages=STAGES, reason="new model")
    assert engine.traffic.current("heart", "production").targets == ((1, 95.0), (2, 5.0))

    decisions = drive(engine, rollout.id, clock, traffic)
    actions = [d.action for d in decisions]
    assert actions.count("advance") == 2 and actions[-1] == "promote"
    assert "rollback" not in actions
    # The first minute at 5 % has too little canary data: the stage waits, it never passes.
    assert decisions[0].action == "wait" and "waiting for data" in decisions[0].reason

    done = engine.get(rollout.id)
    assert done.state == "promoted"
    assert engine.traffic.current("heart", "production").targets == ((2, 100.0),)
    assert ws.registry.get_version("heart", 2).stage == "production"
    assert ws.registry.get_version("heart", 1).stage == "maintenance"
    runs = ws.registry.list_runs(model="heart", kinds=["rollout"])
    promote = next(r for r in runs if r.results["action"] == "promote")
    assert promote.verdict == "pass"
    assert promote.results["canary"]["requests"] >= 100
    kinds = [e.kind for e in ws.registry.history("heart")]
    assert kinds.count("rollout-advanced") == 2 and "rollout-promoted" in kinds


def test_higher_error_rate_is_rolled_back(setup):
    ws, clock, traffic = setup
    traffic.behaviour = {1: Behaviour(error_rate=0.01), 2: Behaviour(error_rate=0.15)}
    engine = RolloutEngine(ws, clock=clock)
    rollout = engine.start("heart", 2, stages=STAGES)
    decisions = drive(engine, rollout.id, clock, traffic)
    last = decisions[-1]
    assert last.action == "rollback"
    assert last.weight == 5  # caught in the first stage
    error_check = next(c for c in last.checks if c["name"] == "error_rate")
    assert error_check["status"] == "fail" and error_check["canary"] > 0.05
    assert engine.get(rollout.id).state == "rolled-back"
    assert engine.traffic.current("heart", "production").targets == ((1, 100.0),)
    assert ws.registry.get_version("heart", 2).stage == "staging"
    run = ws.registry.get_run(last.run_id)
    assert run.verdict == "fail" and run.results["canary"]["errors"] > 0


def test_worse_accuracy_on_feedback_is_rolled_back(setup):
    ws, clock, traffic = setup
    traffic.behaviour = {
        1: Behaviour(accuracy=0.92, feedback_share=0.5),
        2: Behaviour(accuracy=0.55, feedback_share=0.5),
    }
    engine = RolloutEngine(ws, clock=clock)
    rollout = engine.start("heart", 2, stages=STAGES)
    last = drive(engine, rollout.id, clock, traffic)[-1]
    assert last.action == "rollback"
    check = next(c for c in last.checks if c["name"] == "accuracy")
    assert check["status"] == "fail" and check["canary"] < 0.8
    assert "accuracy" in last.reason
    assert engine.traffic.current("heart", "production").targets == ((1, 100.0),)


def test_slow_canary_breaches_until_the_failure_limit(setup):
    ws, clock, traffic = setup
    traffic.behaviour = {1: Behaviour(latency_ms=40), 2: Behaviour(latency_ms=900)}
    engine = RolloutEngine(ws, clock=clock)
    rollout = engine.start("heart", 2, stages=STAGES)
    decisions = drive(engine, rollout.id, clock, traffic)
    actions = [d.action for d in decisions if d.action != "wait"]
    # Slower than stable *and* above the limit: a strong signal, rolled back at once.
    assert actions == ["rollback"]
    check = next(c for c in decisions[-1].checks if c["name"] == "p95_latency_ms")
    assert check["status"] == "fail"


def test_controller_killed_mid_rollout_resumes_under_lease(setup):
    ws, clock, traffic = setup
    first = RolloutEngine(ws, clock=clock, owner="controller-a")
    rollout = first.start("heart", 2, stages=STAGES)
    drive(first, rollout.id, clock, traffic, minutes=12)  # into the 25 % stage
    assert first.get(rollout.id).stage_index == 1
    # controller-a dies without releasing its lease; controller-b starts.
    second = RolloutEngine(ws, clock=clock, owner="controller-b")
    skipped = second.step(rollout.id)
    assert skipped.action == "skipped" and "controller-a" in skipped.reason
    clock.advance(181)  # the lease (3 check intervals) runs out
    decisions = drive(second, rollout.id, clock, traffic)
    assert decisions[-1].action == "promote"
    assert second.get(rollout.id).state == "promoted"
    assert all(d.action != "skipped" for d in decisions)


def test_a_shorter_lease_lapses_sooner(setup):
    """``lease=`` (``rollout run --lease``) replaces the three-check-interval claim."""
    ws, clock, traffic = setup
    first = RolloutEngine(ws, clock=clock, owner="controller-a", lease=timedelta(seconds=5))
    rollout = first.start("heart", 2, stages=STAGES)
    first.step(rollout.id)
    second = RolloutEngine(ws, clock=clock, owner="controller-b", lease=timedelta(seconds=5))
    clock.advance(4)
    assert second.step(rollout.id).action == "skipped"
    clock.advance(2)
    assert second.step(rollout.id).action != "skipped"


class CrashOnce:
    """A TrafficPort that fails the first write after ``arm()``, like a killed process."""

    def __init__(self, inner):
        self.inner, self.armed = inner, False

    def current(self, name, env, **kwargs):
        return self.inner.current(name, env, **kwargs)

    def set_targets(self, *args, **kwargs):
        if self.armed:
            self.armed = False
            raise KeyboardInterrupt("killed")
        return self.inner.set_targets(*args, **kwargs)


def test_crash_between_state_and_traffic_is_repaired(setup):
    ws, clock, traffic = setup
    port = CrashOnce(ServingTraffic(ws.deployments))
    engine = RolloutEngine(ws, clock=clock, traffic=port, owner="a")
    rollout = engine.start("heart", 2, stages=STAGES)
    port.armed = True
    with pytest.raises(KeyboardInterrupt):
        drive(engine, rollout.id, clock, traffic, minutes=15)
    # The row says stage 2 (25 %) but the traffic still says 5 %.
    assert engine.get(rollout.id).stage_index == 1
    assert port.current("heart", "production").targets == ((1, 95.0), (2, 5.0))
    engine.step(rollout.id)
    assert port.current("heart", "production").targets == ((1, 75.0), (2, 25.0))


def test_run_loop_until_done_with_injected_sleep(setup):
    ws, clock, traffic = setup
    engine = RolloutEngine(ws, clock=clock)
    engine.start("heart", 2, stages="50:5m,100")

    def sleep(seconds: float) -> None:
        start = clock.now
        traffic.serve(
            start, clock.advance(seconds), engine.traffic.current("heart", "production").targets
        )

    sleep(60)
    decisions = engine.run(until_done=True, sleep=sleep, max_iterations=50)
    assert decisions[-1].action == "promote"
    assert engine.list_rollouts(live=True) == []


def test_manual_pause_resume_advance_abort(setup):
    ws, clock, traffic = setup
    engine = RolloutEngine(ws, clock=clock)
    engine.start("heart", 2, stages=STAGES)
    assert engine.pause("heart").state == "paused"
    with pytest.raises(ConfigError, match="already paused"):
        engine.pause("heart")
    rollout = engine.current("heart")
    assert engine.step(rollout.id).action == "idle"
    assert engine.resume("heart").state == "running"
    assert engine.advance("heart", reason="looks fine").weight == 25
    assert engine.traffic.current("heart", "production").targets == ((1, 75.0), (2, 25.0))
    done = engine.abort("heart", reason="changed my mind")
    assert done.state == "aborted"
    assert engine.traffic.current("heart", "production").targets == ((1, 100.0),)
    with pytest.raises(NotFound, match="no live rollout"):
        engine.abort("heart")


def test_deployment_changed_outside_aborts_without_touching_it(setup, cleveland, fitted):
    ws, clock, traffic = setup
    engine = RolloutEngine(ws, clock=clock)
    rollout = engine.start("heart", 2, stages=STAGES)
    add_versions(ws, cleveland, fitted, 1)
    to_stage(ws, "heart", 3, "staging")  # a hotfix version, deployed by hand
    state = engine.traffic.current("heart", "production")
    engine.traffic.set_targets("heart", "production", [(3, 100)], reason="hotfix", actor="ops",
                               expected_revision=state.revision)  # fmt: skip
    decision = engine.step(rollout.id)
    assert decision.action == "abort" and "changed outside" in decision.reason
    assert engine.traffic.current("heart", "production").targets == ((3, 100.0),)


def test_start_refuses_bad_requests(setup, cleveland, fitted):
    ws, clock, traffic = setup
    engine = RolloutEngine(ws, clock=clock)
    add_versions(ws, cleveland, fitted, 1)  # heart:3 in development
    with pytest.raises(ConfigError, match="must come from staging"):
        engine.start("heart", 3)
    with pytest.raises(ConfigError, match="nothing of 'heart' is deployed in staging"):
        engine.start("heart", 2, env="staging")
    engine.traffic.set_targets("heart", "staging", [(2, 100)], reason="t", actor="t",
                               expected_revision=0)  # fmt: skip
    with pytest.raises(ConfigError, match="already serves all"):
        engine.start("heart", 2, env="staging")
    with pytest.raises(ConfigError, match="weights must rise"):
        engine.start("heart", 2, stages="50,25,100")
    with pytest.raises(ConfigError, match="not WEIGHT"):
        engine.start("heart", 2, stages="half:1h,100")
    with pytest.raises(ConfigError, match="is not a duration"):
        engine.start("heart", 2, stages="5:soon,100")
    engine.start("heart", 2)
    with pytest.raises(AlreadyExists, match="still live"):
        engine.start("heart", 2)
    assert len(engine.list_rollouts()) == 1


def test_metrics_adapter_matches_numpy_and_latest_feedback_wins(setup):
    from datetime import timedelta

    from tests.ops.simulate import write_rows

    from modelward.rollout import PredictionLogMetrics

    ws, clock, traffic = setup
    traffic.behaviour = {1: Behaviour(error_rate=0.1, feedback_share=1.0)}
    start = clock.now
    traffic.serve(start, clock.advance(600), [(1, 100)])
    import pyarrow.dataset as ds

    table = ds.dataset(ws.root / "logs" / "predictions", format="parquet", partitioning="hive")
    frame = table.to_table().to_pandas()
    feedback = ds.dataset(ws.root / "logs" / "feedback", format="parquet", partitioning="hive")
    labels = feedback.to_table().to_pandas()
    # A later, corrected label for one request must replace the first.
    first = labels.iloc[0]
    flipped = str(1 - int(first["label"]))
    write_rows(ws.root / "logs", "heart", [], [
        {"request_id": first["request_id"], "ts": first["ts"] + timedelta(minutes=5),
         "label": flipped}])  # fmt: skip
    labels.loc[labels.index[0], "label"] = flipped

    stats = PredictionLogMetrics(str(ws.root / "logs")).window(
        "heart", "production", 1, start, clock.now
    )
    assert stats.requests == len(frame)
    assert stats.errors == int((frame.status == "error").sum())
    ok = frame[frame.status == "ok"]
    assert stats.p95_latency_ms == pytest.approx(np.quantile(ok.latency_ms, 0.95))
    joined = ok.merge(labels, on="request_id")
    assert stats.labelled == len(joined)
    assert stats.correct == int((joined.prediction == joined.label).sum())
    assert stats.cost_per_query is None  # tabular logs have no cost column
    empty = PredictionLogMetrics(str(ws.root / "nowhere")).window(
        "heart", "production", 1, start, clock.now
    )
    assert empty.requests == 0


def test_the_metrics_adapter_measures_a_regressors_absolute_error(setup):
    from tests.ops.simulate import write_rows

    from modelward.rollout import PredictionLogMetrics

    ws, clock, _ = setup
    rng = np.random.default_rng(7)
    predicted, actual = rng.normal(4000, 500, 200), rng.normal(4000, 500, 200)
    start = clock.now
    rows = [
        {"request_id": f"r{i}", "ts": start + timedelta(seconds=i), "version": 1,
         "environment": "production", "status": "ok", "latency_ms": 3.0,
         "prediction": repr(float(p))}
        for i, p in enumerate(predicted)
    ]  # fmt: skip
    labels = [
        {"request_id": f"r{i}", "ts": start + timedelta(seconds=i + 60), "label": str(float(a))}
        for i, a in enumerate(actual[:150])  # the last 50 never get a label
    ]
    write_rows(ws.root / "logs", "mass", rows, labels)
    stats = PredictionLogMetrics(str(ws.root / "logs")).window(
        "mass", "production", 1, start, clock.advance(600)
    )
    gaps = np.abs(predicted[:150] - actual[:150])
    assert stats.labelled == 150
    assert stats.abs_error_mean == pytest.approx(gaps.mean())
    assert stats.abs_error_std == pytest.approx(gaps.std(ddof=1))


def test_latency_sample_is_the_smallest_hashes(setup, monkeypatch):
    """Above SAMPLE served requests the latencies compared are those of the SAMPLE requests
    with the smallest sample hash (of the MD5 of request_id): the same on every pass over
    the same log."""
    import pyarrow.dataset as ds

    import modelward.rollout.metrics as rollout_metrics
    from modelward.predlog.engines.sql import sample_hash
    from modelward.rollout import PredictionLogMetrics

    ws, clock, traffic = setup
    traffic.behaviour = {1: Behaviour(error_rate=0.0)}
    start = clock.now
    traffic.serve(start, clock.advance(600), [(1, 100)])
    monkeypatch.setattr(rollout_metrics, "SAMPLE", 10)
    table = ds.dataset(ws.root / "logs" / "predictions", format="parquet", partitioning="hive")
    ok = table.to_table().to_pandas().query("status == 'ok'")
    smallest = ok.assign(h=[sample_hash(i) for i in ok["request_id"]]).nsmallest(10, "h")
    stats = PredictionLogMetrics(str(ws.root / "logs")).window(
        "heart", "production", 1, start, clock.now
    )
    assert sorted(stats.latencies) == sorted(smallest["latency_ms"].tolist())


def test_a_rollout_window_counts_each_row_once_and_reads_only_its_days(setup, tmp_path):
    """A compaction of the window's day that stopped after publishing its file, before
    deleting the files it replaced, leaves both in the partition: the judge counts each
    request once. A file of another day that cannot be read is not the window's concern:
    the adapter reads the window's date partitions only."""
    import shutil

    import pyarrow.dataset as ds

    from modelward.predlog.compact import compact
    from modelward.rollout import PredictionLogMetrics

    ws, clock, traffic = setup
    traffic.behaviour = {1: Behaviour(error_rate=0.1, feedback_share=1.0)}
    start = clock.now
    traffic.serve(start, clock.advance(300), [(1, 100)])  # two files for the day
    traffic.serve(clock.now, clock.advance(300), [(1, 100)])
    logs = ws.root / "logs"
    day = logs / "predictions" / "model=heart" / f"date={start:%Y-%m-%d}"
    saved = tmp_path / "saved"
    shutil.copytree(day, saved)
    assert compact(str(logs))  # a closed day: one compacted file per partition
    for path in saved.glob("*.parquet"):  # as if it had stopped before deleting them
        shutil.copy(path, day / path.name)
    assert len(list(day.glob("*.parquet"))) == 3
    other = logs / "predictions" / "model=heart" / "date=2026-11-01"
    other.mkdir()
    (other / "torn.parquet").write_bytes(b"PAR1 not a parquet file")
    frame = ds.dataset(saved, format="parquet").to_table().to_pandas()

    stats = PredictionLogMetrics(str(logs)).window("heart", "production", 1, start, clock.now)
    assert stats.requests == len(frame) and stats.requests > 0
    assert stats.errors == int((frame.status == "error").sum())
    assert stats.labelled == int((frame.status == "ok").sum())  # every ok request, once
    ok = frame[frame.status == "ok"]
    assert stats.p95_latency_ms == pytest.approx(np.quantile(ok.latency_ms, 0.95))


def test_cli_rollout_family(setup, cli):
    ws, clock, traffic = setup
    ran = cli("rollout", "start", "heart", "--version", "2", "--stages", "50:1m,100")
    assert ran.exit_code == 0, ran.stderr
    assert "stage 1 of 2 at 50 %" in ran.stdout
    traffic.serve(clock.now, clock.advance(60), [(1, 50), (2, 50)])
    ran = cli("rollout", "status", "heart", "--json")
    assert ran.json["state"] == "running" and ran.json["weight"] == 50
    assert cli("rollout", "pause", "heart").exit_code == 0
    ran = cli("rollout", "pause", "heart")
    assert ran.exit_code == 2 and "already paused" in ran.stderr
    assert cli("rollout", "resume", "heart").exit_code == 0
    ran = cli("rollout", "run", "--once", "--json")
    assert ran.exit_code == 0, ran.stderr
    assert ran.json[0]["action"] == "wait"  # the resumed stage has no data yet
    ran = cli("rollout", "advance", "heart", "--reason", "ops call")
    assert ran.exit_code == 0 and "promoted" in ran.stdout
    ran = cli("rollout", "status", "heart")
    assert "promoted" in ran.stdout and "ops call" in ran.stdout
    ran = cli("rollout", "list", "--json")
    assert [r["state"] for r in ran.json] == ["promoted"]


def test_cli_rollout_bad_input(setup, cli):
    ws, clock, traffic = setup
    ran = cli("rollout", "start", "heart", "--version", "2", "--stages", "5:1m")
    assert ran.exit_code == 2 and "end at 100" in ran.stderr
    ran = cli("rollout", "start", "nosuch", "--version", "1")
    assert ran.exit_code == 2 and "no model named 'nosuch'" in ran.stderr
    ran = cli("rollout", "start", "heart", "--version", "9")
    assert ran.exit_code == 2 and "no version '9'" in ran.stderr
    ran = cli("rollout", "status", "heart")
    assert ran.exit_code == 2 and "has no rollout in production" in ran.stderr
    ran = cli("rollout", "abort", "heart")
    assert ran.exit_code == 2
    ran = cli("rollout", "run", "--once", "--interval", "0")
    assert ran.exit_code == 2 and "--interval" in ran.stderr
    ran = cli("rollout", "run", "--once", "--interval", "5", "--lease", "2")
    assert ran.exit_code == 2 and "longer than --interval" in ran.stderr
    assert ws.registry.list_runs(kinds=["rollout"]) == []


def test_a_failing_gate_refuses_the_canary_unless_forced_with_a_reason(setup):
    ws, clock, traffic = setup
    ws.registry.record_run(
        "validation", model="heart", version=2, inputs={}, results={}, verdict="fail"
    )
    engine = RolloutEngine(ws, clock=clock)
    before = engine.traffic.current("heart", "production").targets
    with pytest.raises(ConfigError, match="would not pass gate validation"):
        engine.start("heart", 2, stages=STAGES)
    with pytest.raises(ConfigError, match="only with a reason"):
        engine.start("heart", 2, stages=STAGES, force=True)
    assert engine.list_rollouts() == []
    assert engine.traffic.current("heart", "production").targets == before

    rollout = engine.start("heart", 2, stages=STAGES, force=True, reason="bias reviewed")
    assert rollout.details["forced_gates"][0].startswith("validation:")
    started = [e for e in ws.registry.history("heart") if e.kind == "rollout-started"]
    assert started[-1].details["forced_gates"] == rollout.details["forced_gates"]
    assert engine.traffic.current("heart", "production").targets == ((1, 95.0), (2, 5.0))
    decisions = drive(engine, rollout.id, clock, traffic)
    assert decisions[-1].action == "promote"
    assert ws.registry.get_version("heart", 2).stage == "production"


def _lease_holder(ws, rollout_id: int) -> str | None:
    from modelward.store.tables import LeaseRow

    with ws.db.session(readonly=True) as session:
        row = session.get(LeaseRow, f"rollout:{rollout_id}")
        return None if row is None else row.owner


def test_two_runs_once_in_a_row_both_act(setup, cli):
    """A cron job calling `rollout run --once` every minute: each run acts, none is skipped
    behind the lease the one before left (the lease is released on exit)."""
    ws, clock, traffic = setup
    rollout = RolloutEngine(ws).start("heart", 2, stages=STAGES)
    actions = []
    for _ in range(2):
        ran = cli("rollout", "run", "--once", "--json")
        assert ran.exit_code == 0, ran.stderr
        actions.append([d["action"] for d in ran.json])
    assert actions == [["wait"], ["wait"]]
    assert _lease_holder(ws, rollout.id) is None


class Broken:
    """A MetricsPort whose log storage fails."""

    def window(self, *args, **kwargs):
        raise OSError("log storage unreachable")


def test_a_failing_pass_releases_its_lease(setup):
    ws, clock, traffic = setup
    engine = RolloutEngine(ws, clock=clock, metrics=Broken())
    rollout = engine.start("heart", 2, stages=STAGES)
    with pytest.raises(OSError):
        engine.run(once=True)
    assert _lease_holder(ws, rollout.id) is None
    assert RolloutEngine(ws, clock=clock).step(rollout.id).action == "wait"


def test_sigterm_releases_the_lease(setup, tmp_path):
    """`rollout run` (the loop) stopped with SIGTERM between passes leaves no claim."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from tests.conftest import ROOT

    ws, clock, traffic = setup
    rollout = RolloutEngine(ws).start("heart", 2, stages=STAGES)
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src"), "NO_COLOR": "1"}
    log = tmp_path / "controller.log"
    proc = subprocess.Popen(
        [sys.executable, "-m", "modelward.cli.main", "rollout", "run", "--interval", "600"],
        stdout=subprocess.DEVNULL, stderr=log.open("wb"), env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while "wait" not in log.read_text():  # the first pass acted; now it sleeps
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        assert _lease_holder(ws, rollout.id) is not None
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 128 + signal.SIGTERM
    finally:
        if proc.poll() is None:
            proc.kill()
    assert _lease_holder(ws, rollout.id) is None


def _two_rollouts(ws, clock, cleveland, fitted):
    """Live rollouts of heart and then of a second model, lung (newest: stepped first)."""
    add_versions(ws, cleveland, fitted, 2, name="lung")
    to_stage(ws, "lung", 1, "production")
    to_stage(ws, "lung", 2, "staging")
    ServingTraffic(ws.deployments).set_targets(
        "lung", "production", [(1, 100)], reason="first deploy", actor="tester",
        expected_revision=0,
    )  # fmt: skip
    engine = RolloutEngine(ws, clock=clock)
    heart = engine.start("heart", 2, stages=STAGES)
    lung = engine.start("lung", 2, stages=STAGES)
    return engine, heart, lung


def test_a_controller_for_some_models_leaves_the_others_alone(setup, cleveland, fitted):
    """`modelward rollout run NAME…`: one controller per team; the other models' live
    rollouts are neither judged nor recorded by it."""
    ws, clock, _ = setup
    engine, heart, lung = _two_rollouts(ws, clock, cleveland, fitted)
    before = ws.registry.list_runs(model="heart", kinds=["rollout"])
    decisions = engine.run(once=True, models=["lung"])
    assert [d.rollout_id for d in decisions] == [lung.id]
    assert ws.registry.list_runs(model="heart", kinds=["rollout"]) == before
    assert engine.get(heart.id).state == "running"
    with pytest.raises(NotFound, match="nope"):
        engine.run(once=True, models=["nope"])


def test_a_rollout_whose_log_cannot_be_read_holds_up_no_other(setup, cleveland, fitted):
    """A file in one model's log that cannot be read (a torn copy, something else put
    there) fails that model's step, not the controller: the other rollout is judged in
    the same pass, the failure is told, and once the file is moved aside the next pass
    judges both. A single pass (`--once`) exits with the failure after judging the rest."""
    from modelward.errors import DataError

    ws, clock, _ = setup
    engine, heart, lung = _two_rollouts(ws, clock, cleveland, fitted)  # lung stepped first
    day = ws.root / "logs" / "predictions" / "model=lung" / f"date={clock.now:%Y-%m-%d}"
    day.mkdir(parents=True, exist_ok=True)
    (day / "torn.parquet").write_bytes(b"PAR1 not a parquet file")

    before = len(ws.registry.list_runs(model="heart", kinds=["rollout"]))
    with pytest.raises(DataError, match="torn.parquet"):
        engine.run(once=True)
    assert len(ws.registry.list_runs(model="heart", kinds=["rollout"])) == before + 1  # judged

    failures = []
    moved = []

    def between_passes(_seconds):  # the operator moves the file aside
        moved.append((day / "torn.parquet").rename(ws.root / "torn.parquet"))

    decisions = engine.run(
        max_iterations=2, sleep=between_passes,
        on_failure=lambda rollout_id, exc: failures.append((rollout_id, exc.message)),
    )  # fmt: skip
    assert [rollout_id for rollout_id, _ in failures] == [lung.id] and moved
    assert "torn.parquet" in failures[0][1]
    assert [d.rollout_id for d in decisions] == [heart.id, lung.id, heart.id]  # newest first
