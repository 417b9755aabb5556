"""The columns the publisher derives from each row's request id. Its sample hash, so a
read's hash sample filters an integer (files written before that column existed are
sampled the same way: the engine hashes their ids, and compaction gives their rows the
column). Its key (an id of 32 lowercase hex digits as two 64-bit halves), so the label
join and label coverage compare integers: exact for ids of every other form, for files
written before the key existed, and for rows not yet published."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelward.predlog import LogReader, LogWriter
from modelward.predlog.compact import compact
from modelward.predlog.derive import request_keys
from modelward.predlog.engines.sql import hash_cut
from modelward.predlog.layout import REQUEST_HI, REQUEST_LO, SAMPLE_HASH, sample_hash
from modelward.predlog.reader import Span

pytestmark = pytest.mark.sqlite_only

DAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
WINDOW = Span(DAY, DAY + timedelta(days=1))
HEX = uuid.UUID(int=0x0123456789ABCDEF_FEDCBA9876543210).hex


def _key(request_id: str | None) -> tuple[int | None, int | None]:
    """The key as the docs define it, computed the slow way."""
    digits = set("0123456789abcdef")
    if request_id is None or len(request_id) != 32 or not set(request_id) <= digits:
        return None, None
    raw = bytes.fromhex(request_id)
    return (
        int.from_bytes(raw[:8], "big", signed=True),
        int.from_bytes(raw[8:], "big", signed=True),
    )


def test_keys_are_the_ids_bytes_and_only_ids_of_that_form_have_one():
    ids = [
        HEX, HEX.upper(), str(uuid.UUID(HEX)), "f" * 32, "0" * 32, None, "g" * 32, "short",
        "é" * 16, HEX[:-1] + " ", *(uuid.uuid4().hex for _ in range(3000)),
    ]  # fmt: skip
    for column in (pa.array(ids), pa.array(["pad", *ids]).slice(1), pa.chunked_array([ids])):
        high, low = request_keys(column)
        assert list(zip(high.to_pylist(), low.to_pylist(), strict=True)) == [_key(i) for i in ids]
    assert _key(HEX) == (0x0123456789ABCDEF, -0x0123456789ABCDF0)  # signed halves


def _rows(ids: list[str], start: int = 0) -> list[dict]:
    return [
        {
            "request_id": rid,
            "ts": DAY + timedelta(seconds=start + i),
            "version": 1,
            "environment": "production",
            "status": "ok",
            "prediction": "1",
            "in_age": 50.0,
        }
        for i, rid in enumerate(ids)
    ]


def _passing_for_another(rows: list[dict]) -> list[dict]:
    """``rows`` each carrying a key of its own choosing (the publisher must not keep it)."""
    return [{**row, REQUEST_HI: 7, REQUEST_LO: 7} for row in rows]


def _covered(logs: Path, wal: Path | None = None) -> int:
    """Answered predictions that have a label, as label coverage counts them."""
    reader = LogReader(str(logs), wal=wal)
    joined = reader.scan("heart", WINDOW, labels=True)
    scan = joined.only(labels=None, answered=joined.labels or (), status=("ok",))
    return sum(n for _, n in reader.aggregate(scan, ["version", "count(*)"], group_by="version"))


def _stored_hashes(logs: Path, kind: str) -> dict[str, int]:
    out = {}
    for path in logs.glob(f"{kind}/model=heart/date=*/*.parquet"):
        table = pq.read_table(path)
        if SAMPLE_HASH in table.column_names:
            ids, hashes = table["request_id"].to_pylist(), table[SAMPLE_HASH].to_pylist()
            out.update(zip(ids, hashes, strict=True))
    return out


def _stored_keys(logs: Path) -> dict[str, tuple[int | None, int | None]]:
    out = {}
    for path in logs.glob("*/model=heart/date=*/*.parquet"):
        table = pq.read_table(path)
        if REQUEST_HI in table.column_names:
            pairs = zip(table[REQUEST_HI].to_pylist(), table[REQUEST_LO].to_pylist(), strict=True)
            out.update(zip(table["request_id"].to_pylist(), pairs, strict=True))
    return out


def _old_file(logs: Path, kind: str, table: pa.Table, name: str) -> None:
    """A file as a writer wrote it before the request columns existed."""
    folder = logs / kind / "model=heart" / f"date={DAY:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    table = table.set_column(1, "ts", table["ts"].cast(pa.timestamp("us", tz="UTC")))
    pq.write_table(table, folder / name)


def test_published_rows_carry_their_hash_and_a_row_cannot_choose_its_own(tmp_path):
    logs = tmp_path / "logs"
    rows = _rows([f"new-{i}" for i in range(20)])
    rows[0][SAMPLE_HASH] = 0  # a row that tries to put itself in every sample
    with LogWriter(str(logs), wal_dir=tmp_path / "wal") as writer:
        writer.log_predictions("heart", rows, {"in_age": "float64"})
        for row in rows[:5]:
            writer.log_feedback("heart", row["request_id"], "1", ts=DAY)
    for kind, n in (("predictions", 20), ("feedback", 5)):
        stored = _stored_hashes(logs, kind)
        assert len(stored) == n
        assert stored == {i: sample_hash(i) for i in stored}, kind


def test_old_and_new_files_give_one_sample_and_compaction_adds_the_column(tmp_path):
    logs = tmp_path / "logs"
    old = pa.Table.from_pylist(_rows([f"old-{i}" for i in range(150)]))
    _old_file(logs, "predictions", old, "old-000001.parquet")
    with LogWriter(str(logs), wal_dir=tmp_path / "wal") as writer:
        new = _rows([f"new-{i}" for i in range(500, 650)], start=500)
        writer.log_predictions("heart", new, {"in_age": "float64"})
    ids = [f"old-{i}" for i in range(150)] + [f"new-{i}" for i in range(500, 650)]
    expected = sorted(i for i in ids if sample_hash(i) < hash_cut(100 / 300))

    def sample() -> list[str]:
        reader = LogReader(str(logs))
        scan = reader.scan("heart", WINDOW)
        found = reader.sample(scan, ["request_id"], rows=100)
        return sorted(found.column("request_id").to_pylist())

    assert sample() == expected
    compact(str(logs))
    assert _stored_hashes(logs, "predictions") == {i: sample_hash(i) for i in ids}
    assert sample() == expected


def test_label_coverage_is_exact_across_id_forms_old_files_and_unpublished_rows(tmp_path):
    logs, wal = tmp_path / "logs", tmp_path / "wal"
    keyed = [uuid.uuid4().hex for _ in range(30)]
    # ids a client chose: the same bytes in capitals and with dashes are other requests
    others = [keyed[0].upper(), str(uuid.UUID(keyed[1])), "client-7", "x" * 32]
    ids = keyed + others
    labelled = set(keyed[2:20]) | {others[2], others[0]}  # not keyed[0] nor keyed[1]
    with LogWriter(str(logs), wal_dir=wal) as writer:
        writer.log_predictions("heart", _passing_for_another(_rows(ids)), {"in_age": "float64"})
        for rid in sorted(labelled):
            writer.log_feedback("heart", rid, "1", ts=DAY + timedelta(hours=1))
    stored = _stored_keys(logs)
    assert stored == {i: _key(i) for i in stored} and set(stored) == set(ids)  # not the row's 7
    assert _covered(logs) == len(labelled)

    # a day's earlier files, written before the key existed: predictions and labels
    old = [uuid.uuid4().hex for _ in range(10)]
    _old_file(logs, "predictions", pa.Table.from_pylist(_rows(old, 100)), "old-000001.parquet")
    feedback = [{"request_id": r, "ts": DAY + timedelta(hours=2), "label": "0"} for r in old[:4]]
    # and a label, in an old file, of a request whose prediction has its key
    feedback.append({"request_id": keyed[25], "ts": DAY + timedelta(hours=2), "label": "0"})
    _old_file(logs, "feedback", pa.Table.from_pylist(feedback), "old-000001.parquet")
    expected = len(labelled) + 4 + 1
    assert _covered(logs) == expected
    compact(str(logs))  # yesterday is closed: gives the old rows their keys
    assert _stored_keys(logs) == {i: _key(i) for i in [*ids, *old]}
    assert _covered(logs) == expected

    # rows still in the write-ahead folder are read too (their keys computed on reading)
    fresh = [uuid.uuid4().hex for _ in range(5)]
    writer = LogWriter(str(logs), wal_dir=wal, flush_ms=10**9).start()
    try:
        writer.log_predictions("heart", _rows(fresh, 200), {"in_age": "float64"})
        for rid in [*fresh[:3], keyed[1]]:  # keyed[1]'s label arrives late
            writer.log_feedback("heart", rid, "1", ts=DAY + timedelta(hours=3))
        assert _covered(logs, wal) == expected + 3 + 1
    finally:
        writer.close()


def _labels(logs: Path) -> dict[str, str | None]:
    """Each prediction's latest label, as the checks' join gives it."""
    reader = LogReader(str(logs))
    scan = reader.scan("heart", WINDOW, labels=True)
    table = reader.rows(scan, ["request_id", "label"], limit=None)
    return dict(zip(table["request_id"].to_pylist(), table["label"].to_pylist(), strict=True))


@pytest.mark.parametrize("client_ids", [False, True], ids=["every-id-keyed", "some-not"])
def test_the_label_join_gives_each_request_its_latest_label(tmp_path, client_ids):
    """Keyed files join on the key alone when every row has one (the files' statistics
    say so), else on the key and the id: each prediction gets its own latest label."""
    logs = tmp_path / "logs"
    ids = [uuid.uuid4().hex for _ in range(40)]
    if client_ids:  # the same bytes spelt another way are another request
        ids += [ids[0].upper(), str(uuid.UUID(ids[1])), "client-9"]
    expected: dict[str, str | None] = dict.fromkeys(ids)
    with LogWriter(str(logs), wal_dir=tmp_path / "wal") as writer:
        writer.log_predictions("heart", _rows(ids), {"in_age": "float64"})
        for n, rid in enumerate(ids[::2]):
            writer.log_feedback("heart", rid, "0", ts=DAY + timedelta(hours=1))
            writer.log_feedback("heart", rid, str(n % 2), ts=DAY + timedelta(hours=2))  # wins
            expected[rid] = str(n % 2)
    assert _labels(logs) == expected
    assert _covered(logs) == sum(label is not None for label in expected.values())
