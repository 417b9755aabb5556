"""Real prediction-log files for the rollout tests: Parquet in the contract's layout."""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

_SEQ = itertools.count()

PREDICTION_SCHEMA = pa.schema(
    [
        ("request_id", pa.string()),
        ("ts", pa.timestamp("us", tz="UTC")),
        ("version", pa.int64()),
        ("environment", pa.string()),
        ("status", pa.string()),
        ("error", pa.string()),
        ("latency_ms", pa.float64()),
        ("prediction", pa.string()),
        ("score", pa.float64()),
        ("proba", pa.string()),
        ("in_age", pa.float64()),
        ("in_sex", pa.int64()),
    ]
)
FEEDBACK_SCHEMA = pa.schema(
    [("request_id", pa.string()), ("ts", pa.timestamp("us", tz="UTC")), ("label", pa.string())]
)


def _write(root: Path, kind: str, name: str, table: pa.Table, day: str) -> None:
    folder = root / kind / f"model={name}" / f"date={day}"
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"test-{next(_SEQ)}.parquet"
    tmp = path.with_name(f".{path.name}.tmp")
    pq.write_table(table, tmp)
    tmp.replace(path)


def write_rows(root: Path, name: str, rows: list[dict], feedback: list[dict] = ()) -> None:
    """Write rows (dicts with the contract's columns), one file per day and kind."""
    for kind, items, schema in (
        ("predictions", rows, PREDICTION_SCHEMA),
        ("feedback", list(feedback), FEEDBACK_SCHEMA),
    ):
        by_day: dict[str, list[dict]] = {}
        for row in items:
            by_day.setdefault(row["ts"].date().isoformat(), []).append(row)
        for day, chunk in by_day.items():
            _write(root, kind, name, pa.Table.from_pylist(chunk, schema=schema), day)


@dataclass
class Behaviour:
    """How a version behaves: error rate, latency (lognormal around a median), accuracy."""

    error_rate: float = 0.01
    latency_ms: float = 40.0
    accuracy: float = 0.9
    feedback_share: float = 0.0


@dataclass
class Traffic:
    """Simulated requests through an environment, split by the deployment's weights."""

    root: Path
    name: str = "heart"
    env: str = "production"
    per_minute: int = 400
    behaviour: dict[int, Behaviour] = field(default_factory=dict)
    seed: int = 0
    counter: itertools.count = field(default_factory=itertools.count)

    def __post_init__(self) -> None:
        self.rng = np.random.default_rng(self.seed)

    def serve(self, start: datetime, end: datetime, targets) -> None:
        """Requests over [start, end) at ``per_minute``, routed by ``targets`` [(v, w%)]."""
        minutes = (end - start).total_seconds() / 60
        total = int(round(self.per_minute * minutes))
        rows, labels = [], []
        versions = [v for v, _ in targets]
        weights = np.array([w for _, w in targets], dtype=float) / 100
        for _ in range(total):
            version = int(self.rng.choice(versions, p=weights))
            how = self.behaviour.get(version, Behaviour())
            ts = start + timedelta(seconds=float(self.rng.uniform(0, minutes * 60)))
            rid = f"r{next(self.counter)}"
            failed = self.rng.random() < how.error_rate
            truth = str(int(self.rng.integers(0, 2)))
            right = self.rng.random() < how.accuracy
            prediction = None if failed else (truth if right else str(1 - int(truth)))
            rows.append(
                {
                    "request_id": rid, "ts": ts, "version": version, "environment": self.env,
                    "status": "error" if failed else "ok",
                    "error": "boom" if failed else None,
                    "latency_ms": float(how.latency_ms * self.rng.lognormal(0, 0.3)),
                    "prediction": prediction, "score": None if failed else 0.7,
                    "proba": None, "in_age": 50.0, "in_sex": 1,
                }
            )  # fmt: skip
            if not failed and self.rng.random() < how.feedback_share:
                labels.append({"request_id": rid, "ts": ts + timedelta(seconds=1), "label": truth})
        write_rows(self.root, self.name, rows, labels)


class Clock:
    """A settable clock for the engine: no sleeping in tests."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 24, 8, 0, tzinfo=UTC)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> datetime:
        self.now += timedelta(seconds=seconds)
        return self.now
