"""``modelward logs archive NAME V --to URL``: a version's log rows, kept before retirement.

The version's predictions (every environment) and the feedback rows of those requests are
read from the live log files, written to ``<URL>/<NAME>/v<V>/`` as one Parquet file each,
read back and checked (sha256 of the bytes, row count of the table), and recorded as a
``log-archive`` run: the retirement gate wants one made after the version's last
prediction. ``URL`` is a folder, a ``file://`` URL, or any URL fsspec can write to.
A copy that reads back differently is recorded as failed and reported (exit 3).
"""

from __future__ import annotations

import hashlib
import io
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError, StorageError
from modelward.predlog.files import LogChanged, LogFiles, relisted
from modelward.predlog.layout import FEEDBACK, PREDICTIONS, arrow_schema
from modelward.redact import redact
from modelward.registry.gates import ARCHIVE_RUN
from modelward.storage import backend_errors, failure, filesystem
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    import pyarrow as pa

    from modelward.workspace import Workspace

__all__ = ["Archive", "ArchivedFile", "archive_logs"]


@dataclass(frozen=True)
class ArchivedFile:
    kind: str  # predictions | feedback
    path: str
    rows: int
    sha256: str
    bytes: int


@dataclass(frozen=True)
class Archive:
    model: str
    version: int
    to: str
    files: tuple[ArchivedFile, ...]
    run: int

    def to_dict(self) -> dict[str, Any]:
        out = asdict(self)
        out["files"] = [asdict(f) for f in self.files]
        return out


def archive_logs(
    ws: Workspace, name: str, version: int | str, *, to: str, actor: str | None = None
) -> Archive:
    """Copy version ``version`` of ``name``'s prediction and feedback rows to ``to`` as
    Parquet, verify the copy and record a ``log-archive`` run."""
    info = ws.registry.get_version(name, version)
    fs, root = _target(to)
    tables = relisted(lambda: _read(ws.logs_url, name, info.version))
    stamp = utcnow().strftime("%Y%m%dT%H%M%S%fZ")
    folder = f"{root.rstrip('/')}/{name}/v{info.version}"
    _makedirs(fs, folder, to)
    written, problem = [], None
    for kind, table in tables.items():
        archived, problem = _write_verified(fs, f"{folder}/{kind}-{stamp}.parquet", kind, table)
        written.append(archived)
        if problem:
            break
    run = ws.registry.record_run(
        ARCHIVE_RUN, model=name, version=info.version, inputs={"to": redact(to)},
        results={"files": [asdict(f) for f in written], "problem": problem,
                 **{kind: table.num_rows for kind, table in tables.items()}},
        verdict="fail" if problem else "pass", actor=actor,
    )  # fmt: skip
    if problem:
        raise StorageError(f"{info.ref}: {problem}; archive to another place (run #{run.id})")
    return Archive(name, info.version, redact(to), tuple(written), run.id)


def _target(to: str) -> tuple[Any, str]:
    """The filesystem and root path of ``--to``: a folder, ``file://…`` or an fsspec URL."""
    text = (to or "").strip()
    if not text:
        raise ConfigError(
            "--to needs a folder or URL to archive to, e.g. --to /archive or file:///archive",
            field="to",
        )
    return filesystem(text, "--to")


def _makedirs(fs: Any, folder: str, to: str) -> None:
    try:
        fs.makedirs(folder, exist_ok=True)
    except (FileExistsError, NotADirectoryError) as exc:
        raise ConfigError(
            f"--to {redact(to)!r} is (or is under) a file; pass a folder", field="to"
        ) from exc
    except backend_errors() as exc:
        raise failure(exc, f"the archive at {redact(to)}") from exc


def _read(logs_url: str, name: str, version: int) -> dict[str, pa.Table]:
    """The version's predictions, and the feedback rows of their request ids."""
    import pyarrow as pa
    import pyarrow.compute as pc

    log = LogFiles(logs_url)
    predictions = _concat(
        [t.filter(pc.field("version") == version) for t in _tables(log, PREDICTIONS, name)],
        arrow_schema(PREDICTIONS),
    )
    ids = pa.array(predictions.column("request_id").to_pylist(), pa.string())
    feedback = _concat(
        [t.filter(pc.is_in(t.column("request_id"), value_set=ids))
         for t in _tables(log, FEEDBACK, name)],
        arrow_schema(FEEDBACK),
    )  # fmt: skip
    return {PREDICTIONS: predictions, FEEDBACK: feedback}


def _tables(log: LogFiles, kind: str, name: str) -> list[pa.Table]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    out = []
    for log_file in log.files(kind, name):
        try:
            with log.fs.open(log.local(log_file.path), "rb") as handle:
                out.append(pq.read_table(handle))
        except FileNotFoundError as exc:
            raise LogChanged(f"{log_file.path} was replaced while it was read") from exc
        except pa.ArrowException as exc:
            raise StorageError(
                f"cannot read the prediction log file {log_file.path}: {exc}"
            ) from exc
        except backend_errors() as exc:
            raise failure(exc, f"the prediction log file {log_file.path}") from exc
    return out


def _concat(tables: list[pa.Table], empty: pa.Schema) -> pa.Table:
    import pyarrow as pa

    kept = [t for t in tables if t.num_rows]
    if not kept:
        return empty.empty_table()
    return pa.concat_tables(kept, promote_options="permissive")


def _url(fs: Any, path: str) -> str:
    """``path`` of ``fs`` with its protocol, unless it is a local file."""
    protocols = fs.protocol if isinstance(fs.protocol, tuple) else (fs.protocol,)
    return path if "file" in protocols else str(fs.unstrip_protocol(path))


def _write_verified(
    fs: Any, path: str, kind: str, table: pa.Table
) -> tuple[ArchivedFile, str | None]:
    """Write ``table`` to ``path``, read it back; a problem names what differs."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    buffer = io.BytesIO()
    pq.write_table(table, buffer, compression="zstd")
    data = buffer.getvalue()
    digest = hashlib.sha256(data).hexdigest()
    try:
        with fs.open(path, "wb") as handle:
            handle.write(data)
        with fs.open(path, "rb") as handle:
            back = handle.read()
    except backend_errors() as exc:
        raise failure(exc, f"the archive file {redact(path)}") from exc
    path = _url(fs, path)  # as the user names it: s3://bucket/… for an object store
    archived = ArchivedFile(kind, redact(path), table.num_rows, digest, len(data))
    read_digest = hashlib.sha256(back).hexdigest()
    if read_digest != digest:
        return archived, (
            f"the archived {kind} at {redact(path)} reads back differently (sha256 "
            f"{digest[:12]}… written, {read_digest[:12]}… read)"
        )
    try:
        rows = pq.read_table(io.BytesIO(back)).num_rows
    except pa.ArrowException as exc:
        return archived, f"the archived {kind} at {redact(path)} is not readable: {exc}"
    if rows != table.num_rows:
        return archived, f"the archived {kind} holds {rows} rows, not {table.num_rows}"
    return archived, None
