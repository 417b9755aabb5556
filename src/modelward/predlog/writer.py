"""The buffered prediction-log writer: off the request path, nothing acknowledged lost.

``log_prediction`` / ``log_feedback`` append a row to an in-memory buffer and to a
write-ahead file (one JSON line, handed to the kernel before returning); a background
thread turns the buffer into Parquet files every ``flush_rows`` rows or ``flush_ms``
milliseconds, then deletes the write-ahead segment those rows were in. ``close()``
flushes everything (the server calls it on SIGTERM/SIGINT).

After a crash (SIGKILL, OOM) the next writer that starts with the same write-ahead
folder replays the orphaned segments into Parquet, so the loss is zero for a process
crash. Segments are held with an exclusive ``flock`` while their writer lives, so
replicas sharing the folder never replay each other's live segments. A power loss can
lose what the kernel had not yet written to disk (no fsync per row).

Bounded memory: when the Parquet side fails (storage down) rows stay buffered up to
``max_buffered`` rows; beyond that new rows are dropped and counted in ``dropped``.
"""

from __future__ import annotations

import fcntl
import logging
import os
import socket
import threading
import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from modelward.predlog.layout import FEEDBACK, PREDICTIONS, arrow_schema, partition
from modelward.predlog.sink import Sink, open_sink

__all__ = ["LogWriter", "new_writer_id"]

log = logging.getLogger("modelward.predlog")

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def new_writer_id() -> str:
    host = "".join(c if c.isalnum() else "-" for c in socket.gethostname())[:24] or "host"
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


def micros(moment: datetime) -> int:
    return (moment - _EPOCH) // _one_us


_one_us = datetime(1970, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def _date(ts_us: int) -> str:
    return datetime.fromtimestamp(ts_us / 1e6, UTC).strftime("%Y-%m-%d")


class LogWriter:
    """Buffers rows, writes Parquet in the background. Use as a context manager or
    call :meth:`start` and :meth:`close`."""

    def __init__(
        self,
        logs_url: str,
        *,
        wal_dir: str | Path | None = None,
        flush_rows: int = 1000,
        flush_ms: int = 1000,
        max_buffered: int = 1_000_000,
        writer_id: str | None = None,
        sink: Sink | None = None,
    ) -> None:
        self.sink = sink or open_sink(logs_url)
        self.writer_id = writer_id or new_writer_id()
        self.flush_rows = flush_rows
        self.flush_interval = flush_ms / 1000
        self.max_buffered = max_buffered
        self.wal_dir = Path(wal_dir) if wal_dir is not None else None
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._buffers: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        self._types: dict[str, dict[str, str]] = {}
        self._pending = 0
        self._seq = 0
        self._segment = 0
        self._wal: IO[bytes] | None = None
        self._wal_path: Path | None = None
        self._wal_typed: set[str] = set()
        self._retired: list[tuple[IO[bytes], Path]] = []
        self.dropped = 0
        self.written_rows = 0
        self.files = 0
        self.errors = 0

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> LogWriter:
        if self.wal_dir is not None:
            self.wal_dir.mkdir(parents=True, exist_ok=True)
            self.replay()
            with self._lock:
                self._open_segment()
        self._thread = threading.Thread(target=self._run, name="predlog-writer", daemon=True)
        self._thread.start()
        return self

    def close(self) -> None:
        """Flush everything and stop the background thread."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        self.flush()
        with self._lock:
            if self._wal is not None and self._pending == 0 and not self._retired:
                self._drop_segment(self._wal, self._wal_path)
                self._wal = None

    def __enter__(self) -> LogWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def queued(self) -> int:
        return self._pending

    # -- appending ------------------------------------------------------------------------

    def log_prediction(
        self, model: str, row: dict[str, Any], types: dict[str, str] | None = None
    ) -> None:
        """One served prediction. ``row["ts"]`` is microseconds since the epoch (UTC) or a
        datetime; ``types`` maps its ``in_*`` columns to float64 / int64 / string."""
        self._append(PREDICTIONS, model, row, types)

    def log_predictions(
        self, model: str, rows: Iterable[dict[str, Any]], types: dict[str, str] | None = None
    ) -> None:
        for row in rows:
            self._append(PREDICTIONS, model, row, types)

    def log_feedback(
        self, model: str, request_id: str, label: str, ts: datetime | int | None = None
    ) -> None:
        when = ts if ts is not None else datetime.now(UTC)
        row = {"request_id": request_id, "ts": when, "label": str(label)}
        self._append(FEEDBACK, model, row, None)

    def _append(
        self, kind: str, model: str, row: dict[str, Any], types: dict[str, str] | None
    ) -> None:
        ts = row.get("ts")
        if isinstance(ts, datetime):
            row = {**row, "ts": micros(ts)}
        elif ts is None:
            row = {**row, "ts": micros(datetime.now(UTC))}
        key = (kind, model, _date(row["ts"]))
        with self._lock:
            if self._pending >= self.max_buffered:
                self.dropped += 1
                return
            if types:
                known = self._types.setdefault(model, {})
                if any(known.get(k) != v for k, v in types.items()):
                    known.update(types)
                    self._wal_typed.discard(model)
            if self._wal is not None:
                lines = b""
                if kind == PREDICTIONS and model not in self._wal_typed:
                    lines = orjson.dumps(["t", model, self._types.get(model, {})]) + b"\n"
                    self._wal_typed.add(model)
                self._wal.write(lines + orjson.dumps([kind, model, row]) + b"\n")
                self._wal.flush()
            self._buffers.setdefault(key, []).append(row)
            self._pending += 1
            full = self._pending >= self.flush_rows
        if full:
            self._wake.set()

    # -- flushing -------------------------------------------------------------------------

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_interval)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - the writer thread must survive anything
                log.exception("prediction-log flush failed")

    def flush(self) -> int:
        """Write everything buffered now; returns the number of rows written."""
        with self._flush_lock:
            with self._lock:
                if not self._buffers:
                    return 0
                batches, self._buffers = self._buffers, {}
                types = {model: dict(t) for model, t in self._types.items()}
                if self._wal is not None:
                    self._retired.append((self._wal, self._wal_path))  # type: ignore[arg-type]
                    self._open_segment()
            written = 0
            failed: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
            for key, rows in batches.items():
                try:
                    self._write(key, rows, types.get(key[1], {}))
                    written += len(rows)
                except Exception as exc:  # noqa: BLE001 - keep the rows, retry next time
                    self.errors += 1
                    log.warning("prediction-log write failed, will retry: %s", exc)
                    failed[key] = rows
            with self._lock:
                self._pending -= written
                self.written_rows += written
                for key, rows in failed.items():
                    self._buffers.setdefault(key, [])[:0] = rows
                if not failed:
                    for handle, path in self._retired:
                        self._drop_segment(handle, path)
                    self._retired = []
            return written

    def _write(self, key: tuple[str, str, str], rows: list[dict[str, Any]], types: dict[str, str]):
        import pyarrow as pa

        kind, model, date = key
        if kind == PREDICTIONS:
            present = {k for row in rows for k in row if k.startswith("in_")}
            features = {k: types.get(k) or _guess(rows, k) for k in present}
        else:
            features = {}
        schema = arrow_schema(kind, features)
        # Column by column is several times faster than from_pylist (less time holding
        # the GIL, so less latency added to requests served meanwhile).
        table = pa.Table.from_arrays(
            [pa.array([row.get(f.name) for row in rows], f.type) for f in schema], schema=schema
        )
        self._seq += 1
        name = f"{self.writer_id}-{self._seq:06d}.parquet"
        self.sink.write(f"{partition(kind, model, date)}/{name}", table)
        self.files += 1

    # -- write-ahead segments ---------------------------------------------------------------

    def _open_segment(self) -> None:
        assert self.wal_dir is not None
        self._segment += 1
        path = self.wal_dir / f"{self.writer_id}-{self._segment:06d}.wal"
        handle = open(path, "ab")  # noqa: SIM115 - lives as long as the segment
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        self._wal, self._wal_path = handle, path
        self._wal_typed = set()

    @staticmethod
    def _drop_segment(handle: IO[bytes], path: Path | None) -> None:
        if path is not None:
            path.unlink(missing_ok=True)
        handle.close()

    def replay(self) -> int:
        """Turn write-ahead segments left by dead writers into Parquet; returns rows."""
        if self.wal_dir is None:
            return 0
        total = 0
        for path in sorted(self.wal_dir.glob("*.wal")):
            try:
                handle = open(path, "rb")  # noqa: SIM115
            except FileNotFoundError:
                continue
            try:
                try:
                    fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
                except BlockingIOError:
                    continue  # a live writer holds it
                batches: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
                types: dict[str, dict[str, str]] = {}
                for line in handle:
                    try:
                        kind, model, row = orjson.loads(line)
                    except (orjson.JSONDecodeError, ValueError):
                        continue  # the torn last line of a killed writer
                    if kind == "t":
                        types.setdefault(model, {}).update(row)
                        continue
                    batches.setdefault((kind, model, _date(row["ts"])), []).append(row)
                for key, rows in batches.items():
                    self._write(key, rows, types.get(key[1], {}))
                    total += len(rows)
                path.unlink(missing_ok=True)
            finally:
                handle.close()
        if total:
            log.info("replayed %d logged rows from write-ahead files", total)
        self.written_rows += total
        return total


def _guess(rows: list[dict[str, Any]], column: str) -> str:
    for row in rows:
        value = row.get(column)
        if value is None:
            continue
        if isinstance(value, bool) or isinstance(value, str):
            return "string"
        if isinstance(value, int):
            return "int64"
        return "float64"
    return "string"
