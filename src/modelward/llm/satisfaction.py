"""User satisfaction with gateway answers, read from the prediction log.

A rating (``POST /v1/llm/feedback`` or the ``x-modelward-feedback`` header, see
:mod:`modelward.llm.gateway.feedback`) is stored as a feedback row of the answer's request
id: ``satisfaction`` 0..1 (a rating of 1, 0, -1 is 1.0, 0.5, 0.0; a score is itself) and,
when a person said so, ``correct``. The latest rating of an answer counts; a rating never
erases an earlier ``correct`` (or a tabular label), nor the other way round.

:func:`satisfaction_stats` sums them per ``(model, version, query_type)`` for the answers
given in a time span (answered calls only: a failed attempt of a call that fell back
shares its request id and is left out).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from modelward.predlog.engine import count_where
from modelward.predlog.reader import LogReader, TimeRange

__all__ = ["RATINGS", "Satisfaction", "satisfaction_of", "satisfaction_stats"]

#: What a rating means as satisfaction.
RATINGS = {1: 1.0, 0: 0.5, -1: 0.0}


def satisfaction_of(rating: int | None = None, score: float | None = None) -> float | None:
    """A rating (1, 0, -1) or a score (0..1) as satisfaction 0..1 (None: neither)."""
    if rating is not None:
        return RATINGS[rating]
    return None if score is None else float(score)


@dataclass(frozen=True)
class Satisfaction:
    """One ``(model, version, query_type)``'s answers in the span: how many were rated and
    their mean satisfaction (None without ratings), how many a person marked correct or
    not (``labelled``) and how many of those were ``correct``."""

    model: str
    version: int | None
    query_type: str
    answers: int
    ratings: int
    mean: float | None
    labelled: int
    correct: int

    @property
    def accuracy(self) -> float | None:
        """The share of labelled answers that were correct (None without labels)."""
        return self.correct / self.labelled if self.labelled else None

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "accuracy": self.accuracy}


def satisfaction_stats(
    log: LogReader | str,
    span: TimeRange,
    *,
    model: str | None = None,
    environment: str | None = None,
    version: int | None = None,
) -> list[Satisfaction]:
    """Ratings of the answers given in ``span`` (``[start, end)``, by the answer's time),
    per ``(model, version, query_type)``, sorted; ``log`` is a :class:`LogReader` or a
    logs URL (``ws.logs_url``). Only groups with at least one answer appear; ``model``,
    ``environment`` and ``version`` narrow. One aggregate through the log's engine."""
    reader = LogReader(log) if isinstance(log, str) else log
    try:
        scan = reader.scan(
            model,
            span,
            ratings=True,
            status=("ok",),
            environment=environment,
            version=version,
            where=("query_type IS NOT NULL",),  # the gateway's rows: tabular ones have none
        )
        if scan.empty or not scan.has("query_type"):
            return []
        kind = "query_type"
        found = reader.aggregate(
            scan,
            [
                "model",
                "version",
                kind,
                "count(*)",
                "count(satisfaction)",
                "avg(satisfaction)",
                "count(correct)",
                count_where("correct"),
            ],
            group_by=f"model, version, {kind}",
        )
    finally:
        if reader is not log:
            reader.close()
    out = [
        Satisfaction(
            model=str(m),
            version=None if v is None else int(v),
            query_type=str(q),
            answers=int(n),
            ratings=int(rated),
            mean=None if mean is None else float(mean),
            labelled=int(labelled),
            correct=int(correct or 0),
        )
        for m, v, q, n, rated, mean, labelled, correct in found
    ]
    return sorted(out, key=lambda s: (s.model, s.version or 0, s.query_type))
