"""MetricsPort over the prediction log and its feedback, read through
:class:`~modelward.predlog.reader.LogReader` (the window's date partitions only, each row
once however a compaction of them stands); the latest feedback row per ``request_id`` is
the label.

An LLM gateway's rows (they carry a ``query_type``) are judged on their own evidence:
users' ratings (``satisfaction``), a person's word that an answer was right (``correct``)
and, with an online evaluation, the answers to the evaluation dataset's prompts scored
against its expected answers; every figure also per query type.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

from modelward.errors import UserError
from modelward.predlog.engine import Scan, literal
from modelward.predlog.files import relisted
from modelward.predlog.reader import LogReader, Span
from modelward.rollout.ports import WindowStats

__all__ = ["PredictionLogMetrics"]

#: Latencies compared by the U test: those of the requests with the smallest hashes.
SAMPLE = 5000

_TABULAR_QUALITY = (
    "count(label) FILTER (WHERE status = 'ok')",
    "count(*) FILTER (WHERE status = 'ok' AND prediction = label)",
)
#: an answer is labelled by a person's ``correct`` mark, else by a label it must equal
_LLM_QUALITY = (
    "count(*) FILTER (WHERE status = 'ok' AND (correct IS NOT NULL OR label IS NOT NULL))",
    "count(*) FILTER (WHERE status = 'ok' AND coalesce(correct, prediction = label))",
    "count(satisfaction) FILTER (WHERE status = 'ok')",
    "avg(satisfaction) FILTER (WHERE status = 'ok')",
    "stddev_samp(satisfaction) FILTER (WHERE status = 'ok')",
)


class PredictionLogMetrics:
    def __init__(self, logs: str | LogReader, *, wal: str | Path | None = None) -> None:
        """``wal``: the servers' write-ahead folder, whose rows not yet published as
        Parquet (up to ``serving.flush_ms``) count too."""
        self.log = logs if isinstance(logs, LogReader) else LogReader(logs, wal=wal)

    def window(
        self,
        name: str,
        env: str,
        version: int,
        since: datetime,
        until: datetime,
        *,
        evaluation: dict[str, Any] | None = None,
    ) -> WindowStats:
        span = Span(since, until)
        return relisted(lambda: self._window(name, env, version, span, evaluation))

    def _window(
        self, name: str, env: str, version: int, span: Span, evaluation: dict[str, Any] | None
    ) -> WindowStats:
        # rejected inputs are the caller's mistake, not the model's: ok and error only
        scan = self.log.scan(
            name, span, labels=True, environment=env, version=version, status=("ok", "error")
        )
        if scan.empty:
            return WindowStats()
        # a gateway's rows name their query type; a tabular server's leave it null
        types: list[str] = []
        if scan.has("query_type"):
            found = self.log.aggregate(
                scan.only(labels=None, where=(*scan.where, "query_type IS NOT NULL")),
                ["query_type"], group_by="query_type",
            )  # fmt: skip
            types = sorted(str(q) for (q,) in found)
        if not types:
            return self._stats(scan, llm=False)
        scan = replace(scan, ratings=True)
        overall = self._stats(scan, llm=True)
        by_type = {
            q: self._stats(scan.only(where=(*scan.where, f"query_type = {literal(q)}")), llm=True)
            for q in types
        }
        overall = replace(overall, by_query_type=by_type)
        if evaluation:
            overall = self._evaluated(scan, overall, evaluation)
        return overall

    def _stats(self, scan: Scan, *, llm: bool) -> WindowStats:
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
                f"stddev_samp({cost})",
                f"avg({gap}) FILTER (WHERE status = 'ok')",
                f"stddev_samp({gap}) FILTER (WHERE status = 'ok')",
                *(_LLM_QUALITY if llm else _TABULAR_QUALITY),
            ],
        )
        requests, errors, p95_ms, cost_rows, cost_mean, cost_std, gap_mean, gap_std = row[:8]
        quality = row[8:]
        served = scan.only(
            labels=None,
            ratings=False,
            status=("ok",),
            where=(*scan.where, "latency_ms IS NOT NULL"),
        )
        # the requests with the smallest hashes: a uniform sample that is the same on every
        # pass (a reservoir depends on the order a parallel scan returns rows in)
        latencies = self.log.rows(served, ["latency_ms"], order="hash", limit=SAMPLE)
        stats = WindowStats(
            requests=int(requests),
            errors=int(errors),
            p95_latency_ms=_float(p95_ms),
            latencies=tuple(float(x) for x in latencies.column("latency_ms").to_pylist()),
            cost_rows=int(cost_rows),
            cost_per_query=_float(cost_mean),
            cost_std=_float(cost_std),
            abs_error_mean=_float(gap_mean),
            abs_error_std=_float(gap_std),
            labelled=int(quality[0] or 0),
            correct=int(quality[1] or 0),
        )
        if not llm:
            return stats
        return replace(
            stats,
            ratings=int(quality[2] or 0),
            satisfaction_mean=_float(quality[3]),
            satisfaction_std=_float(quality[4]),
            accuracy_source="feedback",
        )

    def _evaluated(self, scan: Scan, stats: WindowStats, spec: dict[str, Any]) -> WindowStats:
        """``stats`` with the online evaluation's scored answers added to the labelled
        ones (an answer a person labelled keeps that label)."""
        from modelward.llm.online import online_evaluation

        try:
            online = online_evaluation(spec)
        except UserError as exc:  # the dataset went away or broke since the start: judge
            # on people's marks alone, and say so, rather than stop the controller
            return replace(stats, accuracy_source=f"feedback ({exc.message})")
        hashes = ", ".join(literal(h) for h in online.items)
        matched = scan.only(
            status=("ok",),
            rate=online.sample,
            where=(*scan.where, f"in_prompt_hash IN ({hashes})", "correct IS NULL"),
        )
        rows = self.log.rows(
            matched, ["in_prompt_hash", "prediction", "query_type"], order="hash",
            limit=online.max_answers,
        )  # fmt: skip
        scored: dict[str | None, list[int]] = {}
        for digest, answer, query_type in zip(
            *(rows.column(c).to_pylist() for c in rows.column_names), strict=True
        ):
            right = online.correct(online.items[digest], answer)
            for key in (None, query_type):
                counts = scored.setdefault(key, [0, 0])
                counts[0] += 1
                counts[1] += int(right)

        def add(one: WindowStats, key: str | None) -> WindowStats:
            n, right = scored.get(key, [0, 0])
            return replace(
                one, labelled=one.labelled + n, correct=one.correct + right,
                accuracy_source="feedback + online evaluation",
            )  # fmt: skip

        by_type = {q: add(s, q) for q, s in stats.by_query_type.items()}
        return replace(add(stats, None), by_query_type=by_type)


def _float(value: Any) -> float | None:
    return None if value is None else float(value)
