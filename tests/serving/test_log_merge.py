"""The writer's rolling merge: a day's published files stay few while the server writes
them, each row read once, never beside a compaction, only the writer's own files."""

from __future__ import annotations

import fcntl
import json
import logging
import os
import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from modelward.errors import StorageError
from modelward.predlog import LogWriter, predictions
from modelward.predlog.compact import LOCK_NAME, MERGE_FANOUT, compact, merge_own
from modelward.predlog.files import LogChanged, LogFiles
from modelward.predlog.layout import COMPACTED_KEY
from modelward.predlog.unpublished import _published_since
from serving.conftest import tear_pages

pytestmark = pytest.mark.sqlite_only

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _rows(writer: str, start: int, n: int = 3, day: datetime = TODAY) -> list[dict]:
    return [
        {
            "request_id": f"{writer}-{start + i}",
            "ts": day + timedelta(seconds=start + i),
            "version": 1,
            "status": "ok",
            "prediction": "1",
            "score": 0.5,
            "in_age": float(start + i),
        }
        for i in range(n)
    ]


def _folder(logs: Path, day: datetime = TODAY) -> Path:
    return logs / "predictions" / "model=heart" / f"date={day:%Y-%m-%d}"


def _publish(
    writer: LogWriter, name: str, flushes: int, first: int = 0, day: datetime = TODAY
) -> None:
    for k in range(first, first + flushes):
        writer.log_predictions("heart", _rows(name, 3 * k, day=day), {"in_age": "float64"})
        writer.flush()


def _ids(logs: Path) -> list[str]:
    return sorted(r for (r,) in predictions(str(logs)).select("request_id").fetchall())


def _replaced(path: Path) -> list[str]:
    return json.loads(pq.read_schema(path).metadata[COMPACTED_KEY])


def test_a_day_of_segments_stays_a_few_files_each_row_read_once(tmp_path):
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", 70)
    files = sorted(p.name for p in _folder(logs).glob("*.parquet"))
    # 70 segments: 6 of tier 0, one file of 64 (tier 2), nothing left of tier 1
    assert len(files) == 7, files
    assert len([f for f in files if f.startswith("compacted-web-1.t2.")]) == 1
    assert _ids(logs) == sorted(f"web-1-{i}" for i in range(210))


def test_replicas_merge_only_their_own_files(tmp_path):
    logs = tmp_path / "logs"
    with (
        LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as one,
        LogWriter(str(logs), writer_id="web-1x", flush_ms=10**9) as other,
    ):
        for k in range(12):  # interleaved, as two replicas publish
            _publish(one, "web-1", 1, first=k)
            _publish(other, "web-1x", 1, first=k)
    merged = sorted(_folder(logs).glob("compacted-*.parquet"))
    assert [p.name.split(".")[0] for p in merged] == ["compacted-web-1", "compacted-web-1x"]
    for path in merged:  # "web-1" is a prefix of "web-1x": names are compared whole
        owner = path.name.removeprefix("compacted-").split(".")[0]
        assert all(n.rpartition("-")[0] == owner for n in _replaced(path)), _replaced(path)
    assert len(_ids(logs)) == 2 * 12 * 3 == len(set(_ids(logs)))


def test_a_partition_being_compacted_is_not_merged_until_the_lock_is_free(tmp_path):
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", 1)
        fd = os.open(_folder(logs) / LOCK_NAME, os.O_RDWR)
        fcntl.flock(fd, fcntl.LOCK_EX)  # as `modelward logs compact` holds it
        try:
            _publish(writer, "web-1", MERGE_FANOUT + 1, first=1)
            assert len(list(_folder(logs).glob("*.parquet"))) == MERGE_FANOUT + 2
        finally:
            os.close(fd)
        _publish(writer, "web-1", 1, first=MERGE_FANOUT + 2)
    files = list(_folder(logs).glob("*.parquet"))
    assert len(files) < MERGE_FANOUT, files
    assert _ids(logs) == sorted(f"web-1-{i}" for i in range(3 * (MERGE_FANOUT + 3)))


def test_an_interrupted_merge_shows_each_row_once_and_is_finished_next_time(tmp_path):
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", MERGE_FANOUT - 1)
        keep = tmp_path / "kept"
        shutil.copytree(_folder(logs), keep)
        _publish(writer, "web-1", 1, first=MERGE_FANOUT - 1)
        for path in keep.glob("*.parquet"):  # as if it stopped before deleting them
            shutil.copy(path, _folder(logs) / path.name)
        assert len(list(_folder(logs).glob("*.parquet"))) == MERGE_FANOUT
        assert _ids(logs) == sorted(f"web-1-{i}" for i in range(3 * MERGE_FANOUT))
        assert merge_own(_folder(logs), "web-1") == []
    assert [p.name for p in _folder(logs).glob("*.parquet")][0].startswith("compacted-web-1.t1.")
    assert len(list(_folder(logs).glob("*.parquet"))) == 1


def test_compaction_of_the_closed_day_folds_the_merged_files_in(tmp_path):
    logs = tmp_path / "logs"
    yesterday = TODAY - timedelta(days=1)
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", MERGE_FANOUT + 3, day=yesterday)
    assert len(list(_folder(logs, yesterday).glob("*.parquet"))) == 4
    done = compact(str(logs))
    assert [d.files for d in done if d.kind == "predictions"] == [4]
    assert len(list(_folder(logs, yesterday).glob("*.parquet"))) == 1
    assert _ids(logs) == sorted(f"web-1-{i}" for i in range(3 * (MERGE_FANOUT + 3)))


def test_a_segment_merged_away_between_two_listings_makes_the_reader_list_again(tmp_path):
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", MERGE_FANOUT)
    log = LogFiles(str(logs))
    with pytest.raises(LogChanged, match="replaced files listed a moment ago"):
        _published_since(log, [], "web-1-000003", "predictions", "heart", None, None)


def test_a_broken_file_of_the_writer_never_stops_publishing(tmp_path, caplog):
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", 1)
        (_folder(logs) / "web-1-000900.parquet").write_bytes(b"PAR1 not a footer")  # torn
        _publish(writer, "web-1", 2 * MERGE_FANOUT, first=1)
    assert (_folder(logs) / "web-1-000900.parquet").exists()  # left where it is
    assert len(list(_folder(logs).glob("*.parquet"))) < MERGE_FANOUT + 1
    good = [p for p in _folder(logs).glob("*.parquet") if p.name != "web-1-000900.parquet"]
    assert sum(pq.read_metadata(p).num_rows for p in good) == 3 * (2 * MERGE_FANOUT + 1)


def test_a_file_torn_inside_is_warned_of_once_while_publishing_goes_on(tmp_path, caplog):
    """Its footer reads, its rows do not: every publishing's merge fails on it, and the
    server's log says so once, not once a publishing."""
    caplog.set_level(logging.DEBUG, logger="modelward.predlog")
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", 1)
        (first,) = _folder(logs).glob("*.parquet")
        tear_pages(first)
        assert pq.read_metadata(first).num_rows == 3  # the footer still reads
        _publish(writer, "web-1", 3 * MERGE_FANOUT, first=1)
    said = [r for r in caplog.records if "cannot merge the log files" in r.getMessage()]
    assert len(said) > 1 and [r.levelname for r in said].count("WARNING") == 1, said
    assert f"cannot read the log file {first} (" in said[0].getMessage()  # which one
    others = [p for p in _folder(logs).glob("*.parquet") if p != first]
    assert sum(pq.read_metadata(p).num_rows for p in others) == 3 * 3 * MERGE_FANOUT


def test_a_link_in_place_of_the_lock_is_refused_with_one_line(tmp_path):
    logs = tmp_path / "logs"
    yesterday = TODAY - timedelta(days=1)
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", 2, day=yesterday)
    target = tmp_path / "elsewhere"
    (_folder(logs, yesterday) / LOCK_NAME).unlink()
    (_folder(logs, yesterday) / LOCK_NAME).symlink_to(target)
    with pytest.raises(StorageError, match="cannot lock the log partition") as caught:
        compact(str(logs))
    assert "\n" not in caught.value.message and not target.exists()
    assert len(list(_folder(logs, yesterday).glob("*.parquet"))) == 2  # nothing changed
