"""Restore a verified backup into a new, empty workspace (SQLite or PostgreSQL)."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import func, select

from modelward.atomic import temp_sibling, write_atomic
from modelward.backup.archive import ARTIFACTS, CONFIG, POLICY, log_members, read_backup
from modelward.backup.dump import dump_tables, load_tables, tables
from modelward.backup.logs import PREFIX as LOGS
from modelward.backup.logs import restore_logs
from modelward.backup.sqlite import MEMBER, check_file, db_path
from modelward.errors import AlreadyExists, ArtifactError, WorkspaceTooNew
from modelward.policy.io import parse_policy
from modelward.progress import NO_PROGRESS, Progress
from modelward.redact import redact
from modelward.store.db import HEAD_REVISION, Database
from modelward.workspace import Layout, Workspace, resolve_root

__all__ = ["restore_backup"]


def restore_backup(
    path: str | Path,
    workspace: str | Path,
    *,
    db_url: str | None = None,
    progress: Progress = NO_PROGRESS,
) -> dict[str, Any]:
    """Verify ``path`` completely, then rebuild the workspace at ``workspace`` from it.

    The target must not be a workspace already, and its metadata DB must be empty (a
    SQLite file must not exist yet): a restore never overwrites anything. A SQLite
    snapshot is checked (``PRAGMA integrity_check``) and becomes the new workspace's
    database file when the target is SQLite; otherwise its rows are loaded like a
    logical export. On any failure the new folder (and a placed DB file) is removed
    and the DB transaction rolled back.
    """
    backup = read_backup(path)
    manifest = backup.manifest
    revision = manifest.get("schema_revision")
    if revision is not None and revision != HEAD_REVISION:
        raise WorkspaceTooNew(
            f"backup {path} has schema revision {revision!r} and this modelward writes "
            f"{HEAD_REVISION!r}; restore it with the modelward version that wrote it"
        )
    policy_text = backup.files[POLICY].decode("utf-8")
    policy = parse_policy(policy_text, source=f"{POLICY} in backup {path}")

    root = resolve_root(workspace)
    probe = Workspace(root, db_url=db_url)
    layout = probe.layout
    if layout.policy.exists():
        raise AlreadyExists(
            f"a workspace already exists at {root}; restore into a new folder (nothing changed)"
        )
    existed = root.exists()
    if existed and root.is_dir() and any(root.iterdir()):
        raise AlreadyExists(
            f"{root} is not empty; restore into a new or empty folder (nothing was changed)"
        )
    sqlite_file: Path | None = None
    if probe.db_url.startswith("sqlite"):
        sqlite_file = db_path(probe.db_url).resolve()
        if sqlite_file.exists() and sqlite_file.stat().st_size > 0:
            raise AlreadyExists(
                f"the metadata DB file {sqlite_file} already exists; restore into a new one "
                "(nothing was changed)"
            )
    else:
        db = Database(probe.db_url)
        try:
            with db.session(readonly=True) as session:
                for table in tables():
                    if session.scalar(select(func.count()).select_from(table)):
                        raise AlreadyExists(
                            f"the metadata DB {redact(probe.db_url)} already holds data "
                            f"(table {table.name}); restore into an empty database"
                        )
        finally:
            db.dispose()

    restored: Workspace | None = None
    placed: Path | None = None
    try:
        with progress.task("restoring the metadata DB"):
            if sqlite_file is not None and MEMBER in backup.files:
                # The database file itself, checked, then the workspace around it.
                counts = _place_sqlite(backup.files[MEMBER], sqlite_file, f"{MEMBER} in {path}")
                placed = sqlite_file
                restored = Workspace.init(root, policy=policy, db_url=db_url)
            else:
                restored = Workspace.init(root, policy=policy, db_url=db_url)
                with _dumps(backup.files, path) as dumps, restored.db.session() as session:
                    counts = load_tables(session, dumps, restored.db.dialect)
        artifacts = [name for name in backup.files if name.startswith(ARTIFACTS)]
        for name in progress.track(artifacts, description="restoring artifacts"):
            digest = restored.artifacts.put(backup.files[name])
            if digest != name.rsplit("/", 1)[-1]:
                raise ArtifactError(f"{name} in backup {path} does not match its name")
        for name, data in backup.files.items():
            if name.startswith(CONFIG) and name != f"{CONFIG}{Layout.META}":
                write_atomic(root / name.removeprefix(CONFIG), data)
        logs = {"files": 0, "replayed_rows": 0}
        if any(name.startswith(LOGS) for name in manifest["files"]):
            with progress.task("restoring the prediction log and feedback"):
                logs = restore_logs(restored, log_members(backup, path))
        write_atomic(layout.policy, backup.files[POLICY])
        missing = [d for d in manifest.get("artifacts", []) if not restored.artifacts.exists(d)]
    except BaseException:
        if restored is not None:
            restored.close()
        if root.exists():
            shutil.rmtree(root) if not existed else _empty(root)
        if placed is not None:
            for leftover in (placed, *(placed.with_name(placed.name + x) for x in _SIDECARS)):
                leftover.unlink(missing_ok=True)
        raise
    result = {
        "workspace": str(root),
        "db": redact(restored.db_url),
        "tables": counts,
        "artifacts": len(artifacts),
        "log_files": logs["files"],
        "replayed_rows": logs["replayed_rows"],
        "missing_artifacts": missing,
        "backup_created_at": manifest.get("created_at"),
    }
    restored.registry.record_run(
        "restore", model=None, version=None, inputs={"backup": str(Path(path).resolve())},
        results=result, verdict="warn" if missing else "pass",
    )  # fmt: skip
    restored.close()
    return result


_SIDECARS = ("-wal", "-shm", "-journal")


def _place_sqlite(data: bytes, target: Path, where: str) -> dict[str, int]:
    """Write the snapshot next to ``target``, check it, then move it in; rows per table."""
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_sibling(target)
    try:
        tmp.write_bytes(data)
        counts = check_file(tmp, where)
        if target.exists() and target.stat().st_size > 0:  # appeared meanwhile: keep it
            raise AlreadyExists(f"the metadata DB file {target} appeared during the restore")
        for sidecar in _SIDECARS:  # an empty file's leftovers would be replayed into ours
            target.with_name(target.name + sidecar).unlink(missing_ok=True)
        tmp.replace(target)
    finally:
        for leftover in (tmp, *(tmp.with_name(tmp.name + x) for x in _SIDECARS)):
            leftover.unlink(missing_ok=True)
    return counts


@contextmanager
def _dumps(files: dict[str, bytes], path: str | Path) -> Iterator[dict[str, bytes]]:
    """The archive's rows as JSON lines per table: its ``db/*.jsonl`` members, or exported
    from its SQLite snapshot (restoring a SQLite workspace into PostgreSQL)."""

    if MEMBER not in files:
        yield {
            name.removeprefix("db/").removesuffix(".jsonl"): data
            for name, data in files.items()
            if name.startswith("db/") and name.endswith(".jsonl")
        }
        return
    with tempfile.TemporaryDirectory(prefix="modelward-restore-") as tmp:
        copy = Path(tmp) / "snapshot.sqlite"
        copy.write_bytes(files[MEMBER])
        check_file(copy, f"{MEMBER} in {path}")
        db = Database(f"sqlite:///{copy}", migrate=False)
        try:
            yield dump_tables(db)
        finally:
            db.dispose()


def _empty(root: Path) -> None:
    for child in root.iterdir():
        shutil.rmtree(child) if child.is_dir() else child.unlink()
