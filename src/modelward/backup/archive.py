"""The backup archive: a tar.gz of the files its ``manifest.json`` lists (last since format 3).

Layout::

    manifest.json               format, time, schema revision, rows per table, how the
                                DB is stored (``db``), and the sha256 and size of every
                                other file
    db/modelward.sqlite         a SQLite workspace: the database file, copied with SQLite's
                                online-backup API (see :mod:`modelward.backup.sqlite`)
    db/<table>.jsonl            a PostgreSQL workspace: one JSON object per row, from one
                                REPEATABLE READ snapshot (see :mod:`modelward.backup.dump`)
    policy.yml                  always
    config/<file>               workspace.yml and other config files (--include-config)
    artifacts/sha256/ab/<hex>   every artifact a version references (--include-weights)
    logs/…                      the prediction log and feedback, and the rows a live server
                                acknowledged but had not yet written (unless --no-logs; see
                                :mod:`modelward.backup.logs`)

Verification re-hashes every member and refuses an archive that is truncated, has a
member the manifest does not list, lacks one it lists, or holds one whose checksum
differs, naming the file.
"""

from __future__ import annotations

import hashlib
import io
import os
import tarfile
import zlib
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from modelward.atomic import temp_sibling
from modelward.backup.dump import dump_tables
from modelward.backup.logs import PREFIX as LOGS
from modelward.backup.logs import check_name, collect_logs
from modelward.backup.sqlite import MEMBER, snapshot
from modelward.errors import AlreadyExists, ArtifactError, ConfigError
from modelward.progress import NO_PROGRESS, Progress
from modelward.timeutil import utcnow
from modelward.workspace.layout import Layout

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["FORMAT", "BackupInfo", "create_backup", "read_backup", "verify_backup"]

#: 3: the prediction log is included, and the manifest comes last (it lists the log files'
#: checksums, known once they are written). 2: a SQLite workspace's DB is stored as a
#: database file (1: JSON lines for every DB).
FORMAT = 3
MANIFEST = "manifest.json"
#: Members named after the workspace's files: its policy, its other config files, artifacts.
POLICY = Layout.POLICY
CONFIG = "config/"
ARTIFACTS = f"{Layout.ARTIFACTS}/"


@dataclass(frozen=True)
class BackupInfo:
    path: str
    created_at: str
    schema_revision: str | None
    dialect: str
    tables: dict[str, int]
    files: int
    bytes: int
    weights: bool
    config: bool
    artifacts: int = 0
    logs: bool = False
    log_files: int = 0

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Backup:
    """A verified archive, read into memory but for its log files (checked, not kept)."""

    manifest: dict[str, Any]
    files: dict[str, bytes] = field(default_factory=dict)


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def create_backup(
    workspace: Workspace,
    out: str | Path,
    *,
    include_weights: bool = False,
    include_config: bool = False,
    include_logs: bool = True,
    overwrite: bool = False,
    progress: Progress = NO_PROGRESS,
) -> BackupInfo:
    """Write a backup of ``workspace`` to ``out`` (tar.gz); safe while the server runs.

    The prediction log and feedback are included unless ``include_logs=False``."""
    target = Path(out)
    if target.exists() and not overwrite:
        raise AlreadyExists(
            f"{target} already exists; choose another --out or pass --force to replace it"
        )
    if target.exists() and target.is_dir():
        raise ConfigError(f"{target} is a folder; give --out a file name such as backup.tar.gz")
    if not target.parent.exists():
        raise ConfigError(f"folder {target.parent} does not exist; create it or fix --out")

    files: dict[str, bytes] = {}
    if workspace.db.dialect == "sqlite":
        with progress.task("copying the metadata DB (SQLite online backup)"):
            copy = snapshot(workspace.db)
        files[MEMBER] = copy.data
        db_format, tables, revision, digests = "sqlite", copy.tables, copy.revision, copy.artifacts
    else:
        with progress.task("exporting the metadata DB"):
            dumps = dump_tables(workspace.db)
        for name, data in dumps.items():
            files[f"db/{name}.jsonl"] = data
        db_format, revision = "jsonl", workspace.db.revision()
        tables = {name: data.count(b"\n") for name, data in dumps.items()}
        digests = _referenced_artifacts(dumps.get("model_versions", b""))
    layout = workspace.layout
    files[POLICY] = layout.policy.read_bytes()
    if include_config:
        for path in layout.config_files():
            if path != layout.policy:
                files[f"{CONFIG}{path.name}"] = path.read_bytes()
    if include_weights:
        for digest in progress.track(sorted(digests), description="copying artifacts"):
            files[f"{ARTIFACTS}sha256/{digest[:2]}/{digest}"] = workspace.artifacts.get(digest)

    created_at, dialect = utcnow().isoformat(), workspace.db.dialect
    manifest: dict[str, Any] = {
        "format": FORMAT,
        "created_at": created_at,
        "schema_revision": revision,
        "dialect": dialect,
        "db": db_format,
        "weights": include_weights,
        "config": include_config,
        "logs": include_logs,
        "artifacts": sorted(digests),
        "tables": tables,
        "files": {},
    }
    listed: dict[str, Any] = manifest["files"]
    tmp = temp_sibling(target)
    try:
        with tarfile.open(tmp, "w:gz") as tar:
            for name, data in files.items():
                listed[name] = _add(tar, name, data)
            if include_logs:
                with progress.task("copying the prediction log and feedback"):
                    for name, data in collect_logs(workspace):
                        listed[name] = _add(tar, name, data)
            _add(tar, MANIFEST, orjson.dumps(manifest, option=orjson.OPT_INDENT_2))
        os.replace(tmp, target)
    finally:
        tmp.unlink(missing_ok=True)
    log_files = sum(1 for name in listed if name.startswith(LOGS))
    info = BackupInfo(
        path=str(target.resolve()),
        created_at=created_at,
        schema_revision=revision,
        dialect=dialect,
        tables=tables,
        files=len(listed),
        bytes=target.stat().st_size,
        weights=include_weights,
        config=include_config,
        artifacts=len(digests) if include_weights else 0,
        logs=include_logs,
        log_files=log_files,
    )
    workspace.registry.record_run(
        "backup", model=None, version=None,
        inputs={"out": info.path, "include_weights": include_weights,
                "include_config": include_config, "include_logs": include_logs},
        results=info.to_dict(), verdict="pass",
    )  # fmt: skip
    return info


def _referenced_artifacts(versions: bytes) -> set[str]:
    digests = set()
    for line in versions.splitlines():
        row = orjson.loads(line)
        if row.get("kind") == "artifact" and row.get("sha256"):
            digests.add(row["sha256"])
    return digests


def _add(tar: tarfile.TarFile, name: str, data: bytes) -> dict[str, Any]:
    """Add one member; returns its manifest entry."""
    member = tarfile.TarInfo(name)
    member.size = len(data)
    member.mtime = int(utcnow().timestamp())
    member.mode = 0o644
    tar.addfile(member, io.BytesIO(data))
    return {"sha256": _digest(data), "size": len(data)}


def read_backup(path: str | Path) -> Backup:
    """Open and verify an archive: every checksum, nothing missing, nothing extra."""
    source = Path(path)
    if not source.is_file():
        raise ConfigError(f"backup file {source} does not exist; check the path")
    members: dict[str, bytes] = {}
    logs: dict[str, str] = {}  # log files are hashed as they are read, not kept
    for name, data in _members(source):
        if name.startswith(LOGS):
            check_name(name, str(source))
            logs[name] = _digest(data)
        else:
            members[name] = data
    raw = members.pop(MANIFEST, None)
    if raw is None:
        raise ArtifactError(f"backup {source} has no {MANIFEST}; it is not a modelward backup")
    try:
        manifest = orjson.loads(raw)
        listed = manifest["files"]
        int(manifest["format"])
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        raise ArtifactError(f"{MANIFEST} in backup {source} is damaged; use another copy") from exc
    if int(manifest["format"]) > FORMAT:
        raise ConfigError(
            f"backup {source} has format {manifest['format']}, written by a newer modelward; "
            "upgrade modelward to restore it"
        )
    for name in sorted((set(members) | set(logs)) - set(listed)):
        raise ArtifactError(
            f"backup {source} holds {name}, which its manifest does not list; "
            "refusing a tampered archive"
        )
    for name in sorted(listed):
        if name not in members and name not in logs:
            raise ArtifactError(
                f"backup {source} lacks {name}, which its manifest lists; the archive is "
                "truncated or tampered with"
            )
        actual = logs[name] if name in logs else _digest(members[name])
        if actual != listed[name].get("sha256"):
            raise ArtifactError(
                f"{name} in backup {source} is corrupted: sha256 {actual[:12]}…, manifest says "
                f"{str(listed[name].get('sha256'))[:12]}…; use another copy of the backup"
            )
    return Backup(manifest=manifest, files=members)


def _members(source: Path) -> Iterator[tuple[str, bytes]]:
    """(name, data) of each member, one at a time; a damaged archive is one error."""
    try:
        with tarfile.open(source, "r:gz") as tar:
            for member in tar:
                name = member.name
                if not member.isfile() or name.startswith("/") or ".." in name.split("/"):
                    raise ArtifactError(
                        f"backup {source} holds {name!r}, which is not a plain relative file; "
                        "refusing a tampered archive"
                    )
                handle = tar.extractfile(member)
                yield name, handle.read() if handle is not None else b""
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:
        raise ArtifactError(
            f"backup {source} is truncated or not a modelward backup ({exc}); "
            "use another copy of the backup"
        ) from exc


def log_members(backup: Backup, path: str | Path) -> Iterator[tuple[str, bytes]]:
    """The log files of a verified archive, read again one at a time and checked again
    (the archive must not have changed since it was verified)."""
    listed = backup.manifest["files"]
    for name, data in _members(Path(path)):
        if not name.startswith(LOGS):
            continue
        if _digest(data) != listed.get(name, {}).get("sha256"):
            raise ArtifactError(
                f"{name} in backup {path} changed after it was verified; use another copy"
            )
        yield name, data


def verify_backup(path: str | Path) -> dict[str, Any]:
    """Verify an archive; returns its manifest (without the per-file list)."""
    backup = read_backup(path)
    summary = {k: v for k, v in backup.manifest.items() if k not in ("files", "artifacts")}
    summary["files"] = len(backup.manifest["files"])
    summary["path"] = str(Path(path).resolve())
    return summary
