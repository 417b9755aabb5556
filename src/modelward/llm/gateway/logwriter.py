"""The gateway's prediction-log writer (the contract of docs/development: Hive-partitioned
Parquet under ``<logs>/predictions/model=<name>/date=<YYYY-MM-DD>/``).

Rows are buffered in memory and written by a background thread every ``flush_ms``
milliseconds (or ``flush_rows`` rows), to a temporary name and renamed, so a reader never
sees a partial file and the request path never waits for storage.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

__all__ = ["PredictionLog"]

log = logging.getLogger("modelward.llm.gateway")

COLUMNS = (
    ("request_id", "string"),
    ("ts", "ts"),
    ("version", "int64"),
    ("environment", "string"),
    ("status", "string"),
    ("error", "string"),
    ("latency_ms", "float64"),
    ("prediction", "string"),
    ("score", "float64"),
    ("proba", "string"),
    ("in_prompt_hash", "string"),
    ("query_type", "string"),
    ("input_tokens", "int64"),
    ("output_tokens", "int64"),
    ("cost", "float64"),
    ("cache_hit", "bool"),
    ("api_key", "string"),
)


def _schema() -> Any:
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "int64": pa.int64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "ts": pa.timestamp("us", tz="UTC"),
    }
    return pa.schema([(name, types[kind]) for name, kind in COLUMNS])


class PredictionLog:
    def __init__(self, logs_url: str, *, flush_ms: int = 1000, flush_rows: int = 1000) -> None:
        self.logs_url = logs_url
        self.flush_s = flush_ms / 1000
        self.flush_rows = flush_rows
        host = "".join(c if c.isalnum() else "-" for c in socket.gethostname())[:24]
        self.writer_id = f"gw-{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"
        self._seq = 0
        self._rows: list[tuple[str, dict[str, Any]]] = []
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.written = 0

    def add(self, model: str, row: dict[str, Any]) -> None:
        with self._lock:
            self._rows.append((model, row))
            full = len(self._rows) >= self.flush_rows
        if self._thread is None:
            self.start()
        if full:
            self._wake.set()

    def start(self) -> None:
        with self._lock:
            if self._thread is not None:
                return
            self._thread = threading.Thread(target=self._loop, name="llm-predlog", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(self.flush_s)
            self._wake.clear()
            try:
                self.flush()
            except Exception:  # noqa: BLE001 - keep serving; rows stay for the next try
                log.exception("writing the prediction log failed; will retry")

    def flush(self) -> int:
        with self._lock:
            rows, self._rows = self._rows, []
        if not rows:
            return 0
        import fsspec
        import pyarrow as pa
        import pyarrow.parquet as pq

        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for model, row in rows:
            groups[(model, row["ts"].strftime("%Y-%m-%d"))].append(row)
        schema = _schema()
        try:
            for (model, day), batch in groups.items():
                table = pa.Table.from_pylist(batch, schema=schema)
                self._seq += 1
                folder = f"{self.logs_url.rstrip('/')}/predictions/model={model}/date={day}"
                name = f"{self.writer_id}-{self._seq:06d}.parquet"
                fs, path = fsspec.core.url_to_fs(folder)
                fs.makedirs(path, exist_ok=True)
                tmp = f"{path}/.{name}.tmp"
                with fs.open(tmp, "wb") as handle:
                    pq.write_table(table, handle)
                fs.mv(tmp, f"{path}/{name}")
        except Exception:
            with self._lock:
                self._rows[:0] = rows
            raise
        self.written += len(rows)
        return len(rows)

    def close(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.flush()


def now() -> datetime:
    return datetime.now(UTC)
