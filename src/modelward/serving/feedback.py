"""Feedback: ground-truth labels for earlier predictions, without a log scan per request.

Which model served a request id is known from memory for the ids this process predicted
recently (the app's ``recent``) and for ids it looked up before. Those are answered at
once: 200 ``{"accepted", "duplicates", "unknown"}``. Any other id is accepted for later:
the request is answered 202 with ``"pending"`` and a ``ticket`` (``Location:
/v1/feedback/<ticket>``), and the *resolver*, one background thread, reads the
prediction log once per batch of pending ids (never on the event loop, never on the
thread pool that runs models), stores the labels it can place and reports on the ticket
the ids no prediction has and the labels that are not a class of their model. An id the
log does not have is declared unknown only after another process's writer had time to
log it (``settle_s``: the reader reads the write-ahead folder too). A re-sent item is
then known in memory and answered at once.
"""

from __future__ import annotations

import logging
import threading
import time
import uuid
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Any

from modelward.errors import NotFound, Overloaded, SchemaError
from modelward.predlog.engines.duckdb import DuckDBEngine
from modelward.predlog.reader import LogReader

if TYPE_CHECKING:
    from modelward.predlog.writer import LogWriter
    from modelward.serving.state import ServingState

__all__ = ["Feedback", "label_text"]

log = logging.getLogger("modelward.serving")

REMEMBER = 100_000  # ids looked up, labels seen, ids kept on tickets (each, at most)
MAX_PENDING = 100_000  # labels waiting for the resolver; beyond, feedback is a 503
MAX_TICKETS = 10_000
_MAX_DELAY = 30.0  # seconds between retries while the log cannot be read


@dataclass
class Ticket:
    id: str
    pending: int
    accepted: int = 0
    duplicates: int = 0
    unknown: list[str] = field(default_factory=list)
    rejected: list[dict[str, str]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return {
            "ticket": self.id,
            "pending": self.pending,
            "accepted": self.accepted,
            "duplicates": self.duplicates,
            "unknown": sorted(set(self.unknown)),
            "rejected": list(self.rejected),
        }


@dataclass
class _Item:
    rid: str
    label: Any
    where: str  # the label's field in the request, for a rejection
    ticket: Ticket
    due: float  # declared unknown only by a read that starts later (others' flushes)
    read: bool = False


class Feedback:
    def __init__(
        self,
        state: ServingState,
        writer: LogWriter,
        recent: OrderedDict[str, str],
        *,
        on_stored: Callable[[str], None],
        settle_s: float,
        interval_s: float = 0.2,
    ) -> None:
        self.state = state
        self.writer = writer
        self.recent = recent  # request id -> model, kept by the app as it predicts
        self.on_stored = on_stored
        self.settle_s = settle_s
        self.interval_s = interval_s
        self.reads = 0  # log reads, one per batch
        self._reader: LogReader | None = None  # opened by the first read
        self._looked_up: OrderedDict[str, str | None] = OrderedDict()  # None: no prediction
        self._seen: OrderedDict[str, str] = OrderedDict()  # request id -> label stored
        self._tickets: OrderedDict[str, Ticket] = OrderedDict()
        self._kept = 0  # unknown and rejected ids the tickets hold
        self._queue: list[_Item] = []
        self._lock = threading.Lock()
        self._wake = threading.Condition(self._lock)
        self._closing = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the request path (event loop): memory only -----------------------------------------

    def submit(
        self, items: list[tuple[str, Any, str | None]], single: bool
    ) -> tuple[int, dict[str, Any], list[tuple[bytes, bytes]]]:
        """Status, body and headers of the answer to a feedback request."""
        known: dict[int, str] = {}
        unknown: list[str] = []
        later: list[int] = []
        served = {route.model for route in list(self.state.routes.values())}
        for i, (rid, _, hint) in enumerate(items):
            if hint is not None and hint not in served:  # a name, never a path: exact names
                raise SchemaError(
                    f"model {hint!r} is not served here; leave model out (the server finds "
                    f"it from the request id) or send one of {', '.join(sorted(served))}",
                    field="model" if single else f"[{i}].model",
                )
            model = hint or self.recent.get(rid)
            if model is None:
                with self._lock:
                    if rid not in self._looked_up:
                        later.append(i)
                        continue
                    model = self._looked_up[rid]
            if model is None:
                unknown.append(rid)
            else:
                known[i] = model
        if single and unknown:
            raise NotFound(
                f"no prediction with request_id {unknown[0]!r} is known; send the id a "
                "prediction returned (feedback for a model name not served here is refused)",
                field="request_id",
            )
        where = ["label" if single else f"[{i}].label" for i in range(len(items))]
        texts = {i: self.text(m, items[i][1], where[i]) for i, m in known.items()}  # 422 first
        if later and len(self._queue) + len(later) > MAX_PENDING:
            raise Overloaded(
                f"{len(self._queue)} feedback labels are waiting to be matched with their "
                "predictions; send these again in a few seconds"
            )
        stored = [self.store(known[i], items[i][0], text) for i, text in texts.items()]
        body: dict[str, Any] = {
            "accepted": stored.count(True),
            "duplicates": stored.count(False),
            "unknown": sorted(set(unknown)),
        }
        if not later:
            return 200, body, []
        ticket = self._defer([(items[i][0], items[i][1], where[i]) for i in later])
        body.update(pending=len(later), ticket=ticket.id)
        return 202, body, [(b"location", f"/v1/feedback/{ticket.id}".encode())]

    def status(self, ticket_id: str) -> dict[str, Any]:
        with self._lock:
            ticket = self._tickets.get(ticket_id)
            if ticket is None:
                raise NotFound(
                    f"no feedback ticket {ticket_id!r} here; a ticket is answered by the "
                    f"server process that issued it, for its last {MAX_TICKETS} tickets",
                    field="ticket",
                )
            return ticket.to_dict()

    def text(self, model: str, label: Any, where: str) -> str:
        """The label as stored, or a SchemaError when it is not a class of ``model``."""
        served = [m for m in list(self.state.models.values()) if m.name == model]
        task = served[0].task if served else "unknown"
        text = label_text(label, task)
        if any(m.task == "regression" or not m.classes for m in served):
            return text
        classes = {label_text(c, m.task) for m in served for c in m.classes or ()}
        if classes and text not in classes:
            raise SchemaError(
                f"label {label!r} is not a class of {model}; send one of "
                f"{', '.join(sorted(classes))}",
                field=where,
            )
        return text

    def store(self, model: str, rid: str, text: str) -> bool:
        """Write the label unless this id already has it (False: a duplicate)."""
        with self._lock:
            if self._seen.get(rid) == text:
                return False
            self.writer.log_feedback(model, rid, text)
            _put(self._seen, rid, text)
        self.on_stored(model)
        return True

    def _defer(self, items: list[tuple[str, Any, str]]) -> Ticket:
        ticket = Ticket(uuid.uuid4().hex, pending=len(items))
        due = time.time() + self.settle_s
        with self._wake:
            self._tickets[ticket.id] = ticket
            self._queue.extend(_Item(rid, label, where, ticket, due) for rid, label, where in items)
            self._trim_tickets()
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="feedback-resolver", daemon=True
                )
                self._thread.start()
            self._wake.notify()
        return ticket

    # -- the resolver (its own thread) ------------------------------------------------------

    def close(self) -> None:
        """Resolve what is pending (without waiting for other writers) and stop."""
        self._closing.set()
        with self._wake:
            self._wake.notify()
            thread = self._thread
        if thread is not None:
            thread.join(timeout=60)
        if self._reader is not None and (thread is None or not thread.is_alive()):
            self._reader.close()
        if self._queue:
            log.warning(
                "%d feedback labels were not stored: the prediction log could not be read",
                len(self._queue),
            )

    def _run(self) -> None:
        delay = self.interval_s
        while True:
            with self._wake:
                self._wake.wait_for(lambda: bool(self._queue) or self._closing.is_set())
                if self._closing.is_set() and not self._queue:
                    return
                if all(item.read for item in self._queue):  # all were looked for: let them settle
                    delay = max(delay, min(item.due for item in self._queue) - time.time())
            self._closing.wait(delay)  # meanwhile, a burst of requests gathers into one batch
            if self.resolve_once(final=self._closing.is_set()):
                delay = self.interval_s
            elif self._closing.is_set():
                return
            else:
                delay = min(delay * 2, _MAX_DELAY)

    def resolve_once(self, *, final: bool = False) -> bool:
        """One batch: every pending label, one read of the log. False when it failed."""
        with self._lock:
            batch, self._queue = self._queue, []
        if not batch:
            return True
        started = time.time()
        try:
            self.reads += 1
            if self._reader is None:  # one DuckDB thread: never the cores serving needs
                self._reader = LogReader(
                    self.state.ws.logs_url,
                    wal=self.writer.wal_dir,  # other processes' rows not yet published
                    engine=partial(DuckDBEngine, threads=1),
                )
            found = lookup(self._reader, sorted({item.rid for item in batch}))
        except Exception as exc:  # noqa: BLE001 - storage trouble: the labels wait
            log.warning("feedback waits: reading the prediction log failed: %s", exc)
            with self._lock:
                self._queue[:0] = batch
            return False
        waiting = []
        for item in batch:
            model = found.get(item.rid)
            if model is None and not final and started < item.due:
                item.read = True
                waiting.append(item)  # maybe predicted by another process, not yet flushed
                continue
            with self._lock:
                _put(self._looked_up, item.rid, model)
            try:
                self._settle(item, model)
            except Exception:  # noqa: BLE001 - e.g. the log writer failed: the label waits
                log.exception("storing a feedback label failed; it is retried")
                waiting.append(item)
        with self._lock:
            self._queue.extend(waiting)
        return True

    def _settle(self, item: _Item, model: str | None) -> None:
        """Store one resolved label and count it on its ticket."""
        ticket = item.ticket
        stored = rejected = None
        if model is not None:
            try:
                stored = self.store(model, item.rid, self.text(model, item.label, item.where))
            except SchemaError as exc:
                rejected = {"request_id": item.rid, "field": item.where, "message": exc.message}
        with self._lock:
            ticket.pending -= 1
            if rejected is not None:
                ticket.rejected.append(rejected)
                self._kept += 1
            elif stored is None:
                ticket.unknown.append(item.rid)
                self._kept += 1
            elif stored:
                ticket.accepted += 1
            else:
                ticket.duplicates += 1

    def _trim_tickets(self) -> None:
        """Forget the oldest finished tickets beyond MAX_TICKETS or REMEMBER kept ids."""
        for ticket in list(self._tickets.values()):
            if len(self._tickets) <= MAX_TICKETS and self._kept <= REMEMBER:
                break
            if ticket.pending == 0:
                self._kept -= len(ticket.unknown) + len(ticket.rejected)
                del self._tickets[ticket.id]


def lookup(log: LogReader, request_ids: list[str]) -> dict[str, str]:
    """Which model served each of these ids: one read of the prediction log."""
    scan = log.scan(None, requests=tuple(request_ids))
    found = log.aggregate(scan, ["request_id", "model"], group_by="request_id, model")
    return {rid: model for rid, model in found}


def label_text(label: Any, task: str) -> str:
    if isinstance(label, bool):
        return str(label).lower()
    if isinstance(label, float) and task != "regression" and label.is_integer():
        return str(int(label))
    return str(label)


def _put(memory: OrderedDict[str, Any], key: str, value: Any) -> None:
    memory[key] = value
    memory.move_to_end(key)
    if len(memory) > REMEMBER:
        memory.popitem(last=False)
