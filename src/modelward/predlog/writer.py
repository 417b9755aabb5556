"""The prediction-log writer: off the request path, nothing acknowledged lost.

With a write-ahead folder (the server's mode), ``log_prediction`` / ``log_feedback``
append one JSON line to the current write-ahead segment, handed to the kernel before
returning. A background thread closes the segment every ``flush_rows`` rows or
``flush_ms`` milliseconds and converts it to Parquet with Arrow's JSON reader — C++
that does not hold the GIL, so requests served meanwhile are not slowed — then deletes
it. ``close()`` converts everything (the server calls it on SIGTERM/SIGINT). Without a
write-ahead folder, rows are buffered in memory and converted the same way from Python.

After a crash (SIGKILL, OOM) the next writer that starts with the same write-ahead
folder replays the orphaned segments into Parquet, so the loss is zero for a process
crash. Segments are held with an exclusive ``flock`` while their writer lives (and are
only visible under their ``.wal`` name once locked), so replicas sharing the folder never
replay each other's live segments. A power loss can lose what the kernel had not yet
written to disk (no fsync per row). A torn last line is skipped.

If the Parquet side fails (storage down) segments stay on disk and are retried; the
in-memory mode keeps up to ``max_buffered`` rows, then drops new ones and counts them.
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

from modelward.predlog.layout import (
    FEEDBACK,
    PREDICTION_COLUMNS,
    PREDICTIONS,
    arrow_schema,
    partition,
)
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
        with self._lock:
            if self._pending >= self.max_buffered:
                self.dropped += 1
                return
            known = self._types.setdefault(model, {})
            if types:
                if any(known.get(k) != v for k, v in types.items()):
                    known.update(types)
                    self._wal_typed.discard(model)
            elif kind == PREDICTIONS:
                new = {k: _guess([row], k) for k in row if k.startswith("in_") and k not in known}
                if new:
                    known.update(new)
                    self._wal_typed.discard(model)
            if self._wal is not None:
                # The write-ahead file is the buffer: one JSON object per row, handed to
                # the kernel before the caller answers its client.
                lines = b""
                if kind == PREDICTIONS and model not in self._wal_typed:
                    lines = orjson.dumps({"k": "t", "m": model, "types": known}) + b"\n"
                    self._wal_typed.add(model)
                self._wal.write(lines + orjson.dumps({"k": kind, "m": model, **row}) + b"\n")
                self._wal.flush()
            else:
                key = (kind, model, _date(row["ts"]))
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
        """Write everything logged so far to Parquet; returns the number of rows written."""
        with self._flush_lock:
            if self._wal is not None:
                return self._flush_segments()
            with self._lock:
                if not self._buffers:
                    return 0
                batches, self._buffers = self._buffers, {}
                types = {model: dict(t) for model, t in self._types.items()}
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
            return written

    def _flush_segments(self) -> int:
        """Close the current write-ahead segment and turn every closed one into Parquet.

        The conversion reads the segment with Arrow's JSON reader, which runs in C++
        without the GIL, so requests served meanwhile are not slowed down.
        """
        with self._lock:
            if self._pending:
                self._retired.append((self._wal, self._wal_path))  # type: ignore[arg-type]
                self._pending = 0
                self._open_segment()
            types = {model: dict(t) for model, t in self._types.items()}
        written = 0
        while self._retired:
            handle, path = self._retired[0]
            handle.flush()
            try:
                written += self._convert(path, types)
            except Exception as exc:  # noqa: BLE001 - keep the segment, retry next time
                self.errors += 1
                log.warning("prediction-log write failed, will retry: %s", exc)
                break
            self._retired.pop(0)
            self._drop_segment(handle, path)
        self.written_rows += written
        return written

    def _convert(self, path: Path, types: dict[str, dict[str, str]] | None) -> int:
        """Write one write-ahead segment as Parquet files; returns its rows."""
        import io

        import pyarrow as pa
        import pyarrow.compute as pc
        import pyarrow.json as pj

        data = path.read_bytes()
        if not data.strip():
            return 0
        if types is None:
            types = _types_in(data)
        columns: dict[str, str] = {}
        for model_types in types.values():
            for name, type_ in model_types.items():
                if columns.get(name, type_) != type_:
                    numeric = {columns[name], type_} <= {"int64", "float64"}
                    type_ = "float64" if numeric else "string"
                columns[name] = type_
        fields = [
            pa.field(name, pa.int64() if name == "ts" else _arrow_type(type_))
            for name, type_ in {
                **PREDICTION_COLUMNS,
                "label": "string",
                "k": "string",
                "m": "string",
                **columns,
            }.items()
        ]
        try:
            table = pj.read_json(
                io.BytesIO(data),
                read_options=pj.ReadOptions(use_threads=False, block_size=1 << 22),
                parse_options=pj.ParseOptions(
                    explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore"
                ),
            )
        except (pa.ArrowInvalid, pa.ArrowTypeError):
            return self._convert_slowly(data, types)  # e.g. a torn last line after a kill
        table = table.filter(pc.not_equal(table["k"], "t"))
        stamps = table["ts"].cast(pa.timestamp("us", tz="UTC"))
        table = table.set_column(table.schema.get_field_index("ts"), "ts", stamps)
        dates = pc.strftime(stamps, format="%Y-%m-%d")
        total = 0
        for kind in (PREDICTIONS, FEEDBACK):
            of_kind = pc.equal(table["k"], kind)
            for model in pc.unique(table["m"].filter(of_kind)).to_pylist():
                of_model = pc.and_(of_kind, pc.equal(table["m"], model))
                for date in pc.unique(dates.filter(of_model)).to_pylist():
                    part = table.filter(pc.and_(of_model, pc.equal(dates, date)))
                    features = types.get(model, {}) if kind == PREDICTIONS else {}
                    target = arrow_schema(kind, features)
                    out = pa.Table.from_arrays(
                        [part[f.name].cast(f.type) for f in target], schema=target
                    )
                    self._seq += 1
                    name = f"{self.writer_id}-{self._seq:06d}.parquet"
                    self.sink.write(f"{partition(kind, model, date)}/{name}", out)
                    self.files += 1
                    total += out.num_rows
        return total

    def _convert_slowly(self, data: bytes, types: dict[str, dict[str, str]]) -> int:
        batches: dict[tuple[str, str, str], list[dict[str, Any]]] = {}
        for line in data.splitlines():
            try:
                row = orjson.loads(line)
            except orjson.JSONDecodeError:
                continue  # the torn last line of a killed writer
            kind, model = row.pop("k", None), row.pop("m", None)
            if kind not in (PREDICTIONS, FEEDBACK) or not isinstance(model, str):
                continue
            batches.setdefault((kind, model, _date(row["ts"])), []).append(row)
        for key, rows in batches.items():
            self._write(key, rows, types.get(key[1], {}))
        return sum(len(rows) for rows in batches.values())

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
        tmp = path.with_name(f".{path.name}.new")
        handle = open(tmp, "ab")  # noqa: SIM115 - lives as long as the segment
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        os.replace(tmp, path)  # visible to replay() only once locked
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
                    continue  # a live writer (or another replay) holds it
                try:
                    if os.stat(path).st_ino != os.fstat(handle.fileno()).st_ino:
                        continue
                except FileNotFoundError:
                    continue  # another replay finished it meanwhile
                total += self._convert(path, None)
                path.unlink(missing_ok=True)
            finally:
                handle.close()
        if total:
            log.info("replayed %d logged rows from write-ahead files", total)
        self.written_rows += total
        return total


def _types_in(data: bytes) -> dict[str, dict[str, str]]:
    """The column types declared in a segment's ``{"k":"t", …}`` lines."""
    types: dict[str, dict[str, str]] = {}
    start = data.find(b'{"k":"t"')
    while start != -1:
        end = data.find(b"\n", start)
        try:
            line = orjson.loads(data[start : end if end != -1 else len(data)])
            types.setdefault(line["m"], {}).update(line["types"])
        except (orjson.JSONDecodeError, KeyError, TypeError):
            pass
        start = data.find(b'{"k":"t"', start + 1)
    return types


def _arrow_type(name: str) -> Any:
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    return pa.bool_() if name == "bool" else types[name]


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
