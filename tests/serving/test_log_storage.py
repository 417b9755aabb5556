"""The prediction log when the disks under it fail (issue 13, items 6-8): log storage down
at start (the server starts, serves and publishes when storage returns), a full
write-ahead disk (not ready, 503 with Retry-After, and a refused request is never logged
as answered), and a shutdown that could not flush says so and exits non-zero.

The failures are real: a small tmpfs filled to the last block (where mounting is
permitted: root), a path blocked by a regular file, a process's file-size limit."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

import httpx
import pytest

from conftest import FEATURES, ROOT
from modelward.predlog import predictions

from .conftest import logged_ids, send_predictions, set_policy, wait_for

pytestmark = pytest.mark.sqlite_only


@dataclass
class Outage:
    """Log storage at ``url`` that ``down()`` breaks and ``up()`` brings back."""

    url: str
    down: Callable[[], None]
    up: Callable[[], None]


@pytest.fixture(params=["full-disk", "blocked-path"])
def outage(request, tmp_path, small_disks) -> Outage:
    if request.param == "full-disk":
        disk = small_disks(tmp_path / "logdisk")
        return Outage(str(disk.path / "logs"), disk.fill, disk.free)
    blocker = tmp_path / "store"  # a regular file where the log's folder would be

    def down() -> None:
        blocker.write_text("not a folder")

    def up() -> None:
        blocker.unlink()
        blocker.mkdir()

    return Outage(str(blocker / "logs"), down, up)


def _queue(url: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    (line,) = [x for x in text.splitlines() if x.startswith("modelward_log_queue_rows ")]
    return float(line.split()[1])


def test_a_start_while_log_storage_is_down_serves_and_publishes_when_it_returns(
    deployed, start_server, cleveland, outage
):
    env = {"MODELWARD_LOGS": outage.url}
    set_policy(deployed, "serving", "flush_ms", 600_000)  # the first server's rows stay in wal/
    first = start_server(env=env)
    before = send_predictions(first.url, cleveland, 10)
    first.stop(signal.SIGKILL)  # ... so the next start has a segment to replay
    set_policy(deployed, "serving", "flush_ms", 200)
    outage.down()
    server = start_server(env=env)
    assert server.proc.poll() is None, server.output()  # before: "startup failed: ... No space"
    assert httpx.get(server.url + "/readyz", timeout=10).status_code == 200
    after = send_predictions(server.url, cleveland, 10, start=10)
    assert _queue(server.url) >= 10  # kept in the write-ahead folder, and the metric says so
    assert list((deployed.root / "wal").glob("*.wal"))
    outage.up()
    wait_for(lambda: len(logged_ids(outage.url)) >= 20, what="the rows reached Parquet")
    assert sorted(logged_ids(outage.url)) == sorted(before + after)  # each once
    wait_for(lambda: _queue(server.url) == 0, what="the queue metric went back to 0")
    assert server.stop() == 0, server.output()


def test_a_shutdown_that_cannot_flush_says_so_and_exits_non_zero(
    deployed, start_server, cleveland, tmp_path
):
    blocker = tmp_path / "store"
    blocker.write_text("not a folder")  # log storage is down for this server's whole life
    env = {"MODELWARD_LOGS": str(blocker / "logs")}
    server = start_server(env=env)
    ids = send_predictions(server.url, cleveland, 5)
    code = server.stop()
    assert code != 0, server.output()
    assert "prediction log flushed" not in server.output()
    lines = [json.loads(x) for x in server.output().splitlines() if x.startswith("{")]
    (last,) = [x for x in lines if x["message"].startswith("stopped; prediction log NOT flushed")]
    assert last["level"] == "error" and last["queued_rows"] == 5
    blocker.unlink()  # storage is back: the next start publishes what was kept
    again = start_server(env=env)
    assert sorted(logged_ids(str(blocker / "logs"))) == sorted(ids)
    assert again.stop() == 0


# -- a full write-ahead disk ------------------------------------------------------------------


def _predict(http: httpx.Client, row: dict, rid: str) -> httpx.Response:
    return http.post(
        "/v1/models/heart/predict", json={"inputs": row}, headers={"X-Request-Id": rid}
    )


def test_a_full_write_ahead_disk_is_not_ready_and_refused_rows_are_never_logged_ok(
    deployed, start_server, cleveland, small_disks
):
    set_policy(deployed, "serving", "flush_ms", 600_000)  # everything stays in the segment
    set_policy(deployed, "serving", "flush_rows", 1_000_000)
    disk = small_disks(deployed.root / "wal")
    server = start_server()
    row = cleveland[FEATURES].fillna(0).iloc[0].to_dict()
    answered, refused = [], []
    with httpx.Client(base_url=server.url, timeout=30) as http:
        for i in range(5):
            assert _predict(http, row, f"before-{i}").status_code == 200
            answered.append(f"before-{i}")
        disk.fill()
        for i in range(2000):  # until the segment's last free block is used up
            reply = _predict(http, row, f"full-{i}")
            if reply.status_code != 200:
                break
            answered.append(f"full-{i}")
        assert reply.status_code == 503, reply.text  # before: 500 internal
        assert reply.headers["retry-after"].isdigit()
        assert "No space left on device" in reply.json()["error"]["message"]
        refused.append(f"full-{i}")
        ready = http.get("/readyz")
        assert ready.status_code == 503  # before: 200 ready
        assert "No space left on device" in ready.json()["reason"]
        for j in range(3):  # not ready: refused before the model runs, with Retry-After
            reply = _predict(http, row, f"refused-{j}")
            assert reply.status_code == 503 and "retry-after" in reply.headers
            refused.append(f"refused-{j}")
        disk.free()
        wait_for(lambda: http.get("/readyz").status_code == 200, what="ready again")
        for i in range(5):
            assert _predict(http, row, f"after-{i}").status_code == 200
            answered.append(f"after-{i}")
    assert server.stop() == 0, server.output()
    logged = logged_ids(deployed)
    assert sorted(logged) == sorted(answered)  # each answered row once, no refused one
    assert set(logged_ids(deployed, "ok")) == set(answered)


def test_a_write_ahead_append_that_fails_is_refused_and_never_logged(tmp_path):
    """The same rule without a mountable filesystem: the file-size limit (RLIMIT_FSIZE)
    makes the segment's appends fail with EFBIG, as a full disk would with ENOSPC."""
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    script = textwrap.dedent(
        f"""
        import json, resource
        from modelward.predlog import LogWriter
        w = LogWriter({str(logs)!r}, wal_dir={str(wal)!r}, flush_rows=10**6, flush_ms=10**6)
        w.start()
        soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
        resource.setrlimit(resource.RLIMIT_FSIZE, (4096, hard))
        answered, refused, errors = [], [], []
        for i in range(200):
            row = {{"request_id": f"r{{i}}", "version": 1, "status": "ok", "in_age": i}}
            try:
                w.log_prediction("heart", row, {{"in_age": "int64"}})
                answered.append(row["request_id"])
            except Exception as exc:
                refused.append(row["request_id"])
                errors.append([type(exc).__name__, getattr(exc, "status", None), str(exc)])
        problem = getattr(w, "problem", None)
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))  # "space returns"
        w.flush()
        healed = getattr(w, "problem", None)
        w.log_prediction("heart", {{"request_id": "late", "version": 1, "status": "ok",
                                    "in_age": 1}}, {{"in_age": "int64"}})
        answered.append("late")
        w.close()
        print(json.dumps({{"answered": answered, "refused": refused, "errors": errors,
                          "problem": problem, "healed": healed}}))
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert out["refused"] and out["answered"][:-1]
    assert {(name, status) for name, status, _ in out["errors"]} == {("LogUnavailable", 503)}
    assert "File too large" in out["problem"] and out["healed"] is None
    logged = [r[0] for r in predictions(str(logs)).select("request_id").fetchall()]
    assert sorted(logged) == sorted(out["answered"])  # no refused row, none twice
