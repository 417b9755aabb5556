"""Two processes promoting different versions at the same moment: exactly one wins.

Real processes, real databases: each racer opens the workspace, reports ready, waits for a
shared start signal, then calls ``transition(..., "production")``. "At the same moment" is
made exact: each racer, after reading the incumbent and before opening its transaction,
waits until the other has read it too (a barrier on the gate check), so on a loaded machine
one racer cannot finish before the other starts and turn the race into two sequential moves.
On SQLite the second writer queues on the write lock and then sees the winner; on PostgreSQL
both run at once and the partial unique index on stage = 'production' rejects the loser at
commit.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import FEATURES

RACER = """
import json, os, sys, time
from modelward import ModelwardError, Workspace
import modelward.registry.registry as registry_module
root, db_url, version, ready, go, replace = sys.argv[1:]
checked = os.path.join(os.path.dirname(go), "checked-" + version)
others = [os.path.join(os.path.dirname(go), "checked-" + v) for v in ("1", "2") if v != version]
gates = registry_module.run_gates

def gates_after_both_have_read(*args, **kwargs):
    open(checked, "w").close()  # this racer has read the incumbent
    deadline = time.monotonic() + 30
    while not all(os.path.exists(o) for o in others) and time.monotonic() < deadline:
        time.sleep(0.0005)
    return gates(*args, **kwargs)

registry_module.run_gates = gates_after_both_have_read
ws = Workspace.open(root, db_url=db_url)
ws.registry.get_model("heart")  # connect and warm up before the start signal
open(ready, "w").close()
while not os.path.exists(go):
    time.sleep(0.0005)
try:
    ws.transition("heart", int(version), "production", reason="race", force=True,
                  replace=replace == "1")
except ModelwardError as exc:
    print(json.dumps({"ok": False, "error": type(exc).__name__, "message": exc.message}))
    sys.exit(2)
print(json.dumps({"ok": True}))
"""


def _race(workspace, tmp_path: Path, versions: tuple[int, int], replace: bool) -> list[dict]:
    go = tmp_path / f"go-{versions}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs, readies = [], []
    for version in versions:
        ready = tmp_path / f"ready-{version}"
        readies.append(ready)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", RACER, str(workspace.root), workspace.db_url,
                 str(version), str(ready), str(go), "1" if replace else "0"],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            )
        )  # fmt: skip
    deadline = time.monotonic() + 60
    while not all(r.exists() for r in readies):
        assert time.monotonic() < deadline, "racers never got ready"
        assert all(p.poll() is None for p in procs), [p.communicate() for p in procs]
        time.sleep(0.01)
    go.touch()
    results = []
    for proc in procs:
        out, err = proc.communicate(timeout=60)
        assert out.strip(), err
        results.append({"exit": proc.returncode, **json.loads(out.strip().splitlines()[-1])})
    return results


def _staged(workspace, fitted, cleveland, count: int) -> None:
    data = cleveland[[*FEATURES, "target"]]
    for _ in range(count):
        info = workspace.register("heart", fitted, data=data, target="target")
        workspace.transition("heart", info.version, "testing", reason="t")
        workspace.transition("heart", info.version, "staging", reason="t", force=True)


@pytest.mark.slow
@pytest.mark.parametrize("replace", [False, True], ids=["plain", "replace"])
def test_exactly_one_of_two_simultaneous_promotions_wins(
    workspace, fitted, cleveland, tmp_path, replace
):
    _staged(workspace, fitted, cleveland, 3)
    if replace:  # an incumbent both racers try to replace
        workspace.transition("heart", 3, "production", reason="incumbent", force=True)
    results = _race(workspace, tmp_path, (1, 2), replace)
    winners = [r for r in results if r["ok"]]
    losers = [r for r in results if not r["ok"]]
    assert len(winners) == 1 and len(losers) == 1, results
    loser = losers[0]
    assert loser["exit"] == 2
    assert loser["error"] in {"ConflictError", "TransitionError"}
    assert "production" in loser["message"]
    production = [
        v.version for v in workspace.registry.list_versions("heart") if v.stage == "production"
    ]
    assert len(production) == 1 and production[0] in (1, 2)
    loser_version = ({1, 2} - set(production)).pop()
    assert workspace.registry.get_version("heart", loser_version).stage == "staging"
    moves = [e for e in workspace.registry.history("heart") if e.to_stage == "production"]
    assert [e.version for e in moves][-1] == production[0]


# -- twenty `modelward transition` commands launched together -----------------------------

COMMAND = """
import os, sys, time
from modelward.cli.main import main
ready, go, *argv = sys.argv[1:]
open(ready, "w").close()  # started (the moment the command compares production against)
while not os.path.exists(go):
    time.sleep(0.0005)
main(argv)
"""


def _launch_together(tmp_path: Path, wave: str, commands: list[list[str]]) -> list[dict]:
    """Run ``modelward …`` commands as processes that all start before any of them acts."""
    go = tmp_path / f"go-{wave}"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    procs, readies = [], []
    for i, argv in enumerate(commands):
        ready = tmp_path / f"ready-{wave}-{i}"
        readies.append(ready)
        procs.append(
            subprocess.Popen(
                [sys.executable, "-c", COMMAND, str(ready), str(go), *argv],
                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
            )
        )  # fmt: skip
    deadline = time.monotonic() + 120
    while not all(r.exists() for r in readies):
        assert time.monotonic() < deadline, "commands never started"
        time.sleep(0.01)
    go.touch()
    results = []
    for argv, proc in zip(commands, procs, strict=True):
        out, err = proc.communicate(timeout=120)
        results.append({"version": int(argv[2]), "exit": proc.returncode, "err": err.strip()})
    return results


def _production_moves(workspace) -> list[tuple[int, str, str]]:
    return [
        (e.version, e.from_stage, e.to_stage)
        for e in workspace.registry.history("heart", kinds=["transition"])
        if "production" in (e.from_stage, e.to_stage)
    ]


def _promote(version: int, *extra: str) -> list[str]:
    return ["transition", "heart", str(version), "--to", "production", "--replace",
            "--force", "--reason", "race", *extra]  # fmt: skip


@pytest.mark.slow
def test_twenty_racing_promotions_one_wins_per_starting_state_and_nothing_flip_flops(
    workspace, fitted, cleveland, tmp_path
):
    _staged(workspace, fitted, cleveland, 3)
    workspace.transition("heart", 1, "production", reason="incumbent", force=True)
    before = _production_moves(workspace)
    # a command's start is known to the clock tick (10 ms), rounded down: one launched within
    # a tick of this promotion would count it as a move after it started, and refuse
    time.sleep(0.05)
    # wave 1, all read production = v1: two staging versions, ten commands each
    first = _launch_together(tmp_path, "1", [_promote(2 + i % 2) for i in range(20)])
    winners = [r for r in first if r["exit"] == 0]
    assert len(winners) == 1, first
    winner = winners[0]["version"]
    other = 5 - winner
    for loser in (r for r in first if r["exit"] != 0):
        assert loser["exit"] == 2 and len(loser["err"].splitlines()) == 1, loser
        # read before the winner committed (caught at commit) or after (caught at once)
        assert ("while this" in loser["err"]) != ("after this command started" in loser["err"])
        assert loser["err"].endswith(
            "; nothing was changed; re-read with `modelward versions list heart`"
        ), loser
        moved = f"production of 'heart' moved to v{winner} "
        if loser["version"] == winner:
            moved = f"heart:{winner} moved from staging to production "
        assert loser["err"].startswith(f"error: {moved}"), loser
    assert _production_moves(workspace)[len(before) :] == [
        (1, "production", "maintenance"),
        (winner, "staging", "production"),
    ]
    assert workspace.registry.get_version("heart", other).stage == "staging"
    # wave 2, all read production = the winner; half of them say so with --expect-current
    second = _launch_together(
        tmp_path,
        "2",
        [_promote(2 + i % 2, *(["--expect-current", str(winner)] if i % 4 < 2 else []))
         for i in range(8)],
    )  # fmt: skip
    assert [r["version"] for r in second if r["exit"] == 0] == [other], second
    assert all(r["exit"] == 2 for r in second if r["exit"] != 0), second
    moves = _production_moves(workspace)[len(before) :]
    assert moves[2:] == [(winner, "production", "maintenance"), (other, "staging", "production")]
    entered = [version for version, _, to in moves if to == "production"]
    assert len(entered) == len(set(entered))  # no version came back
