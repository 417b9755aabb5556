"""`modelward logs compact`: a closed day's many small files become one, rows unchanged."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from modelward.predlog import LogWriter, feedback, predictions
from modelward.predlog.compact import compact
from serving.conftest import tear_pages

pytestmark = pytest.mark.sqlite_only

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


def _rows(day: datetime, n: int, start: int = 0, feature: str = "in_age") -> list[dict]:
    return [
        {
            "request_id": f"r{day:%d}-{start + i}",
            "ts": day + timedelta(seconds=start + i),
            "version": 1,
            "status": "ok",
            "prediction": str(i % 2),
            "score": i / n,
            feature: 40 + i,
        }
        for i in range(n)
    ]


def _files(logs: Path, kind: str = "predictions") -> dict[str, int]:
    """date -> number of Parquet files of model heart."""
    out: dict[str, int] = {}
    for path in logs.glob(f"{kind}/model=heart/date=*/*.parquet"):
        day = path.parent.name.removeprefix("date=")
        out[day] = out.get(day, 0) + 1
    return out


def _log(logs: Path) -> list[tuple]:
    frame = predictions(str(logs)).df().drop(columns=["date"])
    frame = frame.sort_values("request_id").reset_index(drop=True)
    return [tuple(map(str, row)) for row in frame.itertuples(index=False)]


@pytest.fixture
def small_files(tmp_path: Path) -> Path:
    """Two closed days and today, each written in flushes of 5 rows (many files), with
    feedback; yesterday's later files carry a second feature, as after a new version."""
    logs = tmp_path / "logs"
    yesterday, before = TODAY - timedelta(days=1), TODAY - timedelta(days=2)
    with LogWriter(str(logs), flush_rows=5, flush_ms=10_000) as writer:
        for day in (before, yesterday, TODAY):
            for start in range(0, 30, 5):
                writer.log_predictions("heart", _rows(day, 5, start), {"in_age": "int64"})
                writer.flush()
        # a new version also logs in_chol (a float); yesterday stays at 7 files, below the
        # writer's rolling merge (MERGE_FANOUT): compaction has them all to do
        rows = _rows(yesterday, 10, 100, feature="in_chol")
        writer.log_predictions("heart", rows, {"in_chol": "float64"})
        writer.flush()
        for i in range(12):
            writer.log_feedback("heart", f"r{yesterday:%d}-{i}", str(i % 2), ts=yesterday)
            if i % 4 == 3:
                writer.flush()
    return logs


def test_closed_days_become_one_file_with_the_same_rows(small_files):
    logs = small_files
    before, labels = _log(logs), feedback(str(logs)).count("*").fetchall()
    days = _files(logs)
    assert len(days) == 3 and all(n > 1 for n in days.values())

    done = compact(str(logs))

    after = _files(logs)
    today = f"{TODAY:%Y-%m-%d}"
    assert after[today] == days[today]  # the server may still write today's partition
    assert all(n == 1 for day, n in after.items() if day != today)
    assert _log(logs) == before  # every row, every column, the new feature included
    assert feedback(str(logs)).count("*").fetchall() == labels
    assert {(c.kind, c.files) for c in done} >= {("feedback", 3)}
    assert compact(str(logs)) == []  # nothing left to do


def test_a_request_logged_by_two_replicas_is_kept_once(tmp_path):
    """A replica killed after logging a request and before answering it: the balancer sent
    the request to another replica, which logged it too, and the killed one's restart
    replayed its row. Compaction keeps the first row of each request id; labels stay."""
    logs = tmp_path / "logs"
    yesterday = TODAY - timedelta(days=1)
    rows = _rows(yesterday, 10)
    for replica, part in (("a", rows[:6]), ("b", rows[4:])):  # r-4 and r-5 on both
        with LogWriter(str(logs), writer_id=replica, flush_rows=3, flush_ms=10_000) as writer:
            writer.log_predictions("heart", part, {"in_age": "int64"})
            if replica == "b":
                for row in rows[3:6]:
                    writer.log_feedback("heart", row["request_id"], "1", ts=yesterday)
                writer.log_feedback("heart", rows[4]["request_id"], "0", ts=yesterday)
    assert predictions(str(logs)).count("*").fetchall() == [(12,)]

    (done,) = [c for c in compact(str(logs)) if c.kind == "predictions"]
    assert (done.rows, done.duplicates) == (10, 2)
    ids = [r[0] for r in predictions(str(logs)).order("ts").select("request_id").fetchall()]
    assert ids == [row["request_id"] for row in rows]
    labels = pq.read_table(logs / "feedback", partitioning="hive")
    assert labels.num_rows == 4  # each label row stays: the latest is the correction


def test_an_interrupted_compaction_is_finished_by_the_next_run(small_files, tmp_path):
    """A run that stopped after publishing the compacted file and before deleting the files
    it replaced: readers already skip those files (the compacted file names them), and the
    next run deletes them."""
    logs = small_files
    before = _log(logs)
    yesterday = next(
        logs.glob(f"predictions/model=heart/date={TODAY - timedelta(days=1):%Y-%m-%d}")
    )
    saved = tmp_path / "saved"
    shutil.copytree(yesterday, saved)
    compact(str(logs))
    # as if the run had stopped after publishing the new file, before deleting the old
    for path in saved.glob("*.parquet"):
        shutil.copy(path, yesterday / path.name)
    assert len(list(yesterday.glob("*.parquet"))) > 1
    assert _log(logs) == before  # each row once: readers skip the replaced files
    from modelward.predlog.files import LogFiles

    listed = LogFiles(str(logs)).files("predictions", "heart")
    names = [f.path.rsplit("/", 1)[-1] for f in listed if f"/{yesterday.name}/" in f.path]
    assert len(names) == 1 and names[0].startswith("compacted-")  # the monitors' reader too
    left = sorted(yesterday.iterdir())
    assert compact(str(logs), dry_run=True) == [] and sorted(yesterday.iterdir()) == left
    compact(str(logs))
    assert _log(logs) == before
    assert len(list(yesterday.glob("*.parquet"))) == 1


def _yesterday_in_files(logs: Path, files: int) -> list[Path]:
    """Yesterday's predictions written as ``files`` files of 5 rows; their paths."""
    with LogWriter(str(logs), flush_rows=5) as writer:
        for start in range(0, 5 * files, 5):
            writer.log_predictions("heart", _rows(TODAY - timedelta(days=1), 5, start))
            writer.flush()
    return sorted(logs.rglob("*.parquet"))


def test_dry_run_and_json_through_the_cli(workspace, cli):
    logs = Path(workspace.logs_url)
    files = _yesterday_in_files(logs, 4)
    planned = cli("logs", "compact", "--dry-run", "--json")
    assert planned.exit_code == 0, planned.stdout
    assert planned.json["dry_run"] and planned.json["partitions"][0]["files"] == 4
    assert planned.json["partitions"][0]["rows"] == 20
    assert sorted(logs.rglob("*.parquet")) == files  # nothing changed

    ran = cli("logs", "compact", "--json")
    assert ran.exit_code == 0 and ran.json["partitions"][0]["output"].startswith("compacted-")
    assert len(list(logs.rglob("*.parquet"))) == 1
    stored = workspace.registry.list_runs(kinds=["log-compaction"])
    assert stored and stored[0].results["partitions"][0]["rows"] == 20


def test_a_torn_file_is_named_and_nothing_changes(workspace, cli):
    logs = Path(workspace.logs_url)
    files = _yesterday_in_files(logs, 3)
    tear_pages(files[1])
    before = {p: p.read_bytes() for p in files}
    ran = cli("logs", "compact")
    said = (ran.stdout + ran.stderr).strip()
    assert ran.exit_code == 3 and len(said.splitlines()) == 1, said
    assert f"cannot read the log file {files[1]} (" in said and "move it out" in said
    assert {p: p.read_bytes() for p in logs.rglob("*parquet*")} == before  # no .tmp either


def test_a_check_reading_a_torn_file_names_it(heart_ws, cli):
    files = _yesterday_in_files(Path(heart_ws.logs_url), 3)
    tear_pages(files[1])
    ran = cli("monitor", "predictions", "heart", "--last", "3d", "--all-envs")
    said = (ran.stdout + ran.stderr).strip()
    assert ran.exit_code == 2 and len(said.splitlines()) == 1, said
    assert f"its file {files[1]} is torn" in said and "move it out of the log" in said


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["--before", "yesterday"], "is not a date; write it as YYYY-MM-DD"),
        (["--before", "2999-01-01"], "is in the future; only closed days"),
        (["--since", "last week"], "--since 'last week' is not a date"),
        (["--model", "nope"], "nope"),
    ],
)
def test_bad_flags_exit_2_and_change_nothing(workspace, cli, args, text):
    logs = Path(workspace.logs_url)
    files = _yesterday_in_files(logs, 2)
    ran = cli("logs", "compact", *args)
    said = (ran.stdout + ran.stderr).strip()
    assert ran.exit_code == 2 and text in said and len(said.splitlines()) == 1
    assert sorted(logs.rglob("*.parquet")) == files
