"""Each published row carries its request's sample hash, so a read's hash sample filters
an integer; files written before that column existed are sampled the same way (the engine
hashes their ids), and compaction gives their rows the column."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelward.predlog import LogReader, LogWriter
from modelward.predlog.compact import compact
from modelward.predlog.engines.sql import hash_cut
from modelward.predlog.layout import SAMPLE_HASH, sample_hash
from modelward.predlog.reader import Span

pytestmark = pytest.mark.sqlite_only

DAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)


def _rows(prefix: str, n: int, start: int = 0) -> list[dict]:
    return [
        {
            "request_id": f"{prefix}-{start + i}",
            "ts": DAY + timedelta(seconds=start + i),
            "version": 1,
            "environment": "production",
            "status": "ok",
            "prediction": "1",
            "in_age": 50.0,
        }
        for i in range(n)
    ]


def _old_file(logs: Path, rows: list[dict], name: str) -> None:
    """A file as a writer before the column wrote it (no sample_hash)."""
    folder = logs / "predictions" / "model=heart" / f"date={DAY:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    table = pa.Table.from_pylist(rows)
    table = table.set_column(1, "ts", table["ts"].cast(pa.timestamp("us", tz="UTC")))
    pq.write_table(table, folder / name)


def _stored(logs: Path, kind: str) -> dict[str, int]:
    out = {}
    for path in logs.glob(f"{kind}/model=heart/date=*/*.parquet"):
        table = pq.read_table(path)
        if SAMPLE_HASH in table.column_names:
            ids, hashes = table["request_id"].to_pylist(), table[SAMPLE_HASH].to_pylist()
            out.update(zip(ids, hashes, strict=True))
    return out


def test_published_rows_carry_their_hash_and_a_row_cannot_choose_its_own(tmp_path):
    logs = tmp_path / "logs"
    rows = _rows("new", 20)
    rows[0][SAMPLE_HASH] = 0  # a row that tries to put itself in every sample
    with LogWriter(str(logs), wal_dir=tmp_path / "wal") as writer:
        writer.log_predictions("heart", rows, {"in_age": "float64"})
        for row in rows[:5]:
            writer.log_feedback("heart", row["request_id"], "1", ts=DAY)
    for kind, n in (("predictions", 20), ("feedback", 5)):
        stored = _stored(logs, kind)
        assert len(stored) == n
        assert stored == {i: sample_hash(i) for i in stored}, kind


def test_old_and_new_files_give_one_sample_and_compaction_adds_the_column(tmp_path):
    logs = tmp_path / "logs"
    _old_file(logs, _rows("old", 150), "old-000001.parquet")
    with LogWriter(str(logs), wal_dir=tmp_path / "wal") as writer:
        writer.log_predictions("heart", _rows("new", 150, start=500), {"in_age": "float64"})
    ids = [f"old-{i}" for i in range(150)] + [f"new-{i}" for i in range(500, 650)]
    expected = sorted(i for i in ids if sample_hash(i) < hash_cut(100 / 300))
    window = Span(DAY, DAY + timedelta(days=1))

    def sample() -> list[str]:
        reader = LogReader(str(logs))
        scan = reader.scan("heart", window)
        found = reader.sample(scan, ["request_id"], rows=100)
        return sorted(found.column("request_id").to_pylist())

    assert sample() == expected
    compact(str(logs))
    assert _stored(logs, "predictions") == {i: sample_hash(i) for i in ids}
    assert sample() == expected
