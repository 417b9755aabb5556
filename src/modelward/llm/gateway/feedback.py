"""Ratings of gateway answers: ``POST /v1/llm/feedback`` and the ``x-modelward-feedback``
request header, stored as feedback rows of the prediction log (:mod:`modelward.llm.satisfaction`
reads them back).

A rating names the answer by its response id (``chatcmpl-…``, the log's ``request_id``).
The gateway remembers which model gave the answers it gave recently (the last
:data:`REMEMBER`); any other id is looked up in the last :data:`LOOKUP_DAYS` days of the
prediction log, on one thread of its own (never the event loop), one read per request.
An id found nowhere is reported as unknown and nothing is stored for it. A comment is
bounded (:data:`MAX_COMMENT` characters), redacted and stored, never logged.
"""

from __future__ import annotations

import asyncio
import logging
import math
import re
import threading
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import timedelta
from functools import partial
from typing import TYPE_CHECKING, Any

from modelward.errors import ModelwardError, Overloaded, RequestError, SchemaError
from modelward.llm.satisfaction import RATINGS, satisfaction_of
from modelward.redact import redact
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from collections.abc import Callable

    from modelward.llm.gateway.state import GatewayState
    from modelward.predlog.reader import LogReader

__all__ = [
    "HEADER",
    "GatewayFeedback",
    "Rating",
    "parse_feedback",
    "parse_header",
]

log = logging.getLogger("modelward.llm.gateway")

#: The request header that rates earlier answers on a chat call.
HEADER = "x-modelward-feedback"
REMEMBER = 100_000  # response ids kept in memory with the model that answered
LOOKUP_DAYS = 30  # how far back the log is searched for an id not in memory
MAX_LOOKUPS = 16  # requests waiting for a log lookup; beyond, a feedback is a 503
MAX_ITEMS = 1000  # ratings per request
MAX_HEADER_ITEMS = 20
MAX_COMMENT = 2000  # characters
_ID = re.compile(r"chatcmpl-[A-Za-z0-9._:-]{1,119}")
_FIELDS = ("id", "rating", "score", "correct", "comment")
_HINT = 'send {"id": "chatcmpl-…", "rating": 1} (rating 1, 0 or -1, or "score": 0..1)'


@dataclass(frozen=True)
class Rating:
    """One rating of one answer, checked: what the feedback row stores."""

    id: str
    satisfaction: float | None
    correct: bool | None = None
    comment: str | None = None


# -- parsing ------------------------------------------------------------------------------


def parse_feedback(payload: Any) -> tuple[list[Rating], bool]:
    """The ratings of a feedback body (one object, or ``{"items": [...]}``) and whether it
    was a single one; SchemaError (422) naming the field otherwise."""
    if isinstance(payload, dict) and set(payload) == {"items"}:
        items = payload["items"]
        if not isinstance(items, list) or not items:
            raise SchemaError(f"items must be a non-empty list of ratings; {_HINT}", field="items")
        if len(items) > MAX_ITEMS:
            raise SchemaError(
                f"send at most {MAX_ITEMS} ratings per request ({len(items)} sent)", field="items"
            )
        return [_item(item, f"items[{i}].") for i, item in enumerate(items)], False
    if not isinstance(payload, dict):
        raise SchemaError(f"the feedback body must be a JSON object; {_HINT}", field="body")
    return [_item(payload, "")], True


def _item(item: Any, where: str) -> Rating:
    if not isinstance(item, dict):
        raise SchemaError(f"each rating must be an object; {_HINT}", field=where.rstrip("."))
    extra = sorted(set(item) - set(_FIELDS))
    if extra:
        raise SchemaError(
            f"unknown feedback field {extra[0][:40]!r}; the fields are {', '.join(_FIELDS)}",
            field=f"{where}{extra[0][:40]}",
        )
    rid = _response_id(item.get("id"), f"{where}id")
    rating, score = item.get("rating"), item.get("score")
    if rating is not None and score is not None:
        raise SchemaError(
            "send a rating (1, 0, -1) or a score (0..1), not both", field=f"{where}score"
        )
    correct = item.get("correct")
    if correct is not None and not isinstance(correct, bool):
        raise SchemaError(
            "correct must be true or false (was the answer right?)", field=f"{where}correct"
        )
    if rating is None and score is None and correct is None:
        raise SchemaError(
            f"a rating needs rating, score or correct; {_HINT}", field=f"{where}rating"
        )
    satisfaction = satisfaction_of(
        None if rating is None else _rating(rating, f"{where}rating"),
        None if score is None else _score(score, f"{where}score"),
    )
    return Rating(rid, satisfaction, correct, _comment(item.get("comment"), f"{where}comment"))


def _response_id(value: Any, where: str) -> str:
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise SchemaError(
            "id must be the response id of a gateway answer (chatcmpl-…, as the chat "
            "completion returned it)",
            field=where,
        )
    return value


def _rating(value: Any, where: str) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float) or value not in (1, 0, -1):
        raise SchemaError("rating must be 1 (good), 0 (neutral) or -1 (bad)", field=where)
    return int(value)


def _score(value: Any, where: str) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, int | float)
        or not math.isfinite(value)
        or not 0 <= value <= 1
    ):
        raise SchemaError("score must be a number from 0 (bad) to 1 (good)", field=where)
    return float(value)


def _comment(value: Any, where: str) -> str | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise SchemaError("comment must be a string", field=where)
    if len(value) > MAX_COMMENT:
        raise SchemaError(
            f"comment is {len(value)} characters; send at most {MAX_COMMENT}", field=where
        )
    text = value.encode("utf-8", "replace").decode("utf-8")  # no lone surrogates
    return redact(text) or None


def parse_header(value: str) -> list[Rating]:
    """The ratings of an ``x-modelward-feedback`` header: ``<id>=<value>`` pairs separated
    by commas, where a whole number (1, 0, -1) is a rating and a decimal (0.8, 0.0,
    1.0) a score; RequestError (400) naming the header otherwise."""
    pieces = [p.strip() for p in value.split(",")]
    if len(pieces) > MAX_HEADER_ITEMS:
        raise _bad_header(f"it rates {len(pieces)} answers; rate at most {MAX_HEADER_ITEMS}")
    out = []
    for piece in pieces:
        rid, sep, text = (part.strip() for part in piece.partition("="))
        if not sep or not _ID.fullmatch(rid):
            raise _bad_header(f"{redact(piece[:60])!r} is not <response id>=<rating>")
        try:
            if "." in text:
                satisfaction = _score(float(text), HEADER)
            else:
                satisfaction = RATINGS[_rating(int(text), HEADER)]
        except (ValueError, SchemaError) as exc:
            raise _bad_header(f"{redact(text[:20])!r} is not a rating or score") from exc
        out.append(Rating(rid, satisfaction))
    return out


def _bad_header(problem: str) -> RequestError:
    return RequestError(
        f"the {HEADER} header is malformed: {problem}; send <response id>=<rating> pairs "
        "separated by commas, a rating 1, 0 or -1 or a score 0.0 to 1.0 "
        "(e.g. chatcmpl-abc=1, chatcmpl-def=0.8)",
        field=HEADER,
    )


# -- storing ------------------------------------------------------------------------------


class GatewayFeedback:
    """Which model answered which id (memory, then the log), and the rows stored."""

    def __init__(self, state: GatewayState, on_stored: Callable[[str], None] | None = None) -> None:
        """``on_stored(model)`` is called for every rating stored (a metric)."""
        self.state = state
        self.on_stored = on_stored
        self.recent: OrderedDict[str, str] = OrderedDict()  # response id -> model
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(1, thread_name_prefix="llm-feedback")
        self._reader: LogReader | None = None
        self._waiting = 0
        self.lookups = 0  # log reads

    def answered(self, rid: str, model: str) -> None:
        """Remember that ``model`` gave the answer ``rid`` (any thread)."""
        with self._lock:
            self.recent[rid] = model
            self.recent.move_to_end(rid)
            if len(self.recent) > REMEMBER:
                self.recent.popitem(last=False)

    async def submit(self, ratings: list[Rating], *, lenient: bool = False) -> dict[str, Any]:
        """Store the ratings of known answers: ``{"accepted": n, "unknown": [ids]}``. An id
        not in memory costs one log read (for all of them); ``lenient`` (a chat call's
        header) never raises for the read: its ids are then reported unknown."""
        with self._lock:
            models = {r.id: self.recent.get(r.id) for r in ratings}
        missing = sorted(rid for rid, model in models.items() if model is None)
        if missing:
            try:
                models.update(await self._lookup(missing))
            except ModelwardError as exc:
                if not lenient:
                    raise
                log.warning("ratings of %d answers not stored: %s", len(missing), exc.message)
        accepted, unknown = 0, []
        for rating in ratings:
            model = models.get(rating.id)
            if model is None:
                unknown.append(rating.id)
                continue
            self.state.predlog.log_feedback(
                model,
                rating.id,
                None,
                satisfaction=rating.satisfaction,
                correct=rating.correct,
                comment=rating.comment,
            )
            accepted += 1
            if self.on_stored is not None:
                self.on_stored(model)
        return {"accepted": accepted, "unknown": sorted(set(unknown))}

    async def _lookup(self, ids: list[str]) -> dict[str, str]:
        if self._waiting >= MAX_LOOKUPS:
            raise Overloaded(
                f"{self._waiting} ratings wait for a prediction-log lookup of older answers; "
                "send this one again in a few seconds"
            )
        self._waiting += 1
        try:
            loop = asyncio.get_running_loop()
            return await loop.run_in_executor(self._pool, self._read, ids)
        finally:
            self._waiting -= 1

    def _read(self, ids: list[str]) -> dict[str, str]:
        """Which model gave each of ``ids`` in the last LOOKUP_DAYS days (the pool's thread)."""
        from modelward.predlog.engines.duckdb import DuckDBEngine
        from modelward.predlog.reader import LogReader, Span

        if self._reader is None:  # one DuckDB thread: never the cores serving needs
            self._reader = LogReader(
                self.state.ws.logs_url, engine=partial(DuckDBEngine, threads=1)
            )
        now = utcnow()
        span = Span(now - timedelta(days=LOOKUP_DAYS), now + timedelta(hours=1))
        self.lookups += 1
        scan = self._reader.scan(None, span, requests=tuple(ids), status=("ok",))
        if scan.empty or not scan.has("query_type"):
            return {}
        found = self._reader.aggregate(
            scan.only(where=["query_type IS NOT NULL"]),
            ["request_id", "min(model)"],
            group_by="request_id",
        )
        out = {str(rid): str(model) for rid, model in found}
        for rid, model in out.items():
            self.answered(rid, model)
        return out

    def close(self) -> None:
        self._pool.shutdown(wait=True)
        if self._reader is not None:
            self._reader.close()
            self._reader = None
