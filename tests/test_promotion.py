"""A transition acts only on the state it read: compare-and-set on the version and production.

Another process moves things between this transition's read and its commit (the gate check
is where it waits here): the commit is refused with one line naming what moved, and
nothing changes. Real processes racing are in test_concurrency.py.
"""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select, update

import modelward.registry.registry as registry_module
from conftest import FEATURES
from modelward import Workspace
from modelward.errors import ConflictError, TransitionError
from modelward.registry.snapshot import check_moves_since_start, read_snapshot
from modelward.registry.stages import Stage
from modelward.store.tables import EventRow, VersionRow
from modelward.timeutil import utcnow


@pytest.fixture
def staged(workspace, fitted, cleveland):
    """heart:1 in production, heart:2 and heart:3 in staging."""
    data = cleveland[[*FEATURES, "target"]]
    for _ in range(3):
        info = workspace.register("heart", fitted, data=data, target="target")
        workspace.transition("heart", info.version, "testing", reason="t")
        workspace.transition("heart", info.version, "staging", reason="t", force=True)
    workspace.transition("heart", 1, "production", reason="t", force=True)
    return workspace


def _meanwhile(monkeypatch, workspace, *moves: tuple[int, str]) -> None:
    """While the next transition checks its gates, another process makes ``moves``."""
    gates = registry_module.run_gates
    other = Workspace.open(workspace.root, db_url=workspace.db_url)

    def gates_while_another_moves(*args, **kwargs):
        monkeypatch.setattr(registry_module, "run_gates", gates)
        for version, to in moves:
            other.transition("heart", version, to, reason="other", force=True, replace=True)
        other.close()
        return gates(*args, **kwargs)

    monkeypatch.setattr(registry_module, "run_gates", gates_while_another_moves)


def _stages(workspace) -> dict[int, str]:
    return {v.version: v.stage for v in workspace.registry.list_versions("heart")}


def test_production_emptied_meanwhile_is_named_not_none(staged, monkeypatch):
    _meanwhile(monkeypatch, staged, (1, "maintenance"))
    with pytest.raises(ConflictError) as caught:
        staged.transition("heart", 2, "production", reason="r", force=True, replace=True)
    assert caught.value.message == (
        "production of 'heart' moved to no version while this promotion ran (it read v1); "
        "nothing was changed; re-read with `modelward versions list heart`"
    )
    assert _stages(staged) == {1: "maintenance", 2: "staging", 3: "staging"}


def test_a_replaced_incumbent_is_not_the_one_this_promotion_saw(staged, monkeypatch):
    _meanwhile(monkeypatch, staged, (3, "production"))
    with pytest.raises(ConflictError, match=r"moved to v3 while this promotion ran \(it read v1\)"):
        staged.transition("heart", 2, "production", reason="r", force=True, replace=True)
    assert _stages(staged) == {1: "maintenance", 2: "staging", 3: "production"}


def test_a_version_read_in_staging_does_not_come_back_from_maintenance(staged, monkeypatch):
    _meanwhile(monkeypatch, staged, (2, "production"), (3, "production"))
    with pytest.raises(ConflictError) as caught:
        staged.transition("heart", 2, "production", reason="r", force=True, replace=True)
    assert caught.value.message.startswith(
        "heart:2 moved from staging to maintenance while this transition ran; nothing was changed"
    )
    assert _stages(staged) == {1: "maintenance", 2: "maintenance", 3: "production"}


def test_a_move_after_the_caller_started_is_refused(staged):
    started = utcnow()
    staged.transition("heart", 2, "production", reason="other", force=True, replace=True)
    with pytest.raises(ConflictError) as caught:
        staged.transition(
            "heart", 3, "production", reason="r", force=True, replace=True, started=started
        )
    assert caught.value.message == (
        "production of 'heart' moved to v2 after this command started; nothing was changed; "
        "re-read with `modelward versions list heart`"
    )
    with pytest.raises(ConflictError, match="heart:2 moved from staging to production after"):
        staged.transition("heart", 2, "maintenance", reason="r", started=started)
    assert _stages(staged)[2] == "production"
    # decided after that move: it goes ahead, replacing what it read
    staged.transition(
        "heart", 3, "production", reason="r", force=True, replace=True, started=utcnow()
    )
    assert _stages(staged) == {1: "maintenance", 2: "maintenance", 3: "production"}


def test_a_promotion_seen_half_way_is_named_as_the_versions_own_move(staged):
    """Under READ COMMITTED a check's query can see a promotion's first event (the old
    production out) but not its second (this version in, stamped after the query's "now"):
    the user promoting that same version hears that it moved, not that production did."""
    started = utcnow()
    with staged.registry.db.session(readonly=True) as session:
        row = session.scalar(select(VersionRow).where(VersionRow.version == 2))
        seen = read_snapshot(session, "heart", row, started)
    staged.transition("heart", 2, "production", reason="other", force=True, replace=True)
    with staged.registry.db.session() as session:
        session.execute(
            update(EventRow)
            .where(EventRow.version == 2, EventRow.to_stage == "production")
            .values(created_at=utcnow() + timedelta(minutes=1))
        )
    with staged.registry.db.session(readonly=True) as session:
        with pytest.raises(ConflictError) as caught:
            check_moves_since_start(session, seen, Stage.PRODUCTION)
    assert caught.value.message.startswith(
        "heart:2 moved from staging to production after this command started; nothing was"
    )


def test_expected_names_the_version_a_promotion_replaces(staged):
    with pytest.raises(ConflictError) as caught:
        staged.transition(
            "heart", 2, "production", reason="r", force=True, replace=True, expected=3
        )
    assert caught.value.message == (
        "production of 'heart' is v1, not v3 as --expect-current says; nothing was changed; "
        "re-read with `modelward versions list heart`"
    )
    with pytest.raises(ConflictError, match="is v1, not no version"):
        staged.transition(
            "heart", 2, "production", reason="r", force=True, replace=True, expected=None
        )
    with pytest.raises(TransitionError, match="--expect-current is for promotions"):
        staged.transition("heart", 1, "maintenance", reason="r", expected=1)
    assert _stages(staged) == {1: "production", 2: "staging", 3: "staging"}
    event = staged.transition(
        "heart", 2, "production", reason="r", force=True, replace=True, expected=1
    )
    assert event.details["replaced"] == 1
    staged.transition("heart", 2, "maintenance", reason="r")
    staged.transition("heart", 3, "production", reason="r", force=True, expected=None)
    assert _stages(staged) == {1: "maintenance", 2: "maintenance", 3: "production"}


def test_expect_current_on_the_command_line(staged, cli):
    args = ("transition", "heart", "2", "--to", "production", "--force", "--reason", "r")
    for value, message in [
        ("abc", "--expect-current takes a version number or none, got 'abc'"),
        ("0", "--expect-current takes a version number or none, got '0'"),
        ("3", "production of 'heart' is v1, not v3 as --expect-current says"),
        ("none", "production of 'heart' is v1, not no version"),
    ]:
        ran = cli(*args, "--replace", "--expect-current", value)
        assert ran.exit_code == 2, ran.stderr
        assert message in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
    assert _stages(staged) == {1: "production", 2: "staging", 3: "staging"}
    ran = cli(*args, "--replace", "--expect-current", "1")
    assert ran.exit_code == 0, ran.stderr
    assert _stages(staged) == {1: "maintenance", 2: "production", 3: "staging"}


def test_a_command_knows_when_its_process_started(tmp_path):
    """The CLI's ``started`` is its process's start, before any of its own work."""
    import subprocess
    import sys
    from datetime import datetime, timedelta

    before = utcnow()
    out = subprocess.run(
        [sys.executable, "-c", "from modelward.timeutil import process_started_at, utcnow; "
         "print(process_started_at().isoformat(), utcnow().isoformat())"],
        capture_output=True, text=True, check=True,
    ).stdout.split()  # fmt: skip
    started, now = (datetime.fromisoformat(t) for t in out)
    tick = timedelta(milliseconds=20)  # /proc counts in clock ticks (10 ms)
    assert before - tick <= started <= now
