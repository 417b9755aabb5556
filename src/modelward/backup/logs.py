"""The prediction log and feedback in a backup: every Parquet file, and the rows a live
server acknowledged but has not yet written as Parquet.

Members::

    logs/predictions/model=<m>/date=<d>/<file>.parquet   as the log holds them
    logs/feedback/model=<m>/date=<d>/<file>.parquet
    logs/wal/<segment>.wal                                write-ahead segments

A running server appends each acknowledged row to a write-ahead segment (``<workspace>/wal``)
and turns segments into Parquet about once a second, so a backup of a live server copies
the segments first, then the Parquet files. A segment that was converted meanwhile is then
in the archive twice: the rows of a copied segment that a Parquet file written around the
backup already holds (same kind, request id and time) are left out of its copy, so each
acknowledged row is in the archive once. A file a compaction removed while the backup
listed it means the listing is read again. Restore writes the Parquet files back and
converts the segments into Parquet (the writer's own replay).

Files go into the archive one at a time: memory holds at most the largest file.
"""

from __future__ import annotations

import io
import re
import tempfile
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from modelward.errors import ArtifactError, StorageError
from modelward.predlog.files import LogFiles
from modelward.predlog.layout import FEEDBACK, PREDICTIONS
from modelward.predlog.writer import LogWriter
from modelward.storage import filesystem
from modelward.timeutil import utcnow
from modelward.workspace.layout import Layout

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["PREFIX", "check_name", "collect_logs", "restore_logs"]

#: Members mirror the workspace: ``logs/`` the log's files, ``logs/wal/`` the segments.
PREFIX = f"{Layout.LOGS}/"
WAL = f"{PREFIX}{Layout.WAL}/"
_NAME = re.compile(
    rf"{PREFIX}(?:(?:{PREDICTIONS}|{FEEDBACK})/model=[^/]+/date=\d{{4}}-\d{{2}}-\d{{2}}/[^/]+\.parquet"
    rf"|{Layout.WAL}/[^/]+\.wal)"
)
#: Parquet files written this long before the backup started may hold rows of a segment it
#: copies (the writer converts a segment, then deletes it, within a second or so).
_RECENT = timedelta(minutes=5)


def check_name(name: str, where: str) -> None:
    if not _NAME.fullmatch(name):
        raise ArtifactError(
            f"backup {where} holds {name!r}, which is not a log file modelward writes; "
            "refusing a tampered archive"
        )


def _filesystem(url: str) -> tuple[Any, str]:
    return filesystem(url, "MODELWARD_LOGS")


def _list(log: LogFiles) -> dict[str, str]:
    """archive name -> path of every live log file (those a compaction replaced are
    left out: the compacted file holds their rows)."""
    found = {}
    for kind in (PREDICTIONS, FEEDBACK):
        for log_file in log.files(kind):
            path = log.local(log_file.path)
            found[f"{PREFIX}{path[len(log.root) + 1 :]}"] = path
    return found


def collect_logs(ws: Workspace) -> Iterator[tuple[str, bytes]]:
    """(archive name, data) for every log file, segments last (see the module docstring)."""
    started = utcnow()
    wal = ws.layout.wal
    segments = {}
    for segment in sorted(wal.glob("*.wal")) if wal.is_dir() else []:
        try:
            segments[segment.name] = segment.read_bytes()
        except FileNotFoundError:
            continue  # converted meanwhile: its rows are in the Parquet listed next
    try:
        log = LogFiles(ws.logs_url)
        fs = log.fs
        done: set[str] = set()
        recent: list[tuple[str, bytes]] = []
        while True:
            listing = {k: v for k, v in _list(log).items() if k not in done}
            if not listing:
                break
            for name, path in listing.items():
                try:
                    data = fs.cat_file(path)
                except FileNotFoundError:
                    continue  # compacted away meanwhile: the next listing has its successor
                done.add(name)
                if _written_since(fs, path, started - _RECENT):
                    recent.append((name.split("/")[1], data))
                yield name, data
    except (OSError, ValueError) as exc:
        raise StorageError(f"cannot read the prediction log at {ws.logs_url}: {exc}") from exc
    seen = _row_keys(recent)
    for name, data in segments.items():
        kept = _without(data, seen)
        if kept:
            yield f"{WAL}{name}", kept


def _written_since(fs: Any, path: str, since: Any) -> bool:
    info = fs.info(path)
    stamp = info.get("mtime") or info.get("LastModified") or info.get("last_modified")
    if stamp is None:
        return True  # unknown: look at its rows
    moment = stamp.timestamp() if hasattr(stamp, "timestamp") else float(stamp)
    return moment >= since.timestamp()


def _row_keys(files: list[tuple[str, bytes]]) -> set[tuple[str, str, int]]:
    """(kind, request id, time in µs) of every row of these (kind, Parquet data) files."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    keys: set[tuple[str, str, int]] = set()
    for kind, data in files:
        table = pq.read_table(io.BytesIO(data), columns=["request_id", "ts"])
        stamps = table["ts"].cast(pa.timestamp("us", tz="UTC")).cast(pa.int64()).to_pylist()
        ids = table["request_id"].to_pylist()
        keys.update((kind, rid, ts) for rid, ts in zip(ids, stamps, strict=True))
    return keys


def _without(segment: bytes, seen: set[tuple[str, str, int]]) -> bytes:
    """The segment's lines, less the rows a Parquet file already holds ("" if none is left)."""
    kept = []
    rows = 0
    for line in segment.splitlines(keepends=True):
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            continue  # a line being written as the segment was copied
        if row.get("k") in (PREDICTIONS, FEEDBACK):
            if (row["k"], row.get("request_id"), row.get("ts")) in seen:
                continue
            rows += 1
        kept.append(line if line.endswith(b"\n") else line + b"\n")
    return b"".join(kept) if rows else b""


def restore_logs(ws: Workspace, members: Iterator[tuple[str, bytes]]) -> dict[str, int]:
    """Write the log members back into ``ws``; segments become Parquet. Files and rows."""
    fs, root = _filesystem(ws.logs_url)
    files = 0
    with tempfile.TemporaryDirectory(prefix="modelward-restore-wal-") as tmp:
        for name, data in members:
            relative = name.removeprefix(PREFIX)
            if name.startswith(WAL):
                (Path(tmp) / name.removeprefix(WAL)).write_bytes(data)
                continue
            target = f"{root.rstrip('/')}/{relative}"
            fs.makedirs(target.rsplit("/", 1)[0], exist_ok=True)
            fs.pipe_file(target, data)
            files += 1
        writer = LogWriter(ws.logs_url, wal_dir=tmp)
        replayed = writer.replay()
    return {"files": files + writer.files, "replayed_rows": replayed}
