"""MetricsPort over the prediction log and its feedback, read through
:class:`~modelward.predlog.reader.LogReader` (the window's date partitions only, each row
once however a compaction of them stands); the latest feedback row per ``request_id`` is
the label."""

from __future__ import annotations

from datetime import datetime

from modelward.predlog.files import LogChanged
from modelward.predlog.reader import LogReader, Span
from modelward.rollout.ports import WindowStats

__all__ = ["PredictionLogMetrics"]

#: Latencies compared by the U test: those of the requests with the smallest hashes.
SAMPLE = 5000


class PredictionLogMetrics:
    def __init__(self, logs: str | LogReader) -> None:
        self.log = logs if isinstance(logs, LogReader) else LogReader(logs)

    def window(
        self, name: str, env: str, version: int, since: datetime, until: datetime
    ) -> WindowStats:
        try:
            return self._window(name, env, version, Span(since, until))
        except LogChanged:  # a compaction replaced a listed file: list again
            return self._window(name, env, version, Span(since, until))

    def _window(self, name: str, env: str, version: int, span: Span) -> WindowStats:
        # rejected inputs are the caller's mistake, not the model's: ok and error only
        scan = self.log.scan(
            name, span, labels=True, environment=env, version=version, status=("ok", "error")
        )
        if scan.empty:
            return WindowStats()
        cost = "cost" if scan.has("cost") else "CAST(NULL AS DOUBLE)"
        p95 = self.log.quantile("latency_ms", 0.95)
        gap = "abs(TRY_CAST(prediction AS DOUBLE) - TRY_CAST(label AS DOUBLE))"
        (row,) = self.log.aggregate(
            scan,
            [
                "count(*)",
                "count(*) FILTER (WHERE status = 'error')",
                f"{p95} FILTER (WHERE status = 'ok')",
                f"count({cost})",
                f"avg({cost})",
                "count(label) FILTER (WHERE status = 'ok')",
                "count(*) FILTER (WHERE status = 'ok' AND prediction = label)",
                f"avg({gap}) FILTER (WHERE status = 'ok')",
                f"stddev_samp({gap}) FILTER (WHERE status = 'ok')",
            ],
        )
        requests, errors, p95_ms, cost_rows, cost_mean, labelled, correct, gap_mean, gap_std = row
        served = scan.only(labels=None, status=("ok",), where=["latency_ms IS NOT NULL"])
        # the requests with the smallest hashes: a uniform sample that is the same on every
        # pass (a reservoir depends on the order a parallel scan returns rows in)
        latencies = self.log.rows(served, ["latency_ms"], order="hash", limit=SAMPLE)
        return WindowStats(
            requests=int(requests),
            errors=int(errors),
            p95_latency_ms=None if p95_ms is None else float(p95_ms),
            latencies=tuple(float(x) for x in latencies.column("latency_ms").to_pylist()),
            labelled=int(labelled or 0),
            correct=int(correct or 0),
            cost_rows=int(cost_rows),
            cost_per_query=None if cost_mean is None else float(cost_mean),
            abs_error_mean=None if gap_mean is None else float(gap_mean),
            abs_error_std=None if gap_std is None else float(gap_std),
        )
