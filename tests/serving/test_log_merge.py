"""The writer's rolling merge: a day's published files stay few while the server writes
them, each row read once, never beside a compaction, only the writer's own files."""

from __future__ import annotations

import fcntl
import json
import logging
import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import fsspec
import pyarrow.parquet as pq
import pytest

from modelward.errors import StorageError
from modelward.predlog import LogWriter, predictions
from modelward.predlog.compact import (
    LOCK_NAME,
    MERGE_FANOUT,
    MERGE_KEEP_S,
    compact,
    merge_own,
)
from modelward.predlog.files import LogChanged, LogFiles, live_files
from modelward.predlog.layout import COMPACTED_KEY
from modelward.predlog.reader import LogReader
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


def _live(folder: Path) -> list[Path]:
    """The files of ``folder`` a listing reads (not those a merge replaced and keeps)."""
    paths = sorted(str(p) for p in folder.glob("*.parquet"))
    return [Path(p) for p in live_files(None, paths)]


def _replaced(path: Path) -> list[str]:
    return json.loads(pq.read_schema(path).metadata[COMPACTED_KEY])


def test_a_day_of_segments_stays_a_few_files_each_row_read_once(tmp_path):
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", 70)
    files = [p.name for p in _live(_folder(logs))]
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
    files = _live(_folder(logs))
    assert len(files) < MERGE_FANOUT, files
    assert _ids(logs) == sorted(f"web-1-{i}" for i in range(3 * (MERGE_FANOUT + 3)))


def _age(folder: Path, seconds: float) -> None:
    """Make the merged files of ``folder`` ``seconds`` older, as if written back then."""
    for path in folder.glob("compacted-*.parquet"):
        when = path.stat().st_mtime - seconds
        os.utime(path, (when, when))


def test_the_files_a_merge_replaced_stay_a_while_then_go_each_row_read_once(tmp_path):
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", MERGE_FANOUT)
        on_disk = sorted(_folder(logs).glob("*.parquet"))
        assert len(on_disk) == MERGE_FANOUT + 1  # kept for a check that listed them
        assert [p.name[:19] for p in _live(_folder(logs))] == ["compacted-web-1.t1."]
        assert _ids(logs) == sorted(f"web-1-{i}" for i in range(3 * MERGE_FANOUT))
        _publish(writer, "web-1", 1, first=MERGE_FANOUT)  # within MERGE_KEEP_S: kept
        assert len(list(_folder(logs).glob("*.parquet"))) == MERGE_FANOUT + 2
        _age(_folder(logs), MERGE_KEEP_S + 1)
        _publish(writer, "web-1", 1, first=MERGE_FANOUT + 1)  # its merge deletes them
    assert sorted(_folder(logs).glob("*.parquet")) == _live(_folder(logs))
    assert len(_live(_folder(logs))) == 3
    assert _ids(logs) == sorted(f"web-1-{i}" for i in range(3 * (MERGE_FANOUT + 2)))


def test_an_interrupted_deletion_never_brings_a_replaced_file_back(tmp_path):
    """A merge of merged files (tier 2) replaced files that replaced others: the plain
    files go first, so a stop part way never leaves a file whose replacement is gone."""
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", MERGE_FANOUT**2)
    _age(_folder(logs), MERGE_KEEP_S + 1)
    removed: list[str] = []
    fs = fsspec.filesystem("file")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(fs), "rm", lambda self, path, *a, **k: removed.append(path))
        merge_own(_folder(logs), "web-1")
    names = [Path(n).name for n in removed]
    tiers = [int(n.split(".t")[1][0]) if n.startswith("compacted-") else 0 for n in names]
    assert len(removed) == MERGE_FANOUT**2 + MERGE_FANOUT, removed
    assert tiers == sorted(tiers) and tiers[-1] == 1, removed


def test_a_check_reads_the_files_it_listed_while_the_writer_merges_them(tmp_path):
    """The race a gateway's log ran into every few seconds: a check lists today's files,
    the writer's next publishing merges them, the check reads what it listed."""
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", MERGE_FANOUT - 1)
        reader = LogReader(str(logs))
        scan = reader.scan("heart")
        assert len(scan.files) == MERGE_FANOUT - 1
        _publish(writer, "web-1", 1, first=MERGE_FANOUT - 1)  # merges the listed files
        assert len(_live(_folder(logs))) == 1
        ((count,),) = reader.aggregate(scan, ["count(*)"])
        assert count == 3 * (MERGE_FANOUT - 1)
        ((count,),) = reader.aggregate(reader.scan("heart"), ["count(*)"])  # listed anew
        assert count == 3 * MERGE_FANOUT


def test_compaction_of_the_closed_day_folds_the_merged_files_in(tmp_path):
    logs = tmp_path / "logs"
    yesterday = TODAY - timedelta(days=1)
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", MERGE_FANOUT + 3, day=yesterday)
    assert len(_live(_folder(logs, yesterday))) == 4
    done = compact(str(logs))
    assert [d.files for d in done if d.kind == "predictions"] == [4]
    assert len(list(_folder(logs, yesterday).glob("*.parquet"))) == 1
    assert _ids(logs) == sorted(f"web-1-{i}" for i in range(3 * (MERGE_FANOUT + 3)))


def test_a_segment_published_and_merged_between_two_listings_is_read_once(tmp_path):
    """A reader lists the write-ahead segments, then the log's files; a segment published
    in between is looked for among the files: read from its own file while the merge
    keeps it, left out when the listing holds the merged file, and once its file is gone
    the reader lists again."""
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", MERGE_FANOUT)
    log = LogFiles(str(logs))
    args = ("predictions", "heart", None, None)
    (kept,) = _published_since(log, [], "web-1-000003", *args)
    assert kept.path.endswith("/web-1-000003.parquet")
    assert _published_since(log, log.files("predictions", "heart"), "web-1-000003", *args) == []
    (_folder(logs) / "web-1-000003.parquet").unlink()  # past MERGE_KEEP_S
    with pytest.raises(LogChanged, match="a merged file replaced web-1-000003.parquet"):
        _published_since(log, [], "web-1-000003", *args)


def test_a_broken_file_of_the_writer_never_stops_publishing(tmp_path, caplog):
    logs = tmp_path / "logs"
    with LogWriter(str(logs), writer_id="web-1", flush_ms=10**9) as writer:
        _publish(writer, "web-1", 1)
        (_folder(logs) / "web-1-000900.parquet").write_bytes(b"PAR1 not a footer")  # torn
        _publish(writer, "web-1", 2 * MERGE_FANOUT, first=1)
    assert (_folder(logs) / "web-1-000900.parquet").exists()  # left where it is
    assert len(_live(_folder(logs))) < MERGE_FANOUT + 1
    good = [p for p in _live(_folder(logs)) if p.name != "web-1-000900.parquet"]
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
    others = [p for p in _live(_folder(logs)) if p != first]
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
