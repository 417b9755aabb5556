"""The prediction-log writer and readers: real Parquet, read back with DuckDB and pyarrow."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import pyarrow as pa
import pyarrow.dataset as ds

from conftest import ROOT
from modelward.predlog import LogWriter, feedback, labelled, predictions

TYPES = {"in_age": "int64", "in_chol": "float64", "in_note": "string"}


def _row(i: int, **extra):
    return {
        "request_id": f"r{i}",
        "ts": datetime(2026, 11, 24, 12, 0, i % 60, tzinfo=UTC),
        "version": 1,
        "environment": "production",
        "status": "ok",
        "error": None,
        "latency_ms": 0.5,
        "prediction": str(i % 2),
        "score": 0.25,
        "proba": '{"0": 0.75, "1": 0.25}',
        "in_age": 40 + i,
        "in_chol": 200.5,
        "in_note": "x",
        **extra,
    }


def test_layout_and_types_follow_the_contract(tmp_path: Path):
    logs = tmp_path / "logs"
    with LogWriter(str(logs), wal_dir=tmp_path / "wal", flush_rows=10_000) as writer:
        writer.log_predictions("heart", [_row(i) for i in range(5)], TYPES)
        writer.log_feedback("heart", "r1", "1")
    files = sorted(logs.rglob("*.parquet"))
    assert [f.relative_to(logs).parts[:3] for f in files] == [
        ("feedback", "model=heart", f"date={datetime.now(UTC):%Y-%m-%d}"),
        ("predictions", "model=heart", "date=2026-11-24"),
    ]
    assert not list(logs.rglob("*.tmp")) and not list((tmp_path / "wal").glob("*.wal"))
    import pyarrow.parquet as pq

    schema = pq.read_schema(files[1])
    assert "model" not in schema.names and "date" not in schema.names
    assert schema.field("ts").type == pa.timestamp("us", tz="UTC")
    assert schema.field("version").type == pa.int64()
    assert schema.field("in_age").type == pa.int64()
    assert schema.field("in_chol").type == pa.float64()
    assert schema.field("in_note").type == pa.string()
    assert schema.field("score").type == pa.float64()
    table = ds.dataset(logs / "predictions", format="parquet", partitioning="hive").to_table()
    assert table.num_rows == 5 and set(table.column("model").to_pylist()) == {"heart"}


def test_files_are_snappy_with_dictionaries_only_where_values_repeat(tmp_path: Path):
    """Every check reads these files: snappy (fast to decode) and no dictionary for the
    columns with a value per row (ids, times, latencies, scores, a continuous feature),
    one for the columns whose values repeat."""
    import pyarrow.parquet as pq

    logs = tmp_path / "logs"
    with LogWriter(str(logs), wal_dir=tmp_path / "wal", flush_rows=10_000) as writer:
        writer.log_predictions("heart", [_row(i) for i in range(50)], TYPES)
    (path,) = logs.rglob("*.parquet")
    group = pq.ParquetFile(path).metadata.row_group(0)
    chunks = {group.column(i).path_in_schema: group.column(i) for i in range(group.num_columns)}
    assert {c.compression for c in chunks.values()} == {"SNAPPY"}
    for name in ("request_id", "ts", "latency_ms", "score", "proba", "in_age"):
        assert "RLE_DICTIONARY" not in chunks[name].encodings, name
    for name in ("status", "prediction", "in_note", "in_chol"):
        assert "RLE_DICTIONARY" in chunks[name].encodings, name


def test_readers_join_latest_feedback(tmp_path: Path):
    logs = str(tmp_path / "logs")
    with LogWriter(logs, flush_rows=2) as writer:
        writer.log_predictions("heart", [_row(i) for i in range(4)], TYPES)
        writer.log_feedback("heart", "r1", "0", ts=datetime(2026, 11, 24, 13, tzinfo=UTC))
        writer.log_feedback("heart", "r1", "1", ts=datetime(2026, 11, 24, 14, tzinfo=UTC))
        writer.log_feedback("heart", "r2", "0", ts=datetime(2026, 11, 24, 14, tzinfo=UTC))
    assert predictions(logs, "heart").count("*").fetchall() == [(4,)]
    latest = dict(feedback(logs).select("request_id, label").fetchall())
    assert latest == {"r1": "1", "r2": "0"}
    rows = labelled(logs, "heart").select("request_id, prediction, label").order("request_id")
    assert rows.fetchall() == [("r1", "1", "1"), ("r2", "0", "0")]


def test_readers_on_an_empty_log_give_empty_typed_relations(tmp_path: Path):
    logs = str(tmp_path / "nothing")
    assert predictions(logs).count("*").fetchall() == [(0,)]
    assert labelled(logs, "heart").fetchall() == []
    assert "latency_ms" in predictions(logs).columns


def test_versions_with_different_features_read_together(tmp_path: Path):
    logs = str(tmp_path / "logs")
    with LogWriter(logs) as writer:
        writer.log_prediction("m", _row(1), TYPES)
        writer.flush()
        row = _row(2)
        del row["in_note"]
        writer.log_prediction("m", {**row, "in_extra": 1.5}, {"in_extra": "float64"})
    rel = predictions(logs, "m").select("request_id, in_note, in_extra").order("request_id")
    assert rel.fetchall() == [("r1", "x", None), ("r2", None, 1.5)]


def test_a_killed_writer_loses_nothing_the_next_one_replays_it(tmp_path: Path):
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    script = textwrap.dedent(
        f"""
        import os, signal
        from datetime import datetime, UTC
        from modelward.predlog import LogWriter
        w = LogWriter({str(logs)!r}, wal_dir={str(wal)!r}, flush_rows=10**6, flush_ms=10**6)
        w.start()
        for i in range(250):
            w.log_prediction("heart", {{"request_id": f"k{{i}}", "version": 1,
                "status": "ok", "in_age": i}}, {{"in_age": "int64"}})
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", script], env=env, check=False)
    assert done.returncode == -9
    assert not list(logs.rglob("*.parquet"))  # nothing reached Parquet before the kill
    with LogWriter(str(logs), wal_dir=wal) as writer:
        assert writer.written_rows == 250
    ids = {r[0] for r in predictions(str(logs), "heart").select("request_id").fetchall()}
    assert ids == {f"k{i}" for i in range(250)}
    assert not list(wal.glob("*.wal"))


def test_a_live_writers_segment_is_not_replayed_by_another(tmp_path: Path):
    logs, wal = str(tmp_path / "logs"), tmp_path / "wal"
    first = LogWriter(logs, wal_dir=wal, flush_ms=10**6).start()
    first.log_prediction("heart", _row(1), TYPES)
    second = LogWriter(logs, wal_dir=wal).start()
    assert second.written_rows == 0
    second.close()
    first.close()
    assert predictions(logs).count("*").fetchall() == [(1,)]


def test_full_buffer_drops_and_counts(tmp_path: Path):
    class Down:
        url = "down://"

        def write(self, relpath, table):
            raise OSError("storage is down")

    writer = LogWriter("unused", sink=Down(), max_buffered=3, flush_ms=10**6)
    for i in range(5):
        writer.log_prediction("heart", _row(i), TYPES)
    assert writer.flush() == 0 and writer.queued == 3 and writer.dropped == 2


def test_an_fsspec_url_works_for_writing_and_reading():
    import fsspec

    url = "memory://mw-test-logs"
    memory = fsspec.filesystem("memory")
    if memory.exists(url):
        memory.rm(url, recursive=True)
    with LogWriter(url) as writer:
        writer.log_predictions("heart", [_row(i) for i in range(3)], TYPES)
        writer.log_feedback("heart", "r2", "1")
    assert predictions(url, "heart").count("*").fetchall() == [(3,)]
    assert labelled(url, "heart").select("request_id, label").fetchall() == [("r2", "1")]


def test_a_torn_last_line_is_skipped_and_the_rest_replayed(tmp_path: Path):
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    wal.mkdir()
    lines = [
        b'{"k":"t","m":"heart","types":{"in_age":"int64"}}',
        b'{"k":"predictions","m":"heart","request_id":"a","ts":1764000000000000,"in_age":5}',
        b'{"k":"feedback","m":"heart","request_id":"a","ts":1764000000000001,"label":"1"}',
        b'{"k":"predictions","m":"heart","request_id":"b","ts":17640',
    ]
    (wal / "dead-000001.wal").write_bytes(b"\n".join(lines))
    with LogWriter(str(logs), wal_dir=wal) as writer:
        assert writer.written_rows == 2
    assert predictions(str(logs)).select("request_id, in_age").fetchall() == [("a", 5)]
    assert labelled(str(logs)).select("label").fetchall() == [("1",)]
