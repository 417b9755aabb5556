"""The one reader of the prediction log: listing, windows, labels, samples, the engine seam."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelward.errors import ConfigError, DataError
from modelward.predlog import LogReader
from modelward.predlog.compact import compact
from modelward.predlog.engine import Aggregate
from modelward.predlog.engines.sql import hash_cut, sample_hash
from modelward.predlog.files import LogChanged
from modelward.predlog.reader import Span, frame

DAY = datetime(2026, 11, 10, tzinfo=UTC)
SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("version", pa.int64()),
        ("environment", pa.string()),
        ("status", pa.string()),
        ("latency_ms", pa.float64()),
        ("prediction", pa.string()),
        ("in_age", pa.float64()),
    ]
)


def _write(logs: Path, kind: str, day: datetime, rows: list[dict], name: str) -> Path:
    folder = logs / kind / "model=heart" / f"date={day:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    schema = SCHEMA if kind == "predictions" else None
    pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / f"{name}.parquet")
    return folder


def _day(logs: Path, day: datetime, n: int, *, files: int = 2) -> list[dict]:
    rng = np.random.default_rng(day.day)
    rows = [
        {
            "request_id": f"{day:%d}-{i}",
            "ts": day + timedelta(minutes=i),
            "version": 1 + i % 2,
            "environment": "production" if i % 5 else "staging",
            "status": "error" if i % 7 == 0 else "ok",
            "latency_ms": float(rng.gamma(2.0, 3.0)),
            "prediction": str(i % 2),
            "in_age": float(rng.normal(50, 9)) if i % 4 else None,
        }
        for i in range(n)
    ]
    step = -(-n // files)
    for k in range(files):
        _write(logs, "predictions", day, rows[k * step : (k + 1) * step], f"w-{k}")
    return rows


@pytest.fixture
def logs(tmp_path: Path) -> Path:
    logs = tmp_path / "logs"
    for offset in range(3):
        _day(logs, DAY + timedelta(days=offset), 60)
    return logs


def _window(days: int = 1, offset: int = 0) -> Span:
    start = DAY + timedelta(days=offset)
    return Span(start, start + timedelta(days=days))


def test_a_window_reads_its_own_days_each_row_once(logs, tmp_path):
    """A compaction that stopped before deleting what it replaced leaves both in the
    partition: the reader counts each row once. A file of a day outside the window that
    is not Parquet at all never reaches the engine: only the window's dates are listed."""
    day = logs / "predictions" / "model=heart" / f"date={DAY:%Y-%m-%d}"
    saved = tmp_path / "saved"
    shutil.copytree(day, saved)
    compact(str(logs), before=(DAY + timedelta(days=1)).date())
    for path in saved.glob("*.parquet"):
        shutil.copy(path, day / path.name)
    assert len(list(day.glob("*.parquet"))) == 3
    far = logs / "predictions" / "model=heart" / "date=2026-10-01"
    far.mkdir()
    (far / "torn.parquet").write_bytes(b"PAR1 and nothing else")

    reader = LogReader(str(logs))
    scan = reader.scan("heart", Span(DAY, DAY + timedelta(hours=23)))
    assert {f.date for f in scan.files} == {f"{DAY:%Y-%m-%d}"}
    assert [f.path.rsplit("/", 1)[-1][:10] for f in scan.files] == ["compacted-"]
    assert reader.count(scan) == 60
    census = reader.census(scan)
    assert sum(n for (v, s), n in census.items() if s == "error") == len(range(0, 60, 7))
    # a window touching the torn file's day says which file and what to do, in one line
    with pytest.raises(DataError, match="torn.parquet") as caught:
        reader.scan("heart", Span(datetime(2026, 10, 1, tzinfo=UTC), DAY))
    assert "\n" not in caught.value.message


def test_a_window_opens_only_the_files_whose_times_reach_it(logs):
    """Each day's rows are minutes 0-29 in one file and 30-59 in another. A file whose
    ``ts`` statistics lie outside the window is left out of the scan (a window ending at
    midnight opens none of the next day's files), and the counts at the edges are exact:
    a row at the start counts, a row at the end does not."""
    reader = LogReader(str(logs))

    def names(span: Span) -> list[str]:
        return sorted(
            f"{f.date}/{f.path.rsplit('/', 1)[-1]}" for f in reader.scan("heart", span).files
        )

    day = f"{DAY:%Y-%m-%d}"
    midnight = DAY + timedelta(days=1)
    assert names(Span(DAY, midnight)) == [f"{day}/w-0.parquet", f"{day}/w-1.parquet"]
    assert reader.count(reader.scan("heart", Span(DAY, midnight))) == 60
    minute, us = timedelta(minutes=1), timedelta(microseconds=1)
    for start, end, files, rows in [
        (10, 20, ["w-0"], 10),
        (29, 30, ["w-0"], 1),
        (29, 30 * minute + us, ["w-0", "w-1"], 2),
    ]:
        last = end if isinstance(end, timedelta) else end * minute
        span = Span(DAY + start * minute, DAY + last)
        assert names(span) == [f"{day}/{f}.parquet" for f in files]
        assert reader.count(reader.scan("heart", span)) == rows
    gap = Span(DAY + 29 * minute + us, DAY + 30 * minute)  # between the files' rows
    assert names(gap) == [] and reader.count(reader.scan("heart", gap)) == 0


def test_aggregates_labels_and_quantiles_match_numpy(logs):
    """The latest feedback row per request id is its label (a later correction wins);
    the quantile is NumPy's default percentile."""
    rows = [r for r in _day(logs, DAY + timedelta(days=5), 80, files=1)]
    first = [{"request_id": r["request_id"], "ts": r["ts"], "label": "1"} for r in rows[:40]]
    later = [
        {"request_id": r["request_id"], "ts": r["ts"] + timedelta(hours=1), "label": "0"}
        for r in rows[:10]
    ]
    _write(logs, "feedback", DAY + timedelta(days=5), first, "f-1")
    _write(logs, "feedback", DAY + timedelta(days=6), later, "f-2")
    reader = LogReader(str(logs))
    window = _window(offset=5)
    scan = reader.scan("heart", window, labels=True, environment="production", status=("ok",))
    kept = [r for r in rows if r["environment"] == "production" and r["status"] == "ok"]
    labels = {r["request_id"]: "1" for r in first} | {r["request_id"]: "0" for r in later}
    ((count, labelled, zeros, p95),) = reader.aggregate(
        scan,
        ["count(*)", "count(label)", "count_if(label = '0')", reader.quantile("latency_ms", 0.95)],
    )
    assert count == len(kept)
    assert labelled == sum(r["request_id"] in labels for r in kept)
    assert zeros == sum(labels.get(r["request_id"]) == "0" for r in kept)
    assert p95 == pytest.approx(np.percentile([r["latency_ms"] for r in kept], 95))
    only = reader.rows(scan.only(labelled=True), ["request_id", "label"], limit=1000)
    assert dict(zip(*only.to_pydict().values(), strict=True)) == {
        r["request_id"]: labels[r["request_id"]] for r in kept if r["request_id"] in labels
    }
    # several at once give what each gives alone
    queries = [Aggregate(scan, ["count(*)"]), Aggregate(scan, ["version", "count(*)"], "version")]
    alone = [reader.aggregate(q.scan, q.select, group_by=q.group_by) for q in queries]
    assert [sorted(r) for r in reader.aggregate_many(queries)] == [sorted(r) for r in alone]


def test_samples_and_row_limits_are_bounded_and_the_same_every_time(logs):
    reader = LogReader(str(logs))
    scan = reader.scan("heart", _window(days=3))
    ids = [r["request_id"] for r in reader.rows(scan, ["request_id"], limit=10_000).to_pylist()]
    assert len(ids) == 180
    hashes = {i: sample_hash(i) for i in ids}
    sample = reader.sample(scan, ["request_id"], rows=60).column("request_id").to_pylist()
    rate = 60 / 180
    assert sorted(sample) == sorted(i for i in ids if hashes[i] < hash_cut(rate))
    again = reader.sample(scan, ["request_id"], rows=60).column("request_id").to_pylist()
    assert sorted(again) == sorted(sample)
    smallest = reader.rows(scan, ["request_id", "ts"], order="hash", limit=7)
    assert sorted(smallest.column("request_id").to_pylist()) == sorted(
        sorted(ids, key=lambda i: hashes[i])[:7]
    )
    assert smallest.column("ts").to_pylist() == sorted(smallest.column("ts").to_pylist())
    latest = reader.rows(scan, ["request_id"], order="latest", limit=3).column("request_id")
    assert latest.to_pylist() == ["12-57", "12-58", "12-59"]


def test_a_materialised_scan_answers_as_the_files_do(logs):
    reader = LogReader(str(logs))
    scan = reader.scan("heart", _window(days=2), environment="production")
    expected = sorted(reader.aggregate(scan, ["version", "count(in_age)"], group_by="version"))
    with reader.materialise(scan, ["version", "status", "in_age"]) as held:
        assert held.has("in_age") and not held.has("label")
        got = sorted(reader.aggregate(held, ["version", "count(in_age)"], group_by="version"))
        ok = reader.aggregate(held.only(status=("ok",)), ["count(*)"])
        table = frame(reader.rows(held, ["version", "in_age", "nowhere"], limit=1000))
    assert got == expected
    assert ok == reader.aggregate(scan.only(status=("ok",)), ["count(*)"])
    assert str(table["version"].dtype) == "Int64" and table["nowhere"].isna().all()


def test_a_file_replaced_under_a_reader_is_a_changed_log(logs):
    """A compaction deleting a file between the listing and the read: LogChanged, so a
    check lists again (and finds the compacted file)."""
    reader = LogReader(str(logs))
    scan = reader.scan("heart", _window())
    Path(scan.files[0].path).unlink()
    with pytest.raises(LogChanged, match="replaced while it was read"):
        reader.aggregate(scan, ["count(*)"])
    assert reader.count(reader.scan("heart", _window())) == 30  # listed again


def test_a_log_under_a_folder_named_with_an_equals_sign(tmp_path):
    """``/data/run=3/logs`` is a fine place for a log: its models are read off the
    partition folders, not off the whole path. A model name cannot reach out of the log."""
    logs = tmp_path / "run=3" / "logs"
    _day(logs, DAY, 10, files=1)
    reader = LogReader(str(logs))
    assert reader.models() == ["heart"]
    assert reader.count(reader.scan("heart", _window())) == 10
    with pytest.raises(ConfigError, match="is not a model name"):
        reader.scan("../../etc", _window())
