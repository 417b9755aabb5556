"""Backups: round trip on SQLite and PostgreSQL, and refusal of damaged archives."""

from __future__ import annotations

import io
import json
import tarfile
from pathlib import Path

import pytest

from modelward import Workspace
from modelward.backup import create_backup, restore_backup, verify_backup
from modelward.errors import AlreadyExists, ArtifactError, ConfigError


def _snapshot(ws: Workspace) -> dict:
    registry = ws.registry
    versions = [v.to_dict() for v in registry.list_versions("heart")]
    history = [e.to_dict() for e in registry.history("heart")]
    runs = [r.to_dict() for r in registry.list_runs() if r.kind not in ("backup", "restore")]
    blobs = {v["sha256"]: ws.artifacts.get(v["sha256"]) for v in versions}
    return {"versions": versions, "history": history, "runs": runs, "blobs": blobs}


def test_round_trip_keeps_registry_history_and_artifacts(populated, tmp_path, cli):
    before = _snapshot(populated)
    out = tmp_path / "b.tar.gz"
    ran = cli("backup", "--out", out, "--include-weights", "--include-config", "--json")
    assert ran.exit_code == 0, ran.stderr
    assert ran.json["artifacts"] == 3

    target = tmp_path / "restored"
    ran = cli("restore", out, "--workspace", target, "--db-url", f"sqlite:///{target}/m.db")
    assert ran.exit_code == 0, ran.stderr
    with Workspace.open(target, db_url=f"sqlite:///{target}/m.db") as restored:
        assert _snapshot(restored) == before
        assert restored.policy == populated.policy
        # New records get fresh ids after the restored ones (sequences moved on).
        version = restored.registry.record_event("heart", "note", reason="after restore")
        assert version.id > max(e["id"] for e in before["history"])
    assert populated.registry.list_runs(kinds=["backup"])[0].verdict == "pass"


def test_backup_restores_into_the_other_backend(populated, tmp_path, request):
    """SQLite -> PostgreSQL and PostgreSQL -> SQLite: the dump is logical, not a file copy."""
    if populated.db.dialect == "sqlite":
        url = request.getfixturevalue("pg_url")
    else:
        url = f"sqlite:///{tmp_path / 'other' / 'modelward.db'}"
    out = tmp_path / "b.tar.gz"
    create_backup(populated, out, include_weights=True)
    result = restore_backup(out, tmp_path / "other", db_url=url)
    assert result["missing_artifacts"] == []
    with Workspace.open(tmp_path / "other", db_url=url) as restored:
        assert _snapshot(restored) == _snapshot(populated)
        restored.registry.record_event("heart", "note")  # the id sequence was reset


def test_backup_without_weights_warns_on_restore(populated, tmp_path):
    out = tmp_path / "b.tar.gz"
    info = create_backup(populated, out)
    assert info.artifacts == 0
    result = restore_backup(out, tmp_path / "r", db_url=f"sqlite:///{tmp_path}/r/m.db")
    assert len(result["missing_artifacts"]) == 3


def _rewrite(source: Path, target: Path, change) -> None:
    with tarfile.open(source, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar]
    with tarfile.open(target, "w:gz") as tar:
        for member, data in members:
            data = change(member.name, data)
            if data is None:
                continue
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))


@pytest.fixture
def archive(populated, tmp_path) -> Path:
    out = tmp_path / "good.tar.gz"
    create_backup(populated, out, include_weights=True)
    return out


def test_tampered_file_is_named_and_nothing_restored(archive, tmp_path, cli):
    bad = tmp_path / "bad.tar.gz"
    _rewrite(archive, bad, lambda n, d: d.replace(b"tester", b"mallory") if "events" in n else d)
    ran = cli("restore", bad, "--workspace", tmp_path / "r")
    assert ran.exit_code == 2
    assert "db/events.jsonl in backup" in ran.stderr and "corrupted" in ran.stderr
    assert not (tmp_path / "r").exists()


def test_missing_and_extra_members_are_refused(archive, tmp_path):
    lacking = tmp_path / "lacking.tar.gz"
    _rewrite(archive, lacking, lambda n, d: None if n == "policy.yml" else d)
    with pytest.raises(ArtifactError, match="lacks policy.yml"):
        verify_backup(lacking)

    def manifest_drops(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        del manifest["files"]["db/runs.jsonl"]
        return json.dumps(manifest).encode()

    extra = tmp_path / "extra.tar.gz"
    _rewrite(archive, extra, manifest_drops)
    with pytest.raises(ArtifactError, match="holds db/runs.jsonl, which its manifest does not"):
        verify_backup(extra)


def test_truncated_archive_is_refused(archive, tmp_path, cli):
    cut = tmp_path / "cut.tar.gz"
    data = archive.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    ran = cli("backup-verify", cut)
    assert ran.exit_code == 2
    assert "cut.tar.gz is truncated" in ran.stderr
    ran = cli("backup-verify", archive, "--json")
    assert ran.exit_code == 0 and ran.json["files"] > 10


def test_restore_never_overwrites(archive, populated, tmp_path, cli):
    ran = cli("restore", archive, "--workspace", populated.root)
    assert ran.exit_code == 2 and "already exists" in ran.stderr
    busy = tmp_path / "busy"
    busy.mkdir()
    (busy / "notes.txt").write_text("mine")
    with pytest.raises(AlreadyExists, match="is not empty"):
        restore_backup(archive, busy)
    assert (busy / "notes.txt").read_text() == "mine"


def test_restore_refuses_a_database_that_holds_data(archive, populated, tmp_path):
    if populated.db.dialect != "postgresql":
        pytest.skip("a SQLite target DB lives inside the new folder")
    with pytest.raises(AlreadyExists, match="already holds data"):
        restore_backup(archive, tmp_path / "r", db_url=populated.db_url)
    assert not (tmp_path / "r").exists()


def test_backup_bad_out_paths(populated, tmp_path, cli):
    out = tmp_path / "b.tar.gz"
    out.write_text("keep me")
    ran = cli("backup", "--out", out)
    assert ran.exit_code == 2 and "already exists" in ran.stderr and "--force" in ran.stderr
    assert out.read_text() == "keep me"
    with pytest.raises(ConfigError, match="does not exist"):
        create_backup(populated, tmp_path / "nope" / "b.tar.gz")
    ran = cli("backup-verify", tmp_path / "missing.tar.gz")
    assert ran.exit_code == 2 and "does not exist" in ran.stderr
    notgz = tmp_path / "x.tar.gz"
    notgz.write_text("hello")
    ran = cli("restore", notgz, "--workspace", tmp_path / "r")
    assert ran.exit_code == 2 and "not a modelward backup" in ran.stderr


def test_backup_while_writers_run_is_consistent(populated, tmp_path):
    """Writers keep appending history during the backup; the snapshot restores cleanly."""
    import threading

    stop = threading.Event()

    def write() -> None:
        while not stop.is_set():
            populated.registry.record_event("heart", "note", reason="busy")

    writer = threading.Thread(target=write)
    writer.start()
    try:
        info = create_backup(populated, tmp_path / "live.tar.gz", include_weights=True)
    finally:
        stop.set()
        writer.join()
    restored = restore_backup(
        tmp_path / "live.tar.gz", tmp_path / "r", db_url=f"sqlite:///{tmp_path}/r/m.db"
    )
    assert restored["tables"] == info.tables


def _manifest_edit(archive: Path, target: Path, **changes) -> None:
    def edit(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        manifest.update(changes)
        return json.dumps(manifest).encode()

    _rewrite(archive, target, edit)


def test_newer_backups_are_refused_naming_the_fix(archive, tmp_path, cli):
    newer_schema = tmp_path / "schema.tar.gz"
    _manifest_edit(archive, newer_schema, schema_revision="9999_future")
    ran = cli("restore", newer_schema, "--workspace", tmp_path / "r")
    assert ran.exit_code == 2 and "'9999_future'" in ran.stderr
    assert "modelward version that wrote it" in ran.stderr
    newer_format = tmp_path / "format.tar.gz"
    _manifest_edit(archive, newer_format, format=2)
    ran = cli("backup-verify", newer_format)
    assert ran.exit_code == 2 and "upgrade modelward" in ran.stderr
    assert not (tmp_path / "r").exists()


def test_path_traversal_member_is_refused(archive, tmp_path):
    evil = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "r:gz") as tar:
        members = [(m, tar.extractfile(m).read()) for m in tar]
    with tarfile.open(evil, "w:gz") as tar:
        for member, data in members:
            tar.addfile(member, io.BytesIO(data))
        bad = tarfile.TarInfo("../outside.txt")
        bad.size = 3
        tar.addfile(bad, io.BytesIO(b"bad"))
    with pytest.raises(ArtifactError, match="not a plain relative file"):
        restore_backup(evil, tmp_path / "r")
    assert not (tmp_path / "outside.txt").exists()


def test_backup_out_is_a_folder(populated, tmp_path, cli):
    ran = cli("backup", "--out", tmp_path, "--force")
    assert ran.exit_code == 2 and "is a folder" in ran.stderr
