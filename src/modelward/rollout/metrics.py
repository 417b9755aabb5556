"""MetricsPort over the Parquet prediction log (and feedback), queried in place with DuckDB.

Layout (the prediction-log contract): ``<logs>/predictions/model=<name>/date=<day>/*.parquet``
and ``<logs>/feedback/model=<name>/date=<day>/*.parquet``; the latest feedback row per
``request_id`` is the label.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from modelward.errors import StorageError
from modelward.rollout.ports import WindowStats

__all__ = ["PredictionLogMetrics"]

SAMPLE = 5000


class PredictionLogMetrics:
    def __init__(self, logs_url: str) -> None:
        self.logs_url = logs_url.rstrip("/")

    def _glob(self, kind: str, name: str) -> str | None:
        """The files' glob, or None when a local log has no such files yet."""
        pattern = f"{self.logs_url}/{kind}/model={name}/*/*.parquet"
        if "://" not in self.logs_url or self.logs_url.startswith("file://"):
            base = Path(self.logs_url.removeprefix("file://")) / kind / f"model={name}"
            if not any(base.glob("*/*.parquet")):
                return None
        return pattern

    def window(
        self, name: str, env: str, version: int, since: datetime, until: datetime
    ) -> WindowStats:
        import duckdb

        predictions = self._glob("predictions", name)
        if predictions is None:
            return WindowStats()
        feedback = self._glob("feedback", name)
        con = duckdb.connect()
        try:
            return self._query(con, predictions, feedback, env, version, since, until)
        except duckdb.IOException as exc:
            if "No files found" in str(exc):
                return WindowStats()
            raise StorageError(f"cannot read the prediction log at {self.logs_url}: {exc}") from exc
        except duckdb.Error as exc:
            raise StorageError(
                f"cannot query the prediction log at {self.logs_url}: {str(exc).splitlines()[0]}"
            ) from exc
        finally:
            con.close()

    def _query(
        self,
        con: Any,
        predictions: str,
        feedback: str | None,
        env: str,
        version: int,
        since: datetime,
        until: datetime,
    ) -> WindowStats:
        source = f"read_parquet({_lit(predictions)}, hive_partitioning=true, union_by_name=true)"
        columns = {row[0] for row in con.execute(f"DESCRIBE SELECT * FROM {source}").fetchall()}
        cost = "cost" if "cost" in columns else "CAST(NULL AS DOUBLE)"
        con.execute(
            f"""
            CREATE TEMP VIEW p AS
            SELECT request_id, status, latency_ms, prediction, {cost} AS cost
            FROM {source}
            WHERE CAST(date AS VARCHAR) >= ? AND environment = ? AND version = ?
              AND ts >= ? AND ts < ? AND status IN ('ok', 'error')
            """.replace("?", "{}").format(
                *(_lit(v) for v in (since.date().isoformat(), env, version, since, until))
            )
        )
        requests, errors, p95, cost_rows, cost_mean = con.execute(
            """
            SELECT count(*), count(*) FILTER (WHERE status = 'error'),
                   quantile_cont(latency_ms, 0.95) FILTER (WHERE status = 'ok'),
                   count(cost), avg(cost)
            FROM p
            """
        ).fetchone()
        latencies = [
            row[0]
            for row in con.execute(
                # the requests with the smallest hashes: a uniform sample that is the same
                # on every pass (a reservoir depends on the order a parallel scan returns)
                f"""SELECT latency_ms FROM p WHERE status = 'ok' AND latency_ms IS NOT NULL
                    ORDER BY hash(request_id), request_id LIMIT {SAMPLE}"""
            ).fetchall()
        ]
        labelled = correct = 0
        if feedback is not None:
            labels = f"read_parquet({_lit(feedback)}, hive_partitioning=true, union_by_name=true)"
            labelled, correct = con.execute(
                f"""
                WITH f AS (SELECT request_id, arg_max(label, ts) AS label FROM {labels}
                           WHERE CAST(date AS VARCHAR) >= {_lit(since.date().isoformat())}
                           GROUP BY request_id)
                SELECT count(*), count(*) FILTER (WHERE p.prediction = f.label)
                FROM p JOIN f USING (request_id) WHERE p.status = 'ok'
                """
            ).fetchone()
        return WindowStats(
            requests=int(requests),
            errors=int(errors),
            p95_latency_ms=None if p95 is None else float(p95),
            latencies=tuple(float(x) for x in latencies),
            labelled=int(labelled or 0),
            correct=int(correct or 0),
            cost_rows=int(cost_rows),
            cost_per_query=None if cost_mean is None else float(cost_mean),
        )


def _lit(value: object) -> str:
    """A SQL literal (DuckDB views cannot hold prepared parameters)."""
    if isinstance(value, datetime):
        return f"TIMESTAMPTZ '{value.isoformat()}'"
    if isinstance(value, int):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"
