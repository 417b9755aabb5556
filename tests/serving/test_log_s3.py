"""The prediction log in S3-compatible object storage (``MODELWARD_LOGS=s3://bucket/logs``),
on a real S3-protocol server: moto's standalone server on 127.0.0.1, reached over HTTP by
s3fs through ``AWS_ENDPOINT_URL`` (as a MinIO user points the AWS clients at MinIO).

A real ``modelward serve`` process publishes its write-ahead segments as Parquet into the
bucket; the monitoring checks and ``logs compact`` read the log there through fsspec
(DuckDB given s3fs as a filesystem: no httpfs extension, no internet), and a daily check
lists only its window's date partitions, however many older days the log holds: the test
counts the listings the S3 server receives."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

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
    assert keys and all(
        k.startswith(f"logs/predictions/model=heart/date={TODAY:%Y-%m-%d}/") for k in keys
    )
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


def test_a_daily_check_lists_only_its_window_and_compaction_works_in_s3(in_s3, deployed, cli):
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

    before = len(in_s3.requests())
    ran = cli(
        "monitor", "predictions", "heart", "--last", "24h", "--until", TODAY.isoformat(), "--json"
    )
    assert ran.exit_code == 0, ran.stderr
    assert ran.json["results"]["predictions"] == 20  # yesterday's rows, all of them
    seen = in_s3.requests()[before:]
    window = {(TODAY - timedelta(days=d)).date().isoformat() for d in range(3)}
    listed = [_day_of(prefix) for prefix in in_s3.listings(before)]
    assert listed and {d for d in listed if d} <= window, listed  # no older day listed
    read = {_day_of(path) for method, path, _ in seen if method in ("GET", "HEAD")}
    assert read - {None} <= window  # no file of an older day opened
    assert len(listed) <= 10  # a listing per kind and model, and one per day of the window

    done = cli("logs", "compact", "--json")
    assert done.exit_code == 0, done.stderr
    compacted = {
        (p["date"], p["files"]) for p in done.json["partitions"] if p["kind"] == "predictions"
    }
    assert compacted == {(yesterday.date().isoformat(), 4)}  # the only day of several files
    kept = _keys(in_s3, f"logs/predictions/model=heart/date={yesterday:%Y-%m-%d}/")
    assert len(kept) == 1 and kept[0].rsplit("/", 1)[1].startswith("compacted-")
    again = cli(
        "monitor", "predictions", "heart", "--last", "24h", "--until", TODAY.isoformat(), "--json"
    )
    assert again.json["results"]["predictions"] == 20  # the same rows, each once
    assert len(logged_ids(logs)) == 60 * 3 + 20
