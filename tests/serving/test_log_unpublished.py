"""Today's log: the writer publishes Parquet by size or age, and readers given the
write-ahead folder read the rows not yet published, each row once, whatever the writer
does while they read."""

from __future__ import annotations

import shutil
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq

from modelward import Workspace
from modelward.policy.model import ServingPolicy
from modelward.predlog import LogReader, LogWriter
from modelward.predlog.reader import Span
from modelward.predlog.unpublished import MAX_PIECES
from modelward.predlog.writer import ROLL_MS, ROLL_ROWS
from modelward.rollout.metrics import PredictionLogMetrics

TYPES = {"in_age": "int64", "in_chol": "float64"}


def _row(i: int) -> dict:
    return {
        "request_id": f"r{i}",
        "version": 1,
        "environment": "production",
        "status": "ok",
        "latency_ms": 0.5,
        "prediction": str(i % 2),
        "score": 0.25,
        "in_age": 40 + i,
        "in_chol": None if i % 3 == 0 else 200.5,  # the server's null for a missing input
    }


def _today() -> Span:
    now = datetime.now(UTC)
    return Span(now - timedelta(hours=1), now + timedelta(hours=1))


def _parquet(logs: Path) -> list[Path]:
    return sorted(p for p in logs.rglob("*.parquet") if not p.name.startswith("."))


def _counts(reader: LogReader) -> tuple[int, int]:
    """(predictions, labelled predictions) of the last hour, as monitoring reads them."""
    scan = reader.scan("heart", _today(), labels=True)
    return reader.count(scan), reader.aggregate(scan, ["count(label)"])[0][0]


def _serve(writer: LogWriter, rows: int, labels: int) -> None:
    """``rows`` predictions of ``heart`` and feedback for the first ``labels`` of them."""
    for i in range(rows):
        writer.log_prediction("heart", _row(i), TYPES)
    for i in range(labels):
        writer.log_feedback("heart", f"r{i}", str(i % 2))


def test_rows_served_a_moment_ago_are_in_monitors_reads_before_any_publish(tmp_path):
    """A server-like writer (its write-ahead folder, the default rolling): nothing is
    published yet, and the monitor's reader already has every row and label, nulls kept."""
    ws = Workspace.init(tmp_path / "ws")
    with LogWriter(ws.logs_url, wal_dir=ws.layout.wal) as writer:
        _serve(writer, 30, 10)
        assert _parquet(Path(ws.logs_url)) == []
        reader = ws.monitor.log
        assert reader.models() == ["heart"]
        reader.require("heart")
        assert _counts(reader) == (30, 10)
        scan = reader.scan("heart", _today())
        assert reader.aggregate(scan, ["count(in_chol)", "sum(in_age)"]) == [
            (20, sum(40 + i for i in range(30)))
        ]
        writer.log_prediction("heart", _row(30), TYPES)  # a segment that grew since
        assert _counts(reader) == (31, 10)
    assert _counts(LogReader(ws.logs_url, wal=ws.layout.wal)) == (31, 10)  # now from Parquet
    assert len(_parquet(Path(ws.logs_url))) == 2  # one file per partition of the segment
    reader.close()


_FRESH_READER = """
import sys
from datetime import UTC, datetime, timedelta
from modelward import Workspace
from modelward.predlog.reader import Span
reader = Workspace.open(sys.argv[1]).monitor.log
now = datetime.now(UTC)
scan = reader.scan("heart", Span(now - timedelta(hours=1), now + timedelta(hours=1)), labels=True)
print(reader.count(scan), reader.aggregate(scan, ["count(label)"])[0][0], "pandas" in sys.modules)
"""


def test_a_command_reading_unpublished_rows_does_not_load_pandas(tmp_path):
    """Converting today's segments goes through Arrow's buffers: no pandas import (a
    tenth of a second and more of every check's start) in a fresh reading process."""
    ws = Workspace.init(tmp_path / "ws")
    with LogWriter(ws.logs_url, wal_dir=ws.layout.wal) as writer:
        _serve(writer, 30, 10)
        ran = subprocess.run(
            [sys.executable, "-c", _FRESH_READER, str(ws.root)],
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert _parquet(Path(ws.logs_url)) == []  # it read the segments
    assert ran.returncode == 0, ran.stderr
    assert ran.stdout.split() == ["30", "10", "False"]


def test_a_publish_racing_a_read_counts_each_row_once(tmp_path):
    """The writer publishes a segment (and deletes it) at each step of a read: between
    listing the segments and listing the files, and after both listings; and a crash
    left a segment beside the files published from it. Each row is counted once."""
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    writer = LogWriter(str(logs), wal_dir=wal).start()
    reader = LogReader(str(logs), wal=wal)
    assert reader.unpublished is not None
    total = 0

    def log_some(n: int) -> None:
        nonlocal total
        writer.log_predictions("heart", [_row(total + i) for i in range(n)], TYPES)
        writer.log_feedback("heart", f"r{total}", "1")
        total += n

    list_segments, list_files = reader.unpublished.segments, reader.files.files

    # published after the segments are listed, before the files are
    log_some(5)

    def segments_then_publish() -> list[str]:
        names = list_segments()
        writer.flush()
        return names

    reader.unpublished.segments = segments_then_publish  # type: ignore[method-assign]
    assert _counts(reader) == (5, 1)
    reader.unpublished.segments = list_segments  # type: ignore[method-assign]

    # published after both listings: the segment is gone when it is read
    log_some(7)
    published: list[bool] = []

    def files_then_publish(*args, **kwargs):
        found = list_files(*args, **kwargs)
        if not published:
            published.append(writer.flush() > 0)
        return found

    reader.files.files = files_then_publish  # type: ignore[method-assign]
    assert _counts(reader) == (12, 2)
    assert published == [True]
    reader.files.files = list_files  # type: ignore[method-assign]

    # a crash between publishing a segment and deleting it: both are there
    log_some(4)
    saved = tmp_path / "saved"
    saved.mkdir()
    for segment in wal.glob("*.wal"):
        shutil.copy(segment, saved / segment.name)
    writer.flush()
    for segment in saved.glob("*.wal"):
        shutil.copy(segment, wal / segment.name)
    assert _counts(reader) == (16, 3)
    writer.close()
    reader.close()


def test_a_torn_last_line_of_a_live_segment_is_read_up_to_it(tmp_path):
    """A segment being written ends in half a line: a read takes the complete lines, and
    the next read takes the line once it is whole. A row Arrow cannot store is left out of
    reads (the writer sets it aside when it publishes)."""
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    writer = LogWriter(str(logs), wal_dir=wal).start()
    writer.log_predictions("heart", [_row(i) for i in range(3)], TYPES)
    (segment,) = wal.glob("*.wal")
    line = (
        b'{"k":"predictions","m":"heart","request_id":"late","ts":%d,"version":1,'
        b'"status":"ok","in_age":7}\n' % int(time.time() * 1e6)
    )
    with segment.open("ab") as file:
        file.write(line[:30])
        file.flush()
        reader = LogReader(str(logs), wal=wal)
        assert _counts(reader) == (3, 0)
        file.write(line[30:])
    assert _counts(reader) == (4, 0)
    writer.log_prediction("heart", {**_row(9), "in_age": 2**70}, TYPES)  # beyond int64
    assert _counts(reader) == (4, 0)
    writer.close()
    assert writer.quarantined == 1
    reader.close()


def _wait_for(condition, what: str) -> None:
    deadline = time.monotonic() + 30
    while not condition():
        assert time.monotonic() < deadline, f"never happened: {what}"
        time.sleep(0.02)


def test_segments_are_published_by_rows_or_by_age(tmp_path):
    """One Parquet file per ``flush_rows`` rows, or per segment ``flush_ms`` old; what
    neither reached stays in the segment (and is read from there). The server's policy
    defaults are the writer's."""
    assert (ServingPolicy().flush_rows, ServingPolicy().flush_ms) == (ROLL_ROWS, ROLL_MS)
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    reader = LogReader(str(logs), wal=wal)
    with LogWriter(str(logs), wal_dir=wal, flush_rows=5, flush_ms=10**8) as writer:
        for batch in range(2):
            writer.log_predictions("heart", [_row(5 * batch + i) for i in range(5)], TYPES)
            _wait_for(lambda n=batch + 1: len(_parquet(logs)) == n, "a file per 5 rows")
        writer.log_predictions("heart", [_row(10 + i) for i in range(2)], TYPES)
        assert [pq.read_metadata(p).num_rows for p in _parquet(logs)] == [5, 5]
        assert _counts(reader) == (12, 0)
    assert [pq.read_metadata(p).num_rows for p in _parquet(logs)] == [5, 5, 2]  # close()

    aged = tmp_path / "aged"
    with LogWriter(str(aged), wal_dir=tmp_path / "wal2", flush_ms=100) as writer:
        writer.log_predictions("heart", [_row(i) for i in range(2)], TYPES)
        _wait_for(lambda: len(_parquet(aged)) == 1, "a file once the segment is old")
        assert pq.read_metadata(_parquet(aged)[0]).num_rows == 2
    reader.close()


def test_a_segment_read_after_every_row_counts_each_row_once(tmp_path):
    """A long-lived reader (the feedback resolver) reading a live segment as it grows:
    every read has each row once, also after its pieces are converted whole again."""
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    reader = LogReader(str(logs), wal=wal)
    with LogWriter(str(logs), wal_dir=wal) as writer:
        for i in range(MAX_PIECES + 4):
            writer.log_prediction("heart", _row(i), TYPES)
            assert _counts(reader) == (i + 1, 0)
    reader.close()


def test_a_canary_is_judged_on_the_rows_it_served_before_any_publish(tmp_path):
    """Rollout judging reads the write-ahead folder: a canary's requests and labels of
    the last seconds count, though nothing reached Parquet."""
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    with LogWriter(str(logs), wal_dir=wal) as writer:
        writer.log_predictions("heart", [_row(i) for i in range(8)], TYPES)
        writer.log_feedback("heart", "r1", "1")
        window = _today()
        stats = PredictionLogMetrics(str(logs), wal=wal).window(
            "heart", "production", 1, window.start, window.end
        )
        assert (stats.requests, stats.labelled, stats.correct) == (8, 1, 1)
        assert _parquet(logs) == []


def test_the_relations_api_reads_rows_not_yet_published(tmp_path):
    """``predictions``/``labelled`` over a workspace (or a logs URL with ``wal=``) see what
    the server answered a moment ago, and each row once after it is published."""
    from modelward.predlog import labelled, predictions

    ws = Workspace.init(tmp_path / "ws")
    with LogWriter(ws.logs_url, wal_dir=ws.layout.wal) as writer:
        _serve(writer, 12, 4)
        assert _parquet(Path(ws.logs_url)) == []
        assert predictions(ws, "heart").count("*").fetchall() == [(12,)]
        assert labelled(ws, "heart").count("*").fetchall() == [(4,)]
        by_url = predictions(ws.logs_url, "heart", wal=ws.layout.wal)
        assert by_url.aggregate("count(in_chol)").fetchall() == [(8,)]  # nulls kept
        assert predictions(ws.logs_url, "heart").count("*").fetchall() == [(0,)]  # Parquet only
    assert _parquet(Path(ws.logs_url))  # published on close
    assert predictions(ws, "heart").count("*").fetchall() == [(12,)]
    assert labelled(ws, "heart").count("*").fetchall() == [(4,)]
