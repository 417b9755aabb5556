"""The prediction-log writer: off the request path, nothing answered lost, nothing refused
logged as answered, and no row or outage that stops it.

With a write-ahead folder (the server's mode), ``log_prediction`` / ``log_feedback``
append one JSON line per row to the open write-ahead segment (:mod:`.segment`), handed to
the kernel before returning; a batch is appended whole or not at all. The segment makes
each row durable, and readers given the folder read the rows of its segments too
(:mod:`.unpublished`), so Parquet files need not be published often: a background thread
closes the segment once it holds ``flush_rows`` rows (:data:`ROLL_ROWS`) or is
``flush_ms`` milliseconds old (:data:`ROLL_MS`) and publishes it as Parquet (Arrow's JSON
reader: C++ that does not hold the GIL, so requests served meanwhile are not slowed), one
file per partition named after the segment and carrying its name in the file's metadata,
then deletes it. A day is then a few hundred files per replica, not one a second (reading
tens of thousands of small files made a daily check slow before ``logs compact``).
``close()`` publishes everything (the server calls it on SIGTERM/SIGINT) and says whether
it could. Without a write-ahead folder, rows are buffered in memory (invisible to readers
until published) and converted the same way from Python.

What can go wrong, and what the writer does:

- A row Arrow cannot store (an integer beyond int64, a torn line) goes to
  ``<logs>/quarantine/<segment>.jsonl`` with the reason, named in an error log line and
  counted (:attr:`quarantined`); the other rows are published.
- Log storage down (full, unreachable): segments stay in the write-ahead folder and are
  retried with backoff (up to :data:`MAX_RETRY_S`); the writer starts anyway.
- The write-ahead folder cannot take a row (disk full): the append is undone and raises
  :class:`~modelward.errors.LogUnavailable`; :attr:`problem` says why until a probe finds
  room again (every :data:`PROBE_S`).
- Log storage down for long: the write-ahead folder grows. Given a bound (``max_wal_bytes``,
  policy.yml's ``serving.wal_max_mb``), a warning line is logged and :attr:`wal_warning`
  says so once the folder holds :data:`WAL_WARN_SHARE` of it; at the bound an append
  raises LogUnavailable and :attr:`problem` says why (the server answers 503, not ready)
  until publishing has made room — rows are refused before they are answered, never
  dropped after.
- A new segment cannot be opened (out of file descriptors): the writer keeps appending to
  the open one and tries again next round.
- A writer that dies (SIGKILL, OOM) leaves its segments unlocked: any live writer on the
  folder adopts them (at start and every :data:`ADOPT_S`) and publishes them once — the
  lock decides who, and a segment published before a crash could delete it is not
  written again.

A power loss can lose what the kernel had not yet written to disk (no fsync per row).
"""

from __future__ import annotations

import logging
import os
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Callable, Iterable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from modelward.errors import LogUnavailable, StorageError
from modelward.predlog.convert import Key, convert_rows, day_of, guess_type, json_line
from modelward.predlog.layout import FEEDBACK, PREDICTIONS
from modelward.predlog.publish import (
    STORAGE_EXIT,
    Published,
    publish_converted,
    publish_segment,
)
from modelward.predlog.segment import Segment, rows_in
from modelward.predlog.sink import Sink, open_sink
from modelward.timeutil import micros

__all__ = ["LogWriter", "new_writer_id"]

log = logging.getLogger("modelward.predlog")

#: How often a live writer looks for segments of dead writers to publish (seconds).
ADOPT_S = 5.0
#: How often a writer whose write-ahead folder refused a row checks for room again.
PROBE_S = 0.5
#: The longest wait between two attempts to publish while log storage is down.
MAX_RETRY_S = 30.0
#: Rows after which a segment is published (``serving.flush_rows``): a file of this many
#: rows reads at Parquet's speed, and its conversion holds ~50 MB of JSON at most.
ROLL_ROWS = 100_000
#: Age after which a segment is published (``serving.flush_ms``, 10 minutes): a quiet
#: log's rows reach Parquet this soon; readers of the folder see them at once anyway.
ROLL_MS = 600_000
#: The longest a publishing process may take (``separate_process``) before it is stopped
#: and its segment retried, as when storage is down.
PUBLISH_TIMEOUT_S = 300.0
#: The share of ``max_wal_bytes`` from which the writer warns that the bound nears.
WAL_WARN_SHARE = 0.8
#: Within how long a row logged through a write-ahead folder can be read by a reader of
#: that folder (its append precedes the response; a new segment is renamed into place).
VISIBLE_S = 1.0


def new_writer_id() -> str:
    host = "".join(c if c.isalnum() else "-" for c in socket.gethostname())[:24] or "host"
    return f"{host}-{os.getpid()}-{uuid.uuid4().hex[:6]}"


class LogWriter:
    """Buffers rows, writes Parquet in the background. Use as a context manager or
    call :meth:`start` and :meth:`close`."""

    def __init__(
        self,
        logs_url: str,
        *,
        wal_dir: str | Path | None = None,
        flush_rows: int = ROLL_ROWS,
        flush_ms: int = ROLL_MS,
        max_buffered: int = 1_000_000,
        writer_id: str | None = None,
        sink: Sink | None = None,
        on_quarantine: Callable[[str, int, str], None] | None = None,
        max_wal_bytes: int | None = None,
        separate_process: bool = False,
    ) -> None:
        """``on_quarantine(file, rows, reason)`` is called when rows are set aside (the
        server raises an alert). ``max_wal_bytes``: the most the write-ahead folder may
        hold (None: as much as its disk takes). ``separate_process``: with a write-ahead
        folder and no ``sink`` given, each segment is published by a process of its own
        (:mod:`.publish`): a server's memory and GIL stay its requests'."""
        self.sink = sink or open_sink(logs_url)
        self.logs_url = logs_url
        self.apart = separate_process and wal_dir is not None and sink is None
        self.on_quarantine = on_quarantine
        self.writer_id = writer_id or new_writer_id()
        self.flush_rows = flush_rows
        self.flush_interval = flush_ms / 1000
        self.max_buffered = max_buffered
        self.wal_dir = Path(wal_dir) if wal_dir is not None else None
        self.max_wal_bytes = max_wal_bytes
        #: Bytes of the write-ahead folder's segments (counted each round, and per append).
        self.wal_bytes = 0
        #: Set while the folder holds WAL_WARN_SHARE of max_wal_bytes or more: what to say.
        self.wal_warning: str | None = None
        self._at_bound = False
        self._lock = threading.Lock()  # appends, the open segment, the counts
        self._flush_lock = threading.Lock()  # one publishing round at a time
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._buffers: dict[Key, list[dict[str, Any]]] = {}
        self._types: dict[str, dict[str, str]] = {}
        self._pending = 0  # rows in the open segment (or buffered in memory)
        self._seq = 0
        self._segment: Segment | None = None
        self._wal_typed: set[str] = set()  # models whose types the open segment declares
        self._backlog: dict[str, int] = {}  # closed segments of ours not yet published: rows
        self._fresh: set[str] = set()  # ours, never tried: cannot be in Parquet yet
        self._failing: dict[str, str] = {}  # what is failing now (logged once), and why
        self._delay = min(self.flush_interval, 1.0)
        self._retry_at = 0.0
        self._next_rotate = time.monotonic() + self.flush_interval
        self._next_adopt = time.monotonic() + min(ADOPT_S, self.flush_interval)
        #: Why the log cannot take rows now (None when it can): the server is not ready.
        self.problem: str | None = None
        self.dropped = 0
        self.quarantined = 0
        self.written_rows = 0
        self.files = 0
        self.errors = 0
        self.flushed = False  # set by close(): everything logged reached Parquet

    # -- lifecycle ------------------------------------------------------------------------

    def start(self) -> LogWriter:
        """Publish what dead writers left (storage down: later), open a segment, start the
        background thread. Never raises: what fails is retried, and :attr:`problem` says
        when rows cannot be taken."""
        if self.wal_dir is not None:
            self._publish_closed()
            with self._lock:
                self._measure()  # what dead writers left counts against the bound
                self._open_segment()
        self._thread = threading.Thread(target=self._run, name="predlog-writer", daemon=True)
        self._thread.start()
        return self

    def close(self) -> bool:
        """Publish everything and stop the background thread; True when nothing of ours
        is left unpublished (else it stays in the write-ahead folder for the next start)."""
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=60)
            self._thread = None
        with self._flush_lock:
            if self.wal_dir is None:
                self._flush_memory()
            else:
                with self._lock:
                    segment, self._segment = self._segment, None
                    if segment is not None:
                        self._retire(segment)
                self._publish_closed()
        self.flushed = self.queued == 0
        return self.flushed

    def __enter__(self) -> LogWriter:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def visible_within(self) -> float:
        """Seconds within which a logged row is readable by the log's readers: those of
        the write-ahead folder see it at once, the others once it is published."""
        return VISIBLE_S if self.wal_dir is not None else self.flush_interval

    @property
    def queued(self) -> int:
        """Rows logged here and not yet in Parquet (stuck ones included)."""
        with self._lock:
            return self._pending + sum(self._backlog.values())

    # -- appending ------------------------------------------------------------------------

    def log_prediction(
        self, model: str, row: dict[str, Any], types: dict[str, str] | None = None
    ) -> None:
        """One served prediction. ``row["ts"]`` is microseconds since the epoch (UTC) or a
        datetime; ``types`` maps its ``in_*`` columns to float64 / int64 / string."""
        self._append(PREDICTIONS, model, [row], types)

    def log_predictions(
        self, model: str, rows: Iterable[dict[str, Any]], types: dict[str, str] | None = None
    ) -> None:
        """Rows of one request: logged all together, or none (LogUnavailable)."""
        self._append(PREDICTIONS, model, list(rows), types)

    def log_prediction_lines(
        self, model: str, lines: bytes, rows: int, types: dict[str, str] | None = None
    ) -> None:
        """Rows of one request already encoded, one JSON object line each with ``"k":
        "predictions"``, ``"m": model`` and ``ts`` in microseconds (what :func:`json_line`
        writes): the server's hot path, appended as they are. All or none (LogUnavailable)."""
        with self._lock:
            whole = self.wal_dir is not None and self._pending + rows <= self.max_buffered
            if whole:
                self._note_types(PREDICTIONS, model, [], types)
                self._append_segment(PREDICTIONS, model, [], lines)
                crossed = self._pending < self.flush_rows <= self._pending + rows
                self._pending += rows
        if not whole:  # kept in memory, or too many rows: as rows
            decoded = [orjson.loads(line) for line in lines.splitlines()]
            self._append(PREDICTIONS, model, [_without_km(row) for row in decoded], types)
        elif crossed:
            self._wake.set()

    def log_feedback(
        self,
        model: str,
        request_id: str,
        label: str | None,
        ts: datetime | int | None = None,
        *,
        satisfaction: float | None = None,
        correct: bool | None = None,
        comment: str | None = None,
    ) -> None:
        """Feedback on one request: a ground-truth ``label``, or (an LLM answer's rating) a
        ``satisfaction`` in 0..1, ``correct`` and a ``comment`` (the caller redacts it);
        what is None is stored as null, and a null label never replaces an earlier one."""
        when = ts if ts is not None else datetime.now(UTC)
        row: dict[str, Any] = {
            "request_id": request_id,
            "ts": when,
            "label": None if label is None else str(label),
        }
        extra = {"satisfaction": satisfaction, "correct": correct, "comment": comment}
        row.update({k: v for k, v in extra.items() if v is not None})
        self._append(FEEDBACK, model, [row], None)

    def _append(
        self, kind: str, model: str, rows: list[dict[str, Any]], types: dict[str, str] | None
    ) -> None:
        rows = [_stamped(row) for row in rows]
        with self._lock:
            room = max(0, self.max_buffered - self._pending)
            if len(rows) > room:
                self.dropped += len(rows) - room
                rows = rows[:room]
            if not rows:
                return
            self._note_types(kind, model, rows, types)
            if self.wal_dir is None:
                for row in rows:
                    self._buffers.setdefault((kind, model, day_of(row["ts"])), []).append(row)
            else:
                self._append_segment(kind, model, rows)
            crossed = self._pending < self.flush_rows <= self._pending + len(rows)
            self._pending += len(rows)
        if crossed:  # once per crossing: a writer in backoff is not woken at every row
            self._wake.set()

    def _note_types(
        self, kind: str, model: str, rows: list[dict[str, Any]], types: dict[str, str] | None
    ) -> None:
        known = self._types.setdefault(model, {})
        if types:
            new = {k: v for k, v in types.items() if known.get(k) != v}
        elif kind == PREDICTIONS:
            names = {k for row in rows for k in row if k.startswith("in_") and k not in known}
            new = {k: guess_type(rows, k) for k in names}
        else:
            new = {}
        if new:
            known.update(new)
            self._wal_typed.discard(model)

    def _append_segment(
        self, kind: str, model: str, rows: list[dict[str, Any]], lines: bytes | None = None
    ) -> None:
        """Append ``rows`` (or ``lines``, rows encoded) to the open segment as one write
        (under ``_lock``)."""
        segment = self._open_segment()
        if segment is None:
            raise LogUnavailable(f"{self.problem or 'the prediction log is closed'}; retry shortly")
        head = b""
        if kind == PREDICTIONS and model not in self._wal_typed:
            head = orjson.dumps({"k": "t", "m": model, "types": self._types[model]}) + b"\n"
        if lines is None:
            lines = b"".join(json_line({"k": kind, "m": model, **row}) for row in rows)
        data = head + lines
        if self.max_wal_bytes is not None and self.wal_bytes + len(data) > self.max_wal_bytes:
            self._over_bound()
            raise LogUnavailable(f"{self.problem}; retry shortly")
        try:
            segment.append(data)
        except OSError as exc:
            self._cannot_append(exc)
            if segment.broken:  # part of this append may be in it: it takes no more rows
                self._segment = None
                self._retire(segment)
            raise LogUnavailable(f"{self.problem}; retry shortly") from exc
        self.wal_bytes += len(data)
        if self.wal_warning is None and self._nearing():
            self._warn()  # said by the append that crossed, before any later one can be refused
            self._wake.set()  # and a round measures the folder now, not at its next retry
        if head:
            self._wal_typed.add(model)

    # -- the write-ahead folder -----------------------------------------------------------

    def _open_segment(self) -> Segment | None:
        """The open segment, opened when there is none (under ``_lock``); None when it
        cannot be (:attr:`problem` says why)."""
        if self._segment is None and self.wal_dir is not None and not self._stop.is_set():
            try:
                self._segment = self._new_segment()
            except OSError as exc:
                self._cannot_append(exc)
        return self._segment

    def _new_segment(self) -> Segment:
        assert self.wal_dir is not None
        self.wal_dir.mkdir(parents=True, exist_ok=True)
        self._seq += 1
        segment = Segment.create(self.wal_dir, f"{self.writer_id}-{self._seq:06d}")
        self._wal_typed = set()
        self._fresh.add(segment.path.name)
        return segment

    def _retire(self, segment: Segment) -> None:
        """Close ``segment`` for publishing (under ``_lock``); an empty one is deleted."""
        if self._pending:
            self._backlog[segment.path.name] = self._pending
            self._pending = 0
            segment.close()
        else:
            self._fresh.discard(segment.path.name)
            segment.delete()

    def _rotate(self) -> None:
        """Close the open segment and open the next; when the next cannot be opened (out of
        file descriptors), keep the open one and try again next round."""
        with self._lock:
            if self._segment is None or self._pending == 0:
                self._open_segment()
                return
            try:
                segment = self._new_segment()
            except OSError as exc:
                self._failed(
                    "rotate",
                    f"cannot open a new write-ahead segment ({exc}); "
                    "appending to the open one and trying again",
                )
                return
            self._recovered("rotate", "write-ahead segments open again")
            old, self._segment = self._segment, segment
            self._retire(old)

    def _cannot_append(self, exc: OSError) -> None:
        reason = f"the write-ahead folder {self.wal_dir} cannot take rows: {exc.strerror or exc}"
        if self.problem is None:
            log.error("%s; answering 503 until it can (checked every %g s)", reason, PROBE_S)
        self.problem = reason
        self._wake.set()

    def _probe(self) -> None:
        """Clear :attr:`problem` once the write-ahead folder takes rows again."""
        with self._lock:
            segment = self._open_segment()
            if segment is None:
                return
            try:
                segment.check_room()
            except OSError as exc:
                self._cannot_append(exc)
                return
            if segment.broken:
                self._segment = None
                self._retire(segment)
                return
            self._measure()
            if self._full():
                return
            self.problem = None
        log.info("the write-ahead folder %s takes rows again; ready", self.wal_dir)

    # -- the bound on the write-ahead folder ------------------------------------------------

    def _measure(self) -> None:
        """Count the bytes of the folder's segments (ours, and those dead writers left), and
        warn once when they near the bound (say once when they no longer do)."""
        if self.wal_dir is None:
            return
        try:
            with os.scandir(self.wal_dir) as entries:
                sizes = [e.stat().st_size for e in entries if e.name.endswith(".wal")]
        except OSError:
            return  # the round that lists the folder says what is wrong
        self.wal_bytes = sum(sizes)
        if self.max_wal_bytes is None or not self._nearing():
            if self.wal_warning is not None:
                log.info("the write-ahead folder %s is below its bound again", self.wal_dir)
            self.wal_warning = None
            return
        self._warn()

    def _warn(self) -> None:
        """Say (a log line the first time, :attr:`wal_warning` always) that the folder nears
        its bound."""
        bound = self.max_wal_bytes or 0
        warning = (
            f"the write-ahead folder {self.wal_dir} holds {_mb(self.wal_bytes)} of rows not yet "
            f"published, {self.wal_bytes / bound:.0%} of its bound serving.wal_max_mb "
            f"({_mb(bound)}): log storage is not taking rows "
            f"({self._failing.get('publish', 'publishing is behind')}); at the bound "
            "requests are answered 503"
        )
        if self.wal_warning is None:
            log.warning(warning, extra={"wal_bytes": self.wal_bytes, "wal_max_bytes": bound})
        self.wal_warning = warning

    def _nearing(self) -> bool:
        bound = self.max_wal_bytes
        return bound is not None and self.wal_bytes >= WAL_WARN_SHARE * bound

    def _full(self) -> bool:
        """Whether the folder is still full (under ``_lock``; :attr:`problem` then says so):
        once at its bound, until publishing has brought it below WAL_WARN_SHARE of it, so
        a server does not flap between ready and not ready at the bound."""
        if not self._at_bound:
            return False
        if self._nearing():
            self._over_bound()
            return True
        self._at_bound = False
        return False

    def _over_bound(self) -> None:
        reason = (
            f"the write-ahead folder {self.wal_dir} is at its bound serving.wal_max_mb "
            f"({_mb(self.max_wal_bytes or 0)}) with rows log storage has not taken "
            f"({self._failing.get('publish', 'publishing is behind')})"
        )
        self._at_bound = True
        if self.problem is None:
            log.error(
                "%s; answering 503 until publishing makes room (checked every %g s)",
                reason,
                PROBE_S,
            )
        self.problem = reason
        self._wake.set()

    # -- publishing -----------------------------------------------------------------------

    def _run(self) -> None:
        if not self.apart:
            _warm_imports()  # before a shortage of file descriptors could stop an import
        while not self._stop.is_set():
            self._wake.wait(self._sleep())
            self._wake.clear()
            if self._stop.is_set():
                break
            try:
                self._round(force=False)
            except Exception:  # noqa: BLE001 - the writer thread must survive anything
                self.errors += 1
                log.exception("prediction-log round failed")

    def _sleep(self) -> float:
        due = max(self._retry_at, min(self._next_rotate, self._next_adopt)) - time.monotonic()
        return max(0.01, min(due, PROBE_S) if self.problem else due)

    def replay(self) -> int:
        """Publish the closed segments of the write-ahead folder now, without starting the
        writer (a restore, a tool); returns the rows written. Raises StorageError when
        storage cannot take them (they stay in the folder)."""
        if self.wal_dir is None:
            return 0
        before = self.written_rows
        with self._flush_lock:
            if not self._publish_closed():
                raise StorageError(
                    f"cannot publish the write-ahead segments of {self.wal_dir}: "
                    f"{self._failing.get('publish', 'storage failed')}"
                )
        return self.written_rows - before

    def flush(self) -> int:
        """Publish everything logged so far (now, whatever the backoff); returns the rows
        written."""
        return self._round(force=True)

    def _round(self, *, force: bool) -> int:
        with self._flush_lock:
            if self.problem:
                self._probe()
            elif self.max_wal_bytes is not None:
                with self._lock:
                    self._measure()
            now = time.monotonic()
            if not force and now < self._retry_at:
                return 0
            rotate = force or now >= self._next_rotate or self._pending >= self.flush_rows
            adopt = self.wal_dir is not None and now >= self._next_adopt
            if not (rotate or adopt):
                return 0
            before = self.written_rows
            if self.wal_dir is None:
                ok = self._flush_memory()
            else:
                if rotate:
                    self._rotate()
                ok = self._publish_closed()
                with self._lock:
                    self._measure()  # what publishing made room for
            if self.written_rows != before and not self.apart:
                _give_back_memory()
            if rotate:
                self._next_rotate = now + self.flush_interval
            self._next_adopt = now + min(ADOPT_S, self.flush_interval)
            if ok:
                self._delay, self._retry_at = min(self.flush_interval, 1.0), 0.0
            else:
                self._retry_at = now + self._delay
                self._delay = min(self._delay * 2, MAX_RETRY_S)
            return self.written_rows - before

    def _publish_closed(self) -> bool:
        """Publish every closed segment in the folder whose lock is free (ours, and those
        dead writers left); False when storage failed (retried later)."""
        assert self.wal_dir is not None
        current = self._segment.path if self._segment is not None else None
        try:
            paths = sorted(p for p in self.wal_dir.glob("*.wal") if p != current)
        except OSError as exc:
            self._failed("publish", f"cannot list the write-ahead folder {self.wal_dir}: {exc}")
            return False
        with self._lock:  # segments of ours another writer published meanwhile
            listed = {p.name for p in paths}
            for name in [n for n in self._backlog if n not in listed]:
                del self._backlog[name]
        for path in paths:
            try:
                self._publish_segment(path)
            except (OSError, StorageError) as exc:  # storage down, no descriptors left
                self.errors += 1
                self._failed(
                    "publish",
                    f"cannot publish the prediction log ({exc}); rows stay in {self.wal_dir} "
                    f"and are retried (at most every {MAX_RETRY_S:g} s)",
                )
                return False
            except Exception:  # noqa: BLE001 - a bug: this segment waits, the others flow
                self.errors += 1
                log.exception("publishing the write-ahead segment %s failed", path)
        self._recovered("publish", "the prediction log is published again")
        return True

    def _publish_segment(self, path: Path) -> None:
        name = path.name

        def failed(rows: int) -> None:  # it stays; it may be part published: check next
            self._fresh.discard(name)
            with self._lock:
                self._backlog[name] = rows

        publish = self._publish_apart if self.apart else self._publish_here
        done = publish(path, name not in self._fresh, failed)
        with self._lock:
            self._backlog.pop(name, None)
        if done is None:  # another process holds it (or published it meanwhile)
            return
        self._fresh.discard(name)
        self._count(done)
        if done.written and not name.startswith(self.writer_id):
            log.info("published %d logged rows a stopped writer left in %s", done.written, name)

    def _publish_here(
        self, path: Path, check: bool, failed: Callable[[int], None]
    ) -> Published | None:
        return publish_segment(self.sink, path, check=check, failed=failed)

    def _publish_apart(
        self, path: Path, check: bool, failed: Callable[[int], None]
    ) -> Published | None:
        """The segment published by ``python -m modelward.predlog.publish`` (see there)."""
        argv = [sys.executable, "-m", "modelward.predlog.publish", self.logs_url, str(path)]
        try:
            done = subprocess.run(
                [*argv, *(["--check"] if check else [])],
                capture_output=True, text=True, timeout=PUBLISH_TIMEOUT_S, check=False,
            )  # fmt: skip
        except subprocess.TimeoutExpired as exc:
            failed(_rows_of(path))
            late = f"publishing {path.name} took longer than {PUBLISH_TIMEOUT_S:g} s"
            raise StorageError(late) from exc
        said = _last_json(done.stdout)
        if done.returncode == STORAGE_EXIT and said is not None:
            failed(int(said.get("rows", 0)))
            raise StorageError(str(said["storage"]))
        if done.returncode != 0 or said is None:
            failed(_rows_of(path))
            why = (done.stderr.strip().splitlines() or ["no output"])[-1]
            raise RuntimeError(f"the publishing process exited with {done.returncode}: {why}")
        if said.get("claimed") is False:
            return None
        aside = said.get("aside")
        return Published(
            int(said["written"]), int(said["files"]), None if aside is None else tuple(aside)
        )

    def _count(self, done: Published) -> None:
        self.files += done.files
        self.written_rows += done.written
        if done.aside is not None:
            self._said_aside(*done.aside)

    def _said_aside(self, where: str, rows: int, reason: str) -> None:
        self.quarantined += rows
        log.error(
            "%d prediction-log row(s) cannot be stored in Parquet (%s); set aside in %s, "
            "the other rows are published",
            rows,
            reason,
            where,
            extra={"quarantined_rows": rows, "file": where},
        )
        if self.on_quarantine is not None:
            try:
                self.on_quarantine(where, rows, reason)
            except Exception:  # noqa: BLE001 - the alert is extra; the log line is out
                log.exception("the quarantine alert failed")

    def _flush_memory(self) -> bool:
        with self._lock:
            batches, self._buffers = self._buffers, {}
            types = {model: dict(t) for model, t in self._types.items()}
        failed: dict[Key, list[dict[str, Any]]] = {}
        for key, rows in batches.items():
            self._seq += 1
            try:
                stem = f"{self.writer_id}-{self._seq:06d}"
                converted = convert_rows({key: rows}, types)
                self._count(publish_converted(self.sink, stem, converted, check=False))
            except (OSError, StorageError) as exc:  # keep the rows, retry next time
                self.errors += 1
                self._failed("publish", f"prediction-log write failed, will retry: {exc}")
                failed[key] = rows
        with self._lock:
            self._pending -= sum(len(rows) for key, rows in batches.items() if key not in failed)
            for key, rows in failed.items():
                self._buffers.setdefault(key, [])[:0] = rows
        if not failed:
            self._recovered("publish", "the prediction log is published again")
        return not failed

    # -- saying what fails, once ----------------------------------------------------------

    def _failed(self, what: str, message: str) -> None:
        if self._failing.get(what) is None:
            log.warning(message)
        self._failing[what] = message

    def _recovered(self, what: str, message: str) -> None:
        if self._failing.pop(what, None) is not None:
            log.info(message)


def _mb(size: float) -> str:
    return f"{size / 2**20:,.1f} MB"


def _without_km(row: dict[str, Any]) -> dict[str, Any]:
    row.pop("k", None)
    row.pop("m", None)
    return row


def _stamped(row: dict[str, Any]) -> dict[str, Any]:
    ts = row.get("ts")
    if isinstance(ts, datetime):
        return {**row, "ts": micros(ts)}
    if ts is None:
        return {**row, "ts": micros(datetime.now(UTC))}
    return row


def _rows_of(path: Path) -> int:
    """The rows of a segment a publishing process left behind (it stopped or crashed), for
    the queue's count; 0 when it cannot be read."""
    try:
        return rows_in(path.read_bytes())
    except OSError:
        return 0


def _last_json(text: str) -> dict[str, Any] | None:
    """The last line of a publishing process's output, as the JSON object it should be."""
    lines = text.strip().splitlines()
    try:
        found = orjson.loads(lines[-1]) if lines else None
    except orjson.JSONDecodeError:
        return None
    return found if isinstance(found, dict) else None


def _give_back_memory() -> None:
    """Return what a conversion freed to the system: Arrow's allocator keeps freed pages
    for reuse, and a server that published 100,000 rows kept ~90 MB more than it needs
    between publishings."""
    import pyarrow as pa

    pa.default_memory_pool().release_unused()


def _warm_imports() -> None:
    try:
        import pyarrow.compute  # noqa: F401
        import pyarrow.json  # noqa: F401
        import pyarrow.parquet  # noqa: F401
    except Exception:  # noqa: BLE001 - the round that needs them will say what is wrong
        pass
