"""Write-ahead segments in hard times (issue 13, items 8-10): a process out of file
descriptors recovers by itself and its queue metric shows the stuck rows; a crash between
publishing a segment and deleting it does not write its rows twice; a live server adopts
the segments of one that was killed, and two that race for them publish each row once."""

from __future__ import annotations

import json
import signal
import socket
import threading
from datetime import UTC, date, datetime
from pathlib import Path

import httpx
import pytest

from conftest import FEATURES
from modelward.predlog import LogWriter
from modelward.predlog.compact import compact

from .conftest import logged_ids, send_predictions, set_policy, wait_for

pytestmark = pytest.mark.sqlite_only

STAMP = int(datetime(2026, 11, 24, 12, tzinfo=UTC).timestamp() * 1e6)  # a closed day


def _segment(wal: Path, name: str, ids: list[str]) -> None:
    """A segment as a killed writer leaves it (the documented line format)."""
    lines = [{"k": "t", "m": "heart", "types": {"in_age": "int64"}}]
    lines += [
        {"k": "predictions", "m": "heart", "request_id": rid, "ts": STAMP + i, "version": 1,
         "status": "ok", "in_age": 40 + i}
        for i, rid in enumerate(ids)
    ]  # fmt: skip
    wal.mkdir(parents=True, exist_ok=True)
    tmp = wal / f".{name}.tmp"
    tmp.write_bytes(b"".join(json.dumps(line).encode() + b"\n" for line in lines))
    tmp.rename(wal / f"{name}.wal")


# -- item 9: idempotent replay ----------------------------------------------------------------


@pytest.mark.parametrize("between", ["nothing", "a compaction"])
def test_a_crash_between_publishing_and_deleting_a_segment_writes_nothing_twice(tmp_path, between):
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    ids = [f"r{i}" for i in range(12)]
    _segment(wal, "dead-host-1-aaaaaa-000001", ids)
    saved = {p.name: p.read_bytes() for p in wal.glob("*.wal")}
    with LogWriter(str(logs), wal_dir=wal):
        pass  # replays the segment: Parquet written, segment deleted
    assert not list(wal.glob("*.wal"))
    if between == "a compaction":  # the day is closed: its files become one file
        _segment(wal, "dead-host-2-bbbbbb-000001", ["other"])
        with LogWriter(str(logs), wal_dir=wal):
            pass
        (done,) = compact(str(logs), before=date(2026, 11, 25))
        assert done.files == 2
    for name, data in saved.items():  # the crash came before the delete: it is back
        (wal / name).write_bytes(data)
    with LogWriter(str(logs), wal_dir=wal) as writer:
        assert writer.written_rows == 0
    logged = logged_ids(str(logs))
    assert sorted(x for x in logged if x != "other") == sorted(ids)  # each row once
    assert not list(wal.glob("*.wal"))


def test_a_published_file_names_its_segment(tmp_path):
    import pyarrow.parquet as pq

    logs, wal = tmp_path / "logs", tmp_path / "wal"
    _segment(wal, "dead-host-1-aaaaaa-000007", ["a", "b"])
    with LogWriter(str(logs), wal_dir=wal):
        pass
    (path,) = logs.rglob("*.parquet")
    meta = pq.read_schema(path).metadata
    assert meta[b"modelward.segment"] == b"dead-host-1-aaaaaa-000007"


# -- item 10: orphans are adopted by live writers --------------------------------------------


def test_a_live_server_adopts_the_segments_of_a_killed_one(deployed, start_server, cleveland):
    set_policy(deployed, "serving", "flush_ms", 600_000)  # neither publishes on its own
    set_policy(deployed, "serving", "flush_rows", 1_000_000)
    survivor = start_server()
    victim = start_server()
    ids = send_predictions(victim.url, cleveland, 12)
    victim.stop(signal.SIGKILL)
    assert logged_ids(deployed) == []
    # no restart: the survivor finds the orphaned segment (its lock is free) and publishes it
    wait_for(lambda: sorted(logged_ids(deployed)) == sorted(ids), what="the orphan adopted")
    mine = send_predictions(survivor.url, cleveland, 3, start=12)
    assert survivor.stop() == 0, survivor.output()
    assert sorted(logged_ids(deployed)) == sorted(ids + mine)


def test_live_writers_racing_for_orphans_publish_each_row_once(tmp_path):
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    writers = [LogWriter(str(logs), wal_dir=wal, flush_ms=20).start() for _ in range(3)]
    expected = []
    for n in range(40):  # dead writers' segments appear while the live ones run
        ids = [f"s{n}-{i}" for i in range(5)]
        _segment(wal, f"dead-{n:03d}-cccccc-000001", ids)
        expected += ids
    wait_for(lambda: len(list(wal.glob("dead-*.wal"))) == 0, what="every orphan adopted")
    threads = [threading.Thread(target=w.close) for w in writers]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(logged_ids(str(logs))) == sorted(expected)


# -- item 8: out of file descriptors ----------------------------------------------------------

NOFILE = 64  # a serving process holds ~25 descriptors after start


def _queue(http: httpx.Client) -> float:
    text = http.get("/metrics").text
    (line,) = [x for x in text.splitlines() if x.startswith("modelward_log_queue_rows ")]
    return float(line.split()[1])


def _writer_hit_the_limit(output: str) -> bool:
    for text in output.splitlines():
        if text.startswith("{"):
            line = json.loads(text)
            if line["logger"] == "modelward.predlog" and "Too many open files" in text:
                return True
    return False


def test_a_writer_out_of_file_descriptors_recovers_by_itself(deployed, start_server, cleveland):
    set_policy(deployed, "serving", "flush_ms", 200)
    server = start_server(nofile=NOFILE)
    host, port = server.url.removeprefix("http://").rsplit(":", 1)
    rows = cleveland[FEATURES].fillna(0).to_dict(orient="records")
    answered = []

    def predict(http: httpx.Client, i: int) -> None:
        reply = http.post("/v1/models/heart/predict", json={"inputs": rows[i % len(rows)]})
        assert reply.status_code == 200, reply.text
        answered.append(reply.json()["request_id"])

    with httpx.Client(base_url=server.url, timeout=30) as http:  # accepted before the drought
        for i in range(5):
            predict(http, i)
        wait_for(lambda: len(logged_ids(deployed)) == 5, what="the writer works")
        hogs = [socket.create_connection((host, int(port))) for _ in range(NOFILE + 20)]
        try:  # the server accepts them until it has no descriptor left
            for i in range(5):
                predict(http, i)
            wait_for(lambda: _writer_hit_the_limit(server.output()), what="the writer failed")
            for i in range(5):
                predict(http, i)
            stuck = len(set(answered) - set(logged_ids(deployed)))
            assert stuck > 0 and _queue(http) >= stuck  # before: 0 with rows stuck
        finally:
            for hog in hogs:
                hog.close()
        wait_for(lambda: set(answered) <= set(logged_ids(deployed)), what="recovered")
        for i in range(5):  # and it keeps publishing, without a restart
            predict(http, i)
        wait_for(lambda: set(answered) <= set(logged_ids(deployed)), what="still publishing")
        wait_for(lambda: _queue(http) == 0, what="the queue drained")
    assert server.stop() == 0, server.output()
    assert "flush of closed file" not in server.output()
    assert sorted(logged_ids(deployed)) == sorted(answered)


def test_a_publishing_process_that_dies_leaves_its_rows_queued_and_the_next_round_publishes_them(
    tmp_path, monkeypatch, caplog
):
    """As ``modelward serve`` publishes: each segment in a process of its own. One that
    dies without a word (here: no Python to run it) loses nothing: the segment stays, the
    queue counts its rows, an error line says why, and the next round publishes it."""
    import sys

    logs, wal = tmp_path / "logs", tmp_path / "wal"
    stamp = datetime(2026, 11, 24, 12, tzinfo=UTC)
    rows = [{"request_id": f"r{i}", "ts": stamp, "status": "ok", "in_age": 40.0} for i in range(7)]
    writer = LogWriter(
        str(logs), wal_dir=wal, flush_ms=10**6, flush_rows=10**6, separate_process=True
    ).start()
    python = sys.executable
    monkeypatch.setattr(sys, "executable", "/bin/false")
    writer.log_predictions("heart", rows, {"in_age": "float64"})
    writer.flush()
    assert writer.queued == 7 and logged_ids(str(logs)) == []
    assert len(list(wal.glob("*.wal"))) >= 1
    assert "the publishing process exited with 1" in caplog.text
    monkeypatch.setattr(sys, "executable", python)
    writer.close()
    assert sorted(logged_ids(str(logs))) == sorted(r["request_id"] for r in rows)
    assert writer.queued == 0 and writer.flushed
