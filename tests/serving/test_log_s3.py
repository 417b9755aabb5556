"""The prediction log in S3-compatible object storage (``MODELWARD_LOGS=s3://bucket/logs``),
on a real S3-protocol server: moto's standalone server on 127.0.0.1, reached over HTTP by
s3fs through ``AWS_ENDPOINT_URL`` (as a MinIO user points the AWS clients at MinIO).

A real ``modelward serve`` process publishes its write-ahead segments as Parquet into the
bucket; the monitoring checks and ``logs compact`` read the log there through fsspec
(DuckDB given s3fs as a filesystem: no httpfs extension, no internet), and a daily check
lists only its window's date partitions, however many older days the log holds: the test
counts the listings the S3 server receives. The S3 server stopped for 20 s under traffic:
the server keeps answering, every acknowledged request id reaches the bucket once; the
write-ahead folder's bound warns before it refuses. A command that cannot reach S3, or is
given a URL S3 would refuse, fails in one line (exit 3, exit 2), printing no credential."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from conftest import FEATURES
from modelward.predlog import LogWriter

from .conftest import logged_ids, send_predictions, set_policy, wait_for

TODAY = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)


@pytest.fixture
def db_url(tmp_path) -> str:
    """SQLite: these tests are about object storage, not the metadata DB."""
    return f"sqlite:///{tmp_path / 'ws' / 'modelward.db'}"


@pytest.fixture
def in_s3(s3, monkeypatch):
    """Artifacts and the log in the test's bucket (set before the workspace opens)."""
    monkeypatch.setenv("MODELWARD_ARTIFACTS", f"s3://{s3.bucket}/artifacts")
    monkeypatch.setenv("MODELWARD_LOGS", f"s3://{s3.bucket}/logs")
    return s3


def _keys(s3, prefix: str) -> list[str]:
    pages = s3.client().get_paginator("list_objects_v2").paginate(Bucket=s3.bucket, Prefix=prefix)
    return [item["Key"] for page in pages for item in page.get("Contents", [])]


def _old_rows(day: datetime, n: int) -> list[dict]:
    return [
        {
            "request_id": f"old-{day:%Y%m%d}-{i}",
            "ts": day + timedelta(minutes=i),
            "version": 1,
            "environment": "production",
            "status": "ok",
            "prediction": str(i % 2),
            "score": 0.5,
            "latency_ms": 1.0,
            "in_age": 50 + i,
        }
        for i in range(n)
    ]


def test_served_rows_reach_s3_and_the_checks_read_them_there(
    in_s3, deployed, start_server, cleveland, fitted, cli
):
    logs = f"s3://{in_s3.bucket}/logs"
    assert deployed.logs_url == logs
    set_policy(deployed, "serving", "flush_ms", 300)
    server = start_server()
    ids = send_predictions(server.url, cleveland, 40)
    truth = cleveland["target"].iloc[:30].tolist()
    labels = [{"request_id": rid, "label": int(y)} for rid, y in zip(ids, truth, strict=False)]
    assert httpx.post(server.url + "/v1/feedback", json=labels, timeout=30).status_code in (
        200,
        202,
    )
    wait_for(lambda: len(logged_ids(logs)) >= 40, what="the served rows reached S3")
    server.stop()
    assert sorted(logged_ids(logs)) == sorted(ids)  # each acknowledged request once
    keys = _keys(in_s3, "logs/predictions/model=heart/")
    layout = re.compile(r"logs/predictions/model=heart/date=\d{4}-\d{2}-\d{2}/[^/]+\.parquet")
    assert keys and all(layout.fullmatch(k) for k in keys), keys
    assert not list((deployed.root / "logs").rglob("*.parquet"))  # nothing published locally

    found = cli("monitor", "predictions", "heart", "--json")
    assert found.exit_code == 0, found.stderr
    assert found.json["results"]["predictions"] == 40
    metrics = cli("monitor", "metrics", "heart", "--json")
    assert metrics.exit_code in (0, 1), metrics.stderr  # 1: a threshold missed on 30 labels
    v1 = metrics.json["results"]["versions"]["v1"]
    expected = (fitted.predict(cleveland[FEATURES].fillna(0).iloc[:30]) == truth).mean()
    assert v1["labelled"] == 30
    assert v1["metrics"]["accuracy"]["value"] == pytest.approx(expected)
    drift = cli("monitor", "drift", "heart", "--json")
    assert drift.exit_code == 0, drift.stderr
    assert drift.json["results"]["rows"] == 40


def _day_of(prefix: str) -> str | None:
    """The date a listing's prefix is inside of (``…/date=YYYY-MM-DD/``), if any."""
    return prefix.split("date=", 1)[1][:10] if "date=" in prefix else None


def _days(since: int, until: int = 0) -> set[str]:
    """The dates from ``since`` days ago to ``until`` days ago."""
    return {(TODAY - timedelta(days=d)).date().isoformat() for d in range(until, since + 1)}


def test_daily_work_lists_only_its_days_and_compaction_works_in_s3(in_s3, deployed, cli):
    """Two months of log: a daily check lists and opens only its window's days (and the day
    before), the daily runbook no more than the last two weeks, and ``logs compact
    --since`` only the days it is given."""
    from modelward.monitoring.runbook import COMPACT_DAYS

    logs = f"s3://{in_s3.bucket}/logs"
    old_days = [TODAY - timedelta(days=d) for d in range(3, 63)]  # two months before
    yesterday = TODAY - timedelta(days=1)
    with LogWriter(logs, flush_ms=600_000) as writer:
        for day in old_days:
            writer.log_predictions("heart", _old_rows(day, 3), {"in_age": "int64"})
        writer.flush()
        for start in range(0, 20, 5):  # yesterday in four files
            rows = _old_rows(yesterday, 20)[start : start + 5]
            writer.log_predictions("heart", rows, {"in_age": "int64"})
            writer.flush()
    assert len(_keys(in_s3, "logs/predictions/model=heart/date=")) == 60 + 4
    until = TODAY.isoformat()

    def visited(command: tuple[str, ...]) -> tuple[Any, set[str], set[str], int]:
        """Run ``command``: its result, the days it listed and opened files of, listings."""
        before = len(in_s3.requests())
        ran = cli(*command)
        assert ran.exit_code in (0, 1), ran.stderr  # 1: a check failed on these made-up rows
        listed = [_day_of(prefix) for prefix in in_s3.listings(before)]
        opened = {_day_of(p) for m, p, _ in in_s3.requests()[before:] if m in ("GET", "HEAD")}
        return ran, {d for d in listed if d}, opened - {None}, len(listed)

    ran, listed, opened, listings = visited(
        ("monitor", "predictions", "heart", "--last", "24h", "--until", until, "--json")
    )
    assert ran.json["results"]["predictions"] == 20  # yesterday's rows, all of them
    assert listed <= _days(2) and opened <= _days(2), (listed, opened)  # no older day
    assert listings <= 10  # a listing per kind and model, and one per day of the window

    since = str((TODAY - timedelta(days=5)).date())
    ran, listed, opened, _ = visited(("logs", "compact", "--since", since, "--json"))
    assert ran.exit_code == 0
    assert listed == _days(5, 1) - _days(2, 2)  # the days it was given (none 2 days ago)
    compacted = [(p["kind"], p["date"], p["files"]) for p in ran.json["partitions"]]
    assert compacted == [
        ("predictions", yesterday.date().isoformat(), 4)
    ]  # the only day of several files
    kept = _keys(in_s3, f"logs/predictions/model=heart/date={yesterday:%Y-%m-%d}/")
    assert len(kept) == 1 and kept[0].rsplit("/", 1)[1].startswith("compacted-")

    _, listed, opened, _ = visited(
        ("runbook", "daily", "heart", "--until", until, "--no-plots", "--json")
    )
    # its compaction's week, and the checks' windows (a week back, one day at a time, for
    # the report's daily figures): at most two weeks, never the two months of history
    assert listed <= _days(2 * COMPACT_DAYS) and opened <= _days(2 * COMPACT_DAYS)
    assert not listed & {str(day.date()) for day in old_days[2 * COMPACT_DAYS :]}

    full = cli("logs", "compact", "--dry-run", "--json")  # all days: nothing left to do
    assert full.exit_code == 0 and full.json["partitions"] == []
    again = cli("monitor", "predictions", "heart", "--last", "24h", "--until", until, "--json")
    assert again.json["results"]["predictions"] == 20  # the same rows, each once
    assert len(logged_ids(logs)) == 60 * 3 + 20


class Traffic:
    """Predictions sent one after another from a thread until ``stop()``: the request id
    of every answer 200 (acknowledged), and the status of every answer."""

    def __init__(self, url: str, cleveland) -> None:
        import threading

        self.rows = cleveland[FEATURES].fillna(0).to_dict(orient="records")
        self.url = url
        self.acknowledged: list[str] = []
        self.statuses: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        with httpx.Client(base_url=self.url, timeout=30) as http:
            n = 0
            while not self._stop.is_set():
                row = self.rows[n % len(self.rows)]
                reply = http.post("/v1/models/heart/predict", json={"inputs": row})
                self.statuses.append(reply.status_code)
                if reply.status_code == 200:
                    self.acknowledged.append(reply.json()["request_id"])
                n += 1
                time.sleep(0.01)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=60)


def _metric(url: str, name: str) -> float:
    text = httpx.get(url + "/metrics", timeout=10).text
    (line,) = [x for x in text.splitlines() if x.startswith(name + " ")]
    return float(line.split()[1])


def test_an_s3_outage_under_traffic_loses_and_duplicates_nothing(
    in_s3, deployed, start_server, cleveland
):
    logs = f"s3://{in_s3.bucket}/logs"
    set_policy(deployed, "serving", "flush_ms", 300)
    server = start_server()
    traffic = Traffic(server.url, cleveland)
    try:
        wait_for(lambda: len(logged_ids(logs)) >= 20, what="rows published before the outage")
        in_s3.stop()
        down_at = time.monotonic()
        during = len(traffic.acknowledged)
        while time.monotonic() - down_at < 20:  # storage down for 20 s, under traffic
            ready = httpx.get(server.url + "/readyz", timeout=10)
            assert ready.status_code == 200, ready.text  # still answering, still ready
            time.sleep(1)
        assert len(traffic.acknowledged) - during > 100  # answered all along
        assert list((deployed.root / "wal").glob("*.wal"))  # the rows wait there
        assert _metric(server.url, "modelward_log_queue_rows") > 0
        assert _metric(server.url, "modelward_log_wal_bytes") > 0
        in_s3.start()
        time.sleep(2)  # traffic goes on while storage returns
    finally:
        traffic.stop()
        if not _listening(in_s3.port):
            in_s3.start()
    acknowledged = traffic.acknowledged
    assert set(traffic.statuses) == {200}  # no request refused during the outage
    wait_for(
        lambda: len(logged_ids(logs)) >= len(acknowledged),
        timeout=120,
        what="the rows kept during the outage reached S3",
    )
    logged = logged_ids(logs)
    assert sorted(logged) == sorted(acknowledged)  # every acknowledged id, exactly once
    wait_for(lambda: _metric(server.url, "modelward_log_queue_rows") == 0, what="queue empty")
    assert "cannot publish the prediction log" in server.output()  # the outage was logged
    assert "the prediction log is published again" in server.output()


def _listening(port: int) -> bool:
    import socket

    try:
        socket.create_connection(("127.0.0.1", port), timeout=1).close()
        return True
    except OSError:
        return False


def test_the_write_ahead_folder_is_bounded_with_a_warning_before_the_bound(
    in_s3, deployed, start_server, cleveland
):
    """S3 down, the folder grows: from 80 % of ``serving.wal_max_mb`` a warning (log line,
    /metrics, /readyz detail), at the bound 503 and not ready; storage back, everything
    acknowledged is published once and the server is ready again."""
    logs = f"s3://{in_s3.bucket}/logs"
    set_policy(deployed, "serving", "wal_max_mb", 1)
    set_policy(deployed, "serving", "flush_ms", 300)
    server = start_server()
    in_s3.stop()
    rows = cleveland[FEATURES].fillna(0).iloc[:50].to_dict(orient="records")
    acknowledged: list[str] = []
    refused = None
    warned = None
    try:
        with httpx.Client(base_url=server.url, timeout=30) as http:
            for _ in range(400):
                reply = http.post("/v1/models/heart/predict", json={"inputs": rows})
                if reply.status_code != 200:
                    refused = reply
                    break
                acknowledged += reply.json()["request_ids"]
                if warned is None:
                    detail = http.get("/readyz").json()["log"]
                    warned = detail["warning"]
                    if warned:
                        assert detail["wal_bytes"] >= 0.8 * detail["wal_max_bytes"]
            assert refused is not None and refused.status_code == 503, "never refused"
            assert "serving.wal_max_mb" in refused.text
            assert warned and "serving.wal_max_mb" in warned  # said before the bound
            limit = _metric(server.url, "modelward_log_wal_limit_bytes")
            assert limit == 2**20 and _metric(server.url, "modelward_log_wal_bytes") > 0.8 * limit
            ready = http.get("/readyz")
            assert ready.status_code == 503 and "serving.wal_max_mb" in ready.json()["reason"]
    finally:
        in_s3.start()
    wait_for(
        lambda: httpx.get(server.url + "/readyz", timeout=10).status_code == 200,
        timeout=120,
        what="ready again once storage took the rows",
    )
    wait_for(lambda: len(logged_ids(logs)) >= len(acknowledged), timeout=60, what="published")
    assert sorted(logged_ids(logs)) == sorted(acknowledged)  # the refused batch is not there
    output = server.output()
    assert "of its bound serving.wal_max_mb" in output  # the warning line
    assert "is at its bound serving.wal_max_mb" in output  # the refusal line


@pytest.fixture
def closed_port() -> int:
    import socket

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    sock.close()  # nothing listens there
    return port


def _unreachable(monkeypatch, port: int) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", f"http://127.0.0.1:{port}")
    _one_attempt(monkeypatch)


def _one_attempt(monkeypatch) -> None:
    """AWS's SDK tries a refused connection five times over ~10 s before giving up (a user
    sets AWS_MAX_ATTEMPTS as they like); these tests judge the error, not that schedule."""
    import s3fs

    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    s3fs.S3FileSystem.clear_instance_cache()


@pytest.mark.parametrize(
    ("command", "storage"),
    [
        (("monitor", "predictions", "heart"), "the prediction log at s3://{}/logs"),
        (("monitor", "drift", "heart", "--json"), "the prediction log at s3://{}/logs"),
        (("logs", "compact"), "the prediction log at s3://{}/logs"),
        (
            ("deploy", "heart", "--version", "1", "--env", "staging"),
            "the artifact store at s3://{}/artifacts",
        ),
    ],
)
def test_unreachable_s3_fails_a_command_in_one_line_naming_the_storage(
    in_s3, heart_ws, cli, monkeypatch, closed_port, command, storage
):
    from s3server import CREDENTIALS

    heart_ws.load_model("heart", 1)  # registered while the server answered
    _unreachable(monkeypatch, closed_port)
    ran = cli(*command)
    assert ran.exit_code == 3, (ran.stdout, ran.stderr)  # storage failed, not the input
    assert ran.stderr.count("\n") == 1 and "Traceback" not in ran.stderr, ran.stderr
    assert f"cannot reach {storage.format(in_s3.bucket)}" in ran.stderr
    assert f"AWS_ENDPOINT_URL (http://127.0.0.1:{closed_port})" in ran.stderr
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert CREDENTIALS[name] not in ran.stderr + ran.stdout
    assert heart_ws.deployments.list() == []


def test_storage_lost_between_listing_and_reading_is_a_storage_error(s3, monkeypatch):
    """DuckDB reads through the registered s3fs: what s3fs raises inside DuckDB is still
    said as the storage's failure (exit 3, 503), not as a malformed log."""
    from modelward.errors import StorageError
    from modelward.predlog import LogReader

    _one_attempt(monkeypatch)
    url = f"s3://{s3.bucket}/logs"
    with LogWriter(url) as writer:
        writer.log_predictions("heart", _old_rows(TODAY, 3), {"in_age": "int64"})
    reader = LogReader(url)
    scan = reader.scan("heart")  # listed while the server answers
    s3.stop()
    try:
        with pytest.raises(StorageError, match=f"cannot reach the prediction log at {url}"):
            reader.count(scan)
    finally:
        s3.start()
        reader.close()
    assert LogReader(url).count(reader.scan("heart")) == 3  # storage back: read again


@pytest.mark.parametrize(
    ("variable", "url", "command", "expected"),
    [
        ("MODELWARD_LOGS", "s3://Bad_Bucket!/logs", ("monitor", "predictions", "heart"),
         "'Bad_Bucket!' is not an S3 bucket name"),
        ("MODELWARD_LOGS", "s3:///logs", ("logs", "compact"), "names no bucket"),
        ("MODELWARD_LOGS", "s3://ab/logs", ("serve", "--port", "0"), "'ab' is not an S3 bucket"),
        ("MODELWARD_ARTIFACTS", "s3://my..bucket/a", ("deploy", "heart", "--version", "1",
         "--env", "staging"), "'my..bucket' is not an S3 bucket name"),
        ("MODELWARD_LOGS", "nope://x/logs", ("monitor", "drift", "heart"),
         "is not a folder or a URL modelward can use"),
    ],
)  # fmt: skip
def test_a_bad_storage_url_is_refused_in_one_line(
    in_s3, heart_ws, cli, monkeypatch, variable, url, command, expected
):
    before = _keys(in_s3, "")
    monkeypatch.setenv(variable, url)
    ran = cli(*command)
    assert ran.exit_code == 2, (ran.stdout, ran.stderr)
    assert ran.stderr.count("\n") == 1, ran.stderr
    assert expected in ran.stderr and variable in ran.stderr
    assert heart_ws.deployments.list() == [] and _keys(in_s3, "") == before  # nothing changed


def test_fsspecs_own_s3_settings_reach_the_store_too(s3, tmp_path):
    """Without the AWS variables: the endpoint and keys in fsspec's configuration
    (``FSSPEC_S3_ENDPOINT_URL``, ``FSSPEC_S3_KEY``, ``FSSPEC_S3_SECRET``), in a new process."""
    import os
    import subprocess
    import sys

    from conftest import ROOT
    from modelward import Workspace

    url = f"s3://{s3.bucket}/logs"
    with LogWriter(url) as writer:
        for day in (TODAY - timedelta(days=2), TODAY - timedelta(days=2, hours=-1)):
            writer.log_predictions("heart", _old_rows(day, 3), {"in_age": "int64"})
            writer.flush()
    Workspace.init(tmp_path / "ws").close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    env.update(
        PYTHONPATH=str(ROOT / "src"),
        MODELWARD_HOME=str(tmp_path / "ws"),
        MODELWARD_LOGS=url,
        FSSPEC_S3_ENDPOINT_URL=s3.endpoint,
        FSSPEC_S3_KEY=s3.env["AWS_ACCESS_KEY_ID"],
        FSSPEC_S3_SECRET=s3.env["AWS_SECRET_ACCESS_KEY"],
    )
    ran = subprocess.run(
        [sys.executable, "-m", "modelward.cli.main", "logs", "compact", "--dry-run", "--json"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert ran.returncode == 0, ran.stderr
    (partition,) = json.loads(ran.stdout)["partitions"]
    assert (partition["files"], partition["rows"]) == (2, 6)


def test_duckdb_reads_the_bucket_through_s3fs_and_never_loads_httpfs(s3):
    """The engine's connection reads ``s3://`` through the registered s3fs: DuckDB's own
    S3 support (the httpfs extension, downloaded on first use) is neither loaded nor
    allowed to be fetched, so a log in object storage reads without internet access."""
    from modelward.predlog import LogReader

    url = f"s3://{s3.bucket}/logs"
    with LogWriter(url) as writer:
        writer.log_predictions("heart", _old_rows(TODAY, 5), {"in_age": "int64"})
    reader = LogReader(url)
    try:
        assert reader.count(reader.scan("heart")) == 5
        con = reader.engine._shared()  # the connection the checks run on
        assert con.filesystem_is_registered("s3")
        settings = con.sql(
            "SELECT current_setting('autoinstall_known_extensions'), "
            "current_setting('autoload_known_extensions')"
        ).fetchall()
        assert settings == [(False, False)]
        loaded = con.sql("SELECT extension_name FROM duckdb_extensions() WHERE loaded").fetchall()
        assert ("httpfs",) not in loaded
    finally:
        reader.close()
