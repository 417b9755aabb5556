"""Backups carry the prediction log and feedback (a restored workspace keeps its monitoring
history), checksummed like the rest, consistent while a server writes."""

from __future__ import annotations

import io
import json
import tarfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from modelward import Workspace
from modelward.backup import create_backup, restore_backup, verify_backup
from modelward.errors import ArtifactError
from modelward.predlog import LogWriter, feedback, predictions

START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)
TYPES = {"in_age": "int64", "in_chol": "float64"}


def _row(i: int) -> dict:
    return {
        "request_id": f"r{i}", "ts": START + timedelta(minutes=i), "version": 1,
        "environment": "production", "status": "ok", "latency_ms": 3.0 + i,
        "prediction": str(i % 2), "score": 0.25 + i / 100, "in_age": 40 + i, "in_chol": 200.5,
    }  # fmt: skip


def _log(ws: Workspace, rows: range, labels: range) -> None:
    with LogWriter(ws.logs_url, wal_dir=ws.root / "wal") as writer:
        writer.log_predictions("heart", [_row(i) for i in rows], TYPES)
        for i in labels:
            writer.log_feedback("heart", f"r{i}", str(i % 2), ts=START + timedelta(hours=1))


def _history(logs: str) -> tuple[list, list]:
    """What monitoring reads: every prediction and the latest label per request."""
    rows = predictions(logs, "heart").order("request_id").fetchall()
    labels = feedback(logs, "heart").order("request_id").fetchall()
    return rows, labels


def _restore(archive: Path, tmp_path: Path, cli) -> Workspace:
    target = tmp_path / "restored"
    url = f"sqlite:///{target}/m.db"
    ran = cli("restore", archive, "--workspace", target, "--db-url", url)
    assert ran.exit_code == 0, ran.stderr
    return Workspace.open(target, db_url=url)


def _backed_up(populated, tmp_path, cli):
    """30 predictions and 10 labels logged, then `modelward backup`: the archive and the
    monitoring history it was taken from."""
    _log(populated, range(30), range(0, 30, 3))
    before = _history(populated.logs_url)
    assert len(before[0]) == 30 and len(before[1]) == 10
    out = tmp_path / "b.tar.gz"
    ran = cli("backup", "--out", out, "--json")
    assert ran.exit_code == 0, ran.stderr
    assert ran.json["logs"] is True and ran.json["log_files"] == 2
    return out, before


def test_a_restored_workspace_keeps_its_monitoring_history(populated, tmp_path, cli):
    out, before = _backed_up(populated, tmp_path, cli)
    manifest = json.loads(_member(out, "manifest.json"))
    logged = [n for n in manifest["files"] if n.startswith("logs/")]
    assert sorted(n.split("/")[1] for n in logged) == ["feedback", "predictions"]
    assert all(len(manifest["files"][n]["sha256"]) == 64 for n in logged)
    assert cli("backup-verify", out).exit_code == 0
    with _restore(out, tmp_path, cli) as restored:
        assert _history(restored.logs_url) == before


def test_no_logs_leaves_them_out(populated, tmp_path, cli):
    _log(populated, range(5), range(2))
    out = tmp_path / "b.tar.gz"
    ran = cli("backup", "--out", out, "--no-logs")
    assert ran.exit_code == 0 and "prediction log is not included" in ran.stdout
    with tarfile.open(out, "r:gz") as tar:
        assert not [n for n in tar.getnames() if n.startswith("logs/")]
    with _restore(out, tmp_path, cli) as restored:
        assert not list(Path(restored.logs_url).rglob("*.parquet"))


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive, "r:gz") as tar:
        return tar.extractfile(name).read()


def _rewrite(source: Path, target: Path, edit) -> None:
    with tarfile.open(source, "r:gz") as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar]
    with tarfile.open(target, "w:gz") as tar:
        for name, data in members:
            data = edit(name, data)
            if data is not None:
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))


def test_a_tampered_or_missing_log_file_is_named_and_nothing_restored(populated, tmp_path):
    _log(populated, range(5), range(2))
    out = tmp_path / "b.tar.gz"
    create_backup(populated, out)
    name = next(n for n in json.loads(_member(out, "manifest.json"))["files"] if "predic" in n)

    def flip(member: str, data: bytes) -> bytes:
        return data[:100] + bytes([data[100] ^ 1]) + data[101:] if member == name else data

    tampered = tmp_path / "tampered.tar.gz"
    _rewrite(out, tampered, flip)
    with pytest.raises(ArtifactError, match=f"{name} in backup .* is corrupted"):
        verify_backup(tampered)
    lacking = tmp_path / "lacking.tar.gz"
    _rewrite(out, lacking, lambda member, data: None if member == name else data)
    with pytest.raises(ArtifactError, match=f"lacks {name}"):
        restore_backup(lacking, tmp_path / "r")
    assert not (tmp_path / "r").exists()


def test_a_log_member_modelward_never_writes_is_refused(populated, tmp_path):
    out = tmp_path / "b.tar.gz"
    create_backup(populated, out)

    def add(member: str, data: bytes) -> bytes:
        if member != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest["files"]["logs/predictions/evil.sh"] = {"sha256": "0" * 64, "size": 0}
        return json.dumps(manifest).encode()

    listed = tmp_path / "listed.tar.gz"
    _rewrite(out, listed, add)
    with tarfile.open(listed, "r:gz") as tar:
        members = [(m.name, tar.extractfile(m).read()) for m in tar]
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(evil, "w:gz") as tar:
        for member, data in [*members, ("logs/predictions/evil.sh", b"")]:
            info = tarfile.TarInfo(member)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    with pytest.raises(ArtifactError, match="'logs/predictions/evil.sh', which is not a log file"):
        restore_backup(evil, tmp_path / "r")


def test_rows_a_live_server_acknowledged_are_backed_up_once(populated, tmp_path, cli):
    """A server's write-ahead segment holds rows not yet in Parquet (kept), and one that was
    converted while the backup copied it holds rows Parquet has too (kept once)."""
    wal = populated.root / "wal"
    _log(populated, range(10), range(0))  # rows 0-9: Parquet
    converted = LogWriter(populated.logs_url, wal_dir=wal, flush_rows=10**6, flush_ms=10**8)
    converted.start()
    converted.log_predictions("heart", [_row(i) for i in range(10, 20)], TYPES)
    segment = converted._segment.path
    copied = segment.read_bytes()  # the backup copies the segment ...
    converted.close()  # ... the server converts it to Parquet and deletes it
    assert not segment.exists()
    live = LogWriter(populated.logs_url, wal_dir=wal, flush_rows=10**6, flush_ms=10**8)
    live.start()  # a running server: rows 20-24 acknowledged, still only in its segment
    segment.write_bytes(copied)  # the segment as the backup copied it
    live.log_predictions("heart", [_row(i) for i in range(20, 25)], TYPES)
    live.log_feedback("heart", "r21", "1", ts=START + timedelta(hours=2))
    try:
        out = tmp_path / "b.tar.gz"
        assert cli("backup", "--out", out).exit_code == 0
    finally:
        live._stop.set()  # leave its segment behind, as a killed server would
    with _restore(out, tmp_path, cli) as restored:
        rows, labels = _history(restored.logs_url)
    assert sorted(int(r[0][1:]) for r in rows) == list(range(25))  # each row once
    assert [(r[1], r[3]) for r in labels] == [("r21", "1")]


@pytest.fixture
def logs_in_s3(s3, monkeypatch):
    """The workspace's log in the test's bucket (set before the workspace opens)."""
    monkeypatch.setenv("MODELWARD_LOGS", f"s3://{s3.bucket}/logs")
    return s3


def test_a_log_in_s3_is_backed_up_and_restored(logs_in_s3, populated, tmp_path, cli, monkeypatch):
    """On moto's S3 server over HTTP: the backup reads the log from the bucket; restored
    into a workspace of local folders, monitoring reads the same history."""
    assert populated.logs_url.startswith("s3://")
    out, before = _backed_up(populated, tmp_path, cli)
    monkeypatch.delenv("MODELWARD_LOGS")  # restored next to it, with the log in its folder
    with _restore(out, tmp_path, cli) as restored:
        assert not restored.logs_url.startswith("s3://")
        assert _history(restored.logs_url) == before
