"""Backups: round trip on SQLite and PostgreSQL, and refusal of damaged archives."""

from __future__ import annotations

import hashlib
import io
import json
import tarfile
from pathlib import Path

import pytest

from modelward import Workspace
from modelward.backup import create_backup, restore_backup, verify_backup
from modelward.backup.archive import FORMAT
from modelward.errors import AlreadyExists, ArtifactError, ConfigError


def _records(ws: Workspace) -> dict:
    registry = ws.registry
    return {
        "versions": [v.to_dict() for v in registry.list_versions("heart")],
        "history": [e.to_dict() for e in registry.history("heart")],
        "runs": [r.to_dict() for r in registry.list_runs() if r.kind not in ("backup", "restore")],
    }


def _snapshot(ws: Workspace) -> dict:
    records = _records(ws)
    blobs = {v["sha256"]: ws.artifacts.get(v["sha256"]) for v in records["versions"]}
    return {**records, "blobs": blobs}


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


def _db_member(ws: Workspace) -> str:
    """Where the archive keeps a history row: the SQLite file, or the events export."""
    return "db/modelward.sqlite" if ws.db.dialect == "sqlite" else "db/events.jsonl"


def test_sqlite_is_copied_as_a_database_file_and_postgresql_exported(archive, populated):
    with tarfile.open(archive, "r:gz") as tar:
        names = set(tar.getnames())
        manifest = json.loads(tar.extractfile("manifest.json").read())
    if populated.db.dialect == "sqlite":
        assert manifest["db"] == "sqlite" and "db/modelward.sqlite" in names
        assert not [n for n in names if n.endswith(".jsonl")]
    else:
        assert manifest["db"] == "jsonl" and "db/events.jsonl" in names
    assert manifest["tables"]["model_versions"] == 3


def test_tampered_file_is_named_and_nothing_restored(archive, populated, tmp_path, cli):
    member = _db_member(populated)
    bad = tmp_path / "bad.tar.gz"
    _rewrite(archive, bad, lambda n, d: d.replace(b"tester", b"mallory") if n == member else d)
    ran = cli("restore", bad, "--workspace", tmp_path / "r")
    assert ran.exit_code == 2
    assert f"{member} in backup" in ran.stderr and "corrupted" in ran.stderr
    assert not (tmp_path / "r").exists()


def test_a_damaged_database_file_with_a_matching_checksum_is_refused(populated, tmp_path):
    """Checksums catch changes after the backup; SQLite's integrity check catches a file
    that was already broken (here: half a database, its checksum rewritten to match)."""
    if populated.db.dialect != "sqlite":
        pytest.skip("only a SQLite backup holds a database file")
    good = tmp_path / "good.tar.gz"
    create_backup(populated, good)

    def halve(name: str, data: bytes) -> bytes:
        return data[: len(data) // 2] if name == "db/modelward.sqlite" else data

    halved = tmp_path / "halved.tar.gz"
    _rewrite(good, halved, halve)
    with tarfile.open(halved, "r:gz") as tar:
        cut = tar.extractfile("db/modelward.sqlite").read()
    _manifest_edit(
        halved,
        tmp_path / "resealed.tar.gz",
        files={
            **json.loads(_member(good, "manifest.json"))["files"],
            "db/modelward.sqlite": {"sha256": hashlib.sha256(cut).hexdigest(), "size": len(cut)},
        },
    )
    with pytest.raises(ArtifactError, match="db/modelward.sqlite in .*resealed.tar.gz"):
        restore_backup(tmp_path / "resealed.tar.gz", tmp_path / "r")
    assert not (tmp_path / "r").exists()


def _member(archive: Path, name: str) -> bytes:
    with tarfile.open(archive, "r:gz") as tar:
        return tar.extractfile(name).read()


def test_missing_and_extra_members_are_refused(archive, populated, tmp_path):
    lacking = tmp_path / "lacking.tar.gz"
    _rewrite(archive, lacking, lambda n, d: None if n == "policy.yml" else d)
    with pytest.raises(ArtifactError, match="lacks policy.yml"):
        verify_backup(lacking)

    def manifest_drops(name: str, data: bytes) -> bytes:
        if name != "manifest.json":
            return data
        manifest = json.loads(data)
        del manifest["files"][_db_member(populated)]
        return json.dumps(manifest).encode()

    extra = tmp_path / "extra.tar.gz"
    _rewrite(archive, extra, manifest_drops)
    with pytest.raises(
        ArtifactError, match=f"holds {_db_member(populated)}, which its manifest does not"
    ):
        verify_backup(extra)


def test_truncated_archive_is_refused(archive, tmp_path, cli):
    cut = tmp_path / "cut.tar.gz"
    data = archive.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    ran = cli("backup-verify", cut)
    assert ran.exit_code == 2
    assert "cut.tar.gz is truncated" in ran.stderr
    ran = cli("backup-verify", archive, "--json")
    with tarfile.open(archive, "r:gz") as tar:
        members = len(tar.getnames())
    assert ran.exit_code == 0 and ran.json["files"] == members - 1  # all but the manifest


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
    """A --db-url that points at a database in use (here: the backed-up workspace's own)."""
    before = _snapshot(populated)
    match = "already holds data" if populated.db.dialect == "postgresql" else "already exists"
    with pytest.raises(AlreadyExists, match=match):
        restore_backup(archive, tmp_path / "r", db_url=populated.db_url)
    assert not (tmp_path / "r").exists()
    assert _snapshot(populated) == before


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


def test_backup_while_another_connection_writes_restores_consistently(
    populated, tmp_path, cleveland, fitted
):
    """A writer with its own connections registers versions and records history while
    backups are taken; each restores to a sound database in which every row is complete."""
    import sqlite3
    import threading
    import time

    from sklearn.base import clone
    from tests.conftest import FEATURES

    stop, registered, failed = threading.Event(), [], []

    def write() -> None:
        try:
            with Workspace.open(populated.root, db_url=populated.db_url) as other:
                while not stop.is_set():
                    model = clone(fitted).set_params(model__C=10.0 + len(registered))
                    model.fit(cleveland[FEATURES], cleveland["target"])
                    info = other.register("heart", model, data=cleveland, target="target")
                    other.registry.record_event("heart", "note", version=info.version)
                    registered.append(info.version)
        except BaseException as exc:  # noqa: BLE001 - reported by the test below
            failed.append(exc)

    def wait_for(count: int) -> None:
        deadline = time.monotonic() + 120
        while len(registered) < count and not failed:
            assert time.monotonic() < deadline, "the writer made no progress"
            time.sleep(0.02)

    writer = threading.Thread(target=write)
    writer.start()
    backups = []
    try:
        for i in range(3):
            wait_for(len(registered) + 1)
            out = tmp_path / f"live-{i}.tar.gz"
            backups.append((out, create_backup(populated, out, include_weights=True)))
        wait_for(len(registered) + 2)  # the last one began after every backup had finished
    finally:
        stop.set()
        writer.join(timeout=120)
    assert not failed, failed
    final = len(populated.registry.list_versions("heart"))

    for i, (out, info) in enumerate(backups):
        target = tmp_path / f"r{i}"
        result = restore_backup(out, target, db_url=f"sqlite:///{target}/m.db")
        assert result["tables"] == info.tables and result["missing_artifacts"] == []
        with sqlite3.connect(target / "m.db") as con:
            assert con.execute("PRAGMA integrity_check").fetchall() == [("ok",)]
            assert con.execute("PRAGMA foreign_key_check").fetchall() == []
        with Workspace.open(target, db_url=f"sqlite:///{target}/m.db") as restored:
            versions = restored.registry.list_versions("heart")
            numbers = [v.version for v in versions]
            assert numbers == list(range(1, len(numbers) + 1)) and 3 < len(numbers) < final
            registered_events = {
                e.version for e in restored.registry.history("heart") if e.kind == "registered"
            }
            assert registered_events == set(numbers)
            for version in versions:  # every version's artifact came along and loads
                assert restored.artifacts.exists(version.sha256)
            restored.load_model("heart", numbers[-1])


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
    _manifest_edit(archive, newer_format, format=FORMAT + 1)
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


def test_a_format_1_archive_of_a_sqlite_workspace_still_restores(populated, tmp_path):
    """Before format 2 every database was exported as JSON lines; those archives restore."""
    from modelward.backup.dump import dump_tables

    if populated.db.dialect != "sqlite":
        pytest.skip("format 1 differed from format 2 only for SQLite workspaces")
    dumps = dump_tables(populated.db)
    files = {f"db/{name}.jsonl": data for name, data in dumps.items()}
    files["policy.yml"] = (populated.root / "policy.yml").read_bytes()
    manifest = {
        "format": 1, "created_at": "2025-01-01T00:00:00+00:00",
        "schema_revision": populated.db.revision(), "dialect": "sqlite", "weights": False,
        "config": False, "artifacts": [],
        "tables": {name: data.count(b"\n") for name, data in dumps.items()},
        "files": {n: {"sha256": hashlib.sha256(d).hexdigest(), "size": len(d)}
                  for n, d in files.items()},
    }  # fmt: skip
    old = tmp_path / "old.tar.gz"
    with tarfile.open(old, "w:gz") as tar:
        for name, data in {"manifest.json": json.dumps(manifest).encode(), **files}.items():
            member = tarfile.TarInfo(name)
            member.size = len(data)
            tar.addfile(member, io.BytesIO(data))
    result = restore_backup(old, tmp_path / "r", db_url=f"sqlite:///{tmp_path}/r/m.db")
    assert result["tables"] == manifest["tables"]
    with Workspace.open(tmp_path / "r", db_url=f"sqlite:///{tmp_path}/r/m.db") as restored:
        assert _records(restored) == _records(populated)
