"""A small writer of prediction logs in exactly the serving contract's layout (tests only).

Serving owns the real writer (``modelward.predlog``); these helpers produce the same files
with pyarrow so monitoring is tested against the contract, not against serving's code.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

FEATURES = [
    "age", "sex", "cp", "trestbps", "chol", "fbs", "restecg",
    "thalach", "exang", "oldpeak", "slope", "ca", "thal",
]  # fmt: skip

BASE_FIELDS = [
    pa.field("request_id", pa.string()),
    pa.field("ts", pa.timestamp("us", tz="UTC")),
    pa.field("version", pa.int64()),
    pa.field("environment", pa.string()),
    pa.field("status", pa.string()),
    pa.field("error", pa.string()),
    pa.field("latency_ms", pa.float64()),
    pa.field("prediction", pa.string()),
    pa.field("score", pa.float64()),
    pa.field("proba", pa.string()),
]
FEEDBACK_SCHEMA = pa.schema(
    [
        pa.field("request_id", pa.string()),
        pa.field("ts", pa.timestamp("us", tz="UTC")),
        pa.field("label", pa.string()),
    ]
)

_seq = {"n": 0}


def _write(table: pa.Table, folder: Path, writer: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    _seq["n"] += 1
    final = folder / f"{writer}-{_seq['n']:06d}.parquet"
    tmp = folder / f".{final.name}.tmp"
    pq.write_table(table, tmp)
    tmp.replace(final)
    return final


def write_partitioned(
    root: Path, kind: str, model: str, frame: pd.DataFrame, schema: pa.Schema, writer: str
) -> list[Path]:
    """One file per date partition of ``frame.ts``."""
    paths = []
    dates = frame["ts"].dt.strftime("%Y-%m-%d")
    for date, part in frame.groupby(dates):
        table = pa.Table.from_pandas(
            part.reset_index(drop=True), schema=schema, preserve_index=False
        )
        paths.append(_write(table, root / kind / f"model={model}" / f"date={date}", writer))
    return paths


def prediction_schema(features: dict[str, pa.DataType]) -> pa.Schema:
    return pa.schema(BASE_FIELDS + [pa.field(f"in_{n}", t) for n, t in features.items()])


def traffic(
    flavor: Any,
    rows: pd.DataFrame,
    *,
    start: datetime,
    spacing: timedelta,
    version: int,
    environment: str = "production",
    features: list[str] = FEATURES,
    label_share: float = 1.0,
    feedback_delay: timedelta = timedelta(minutes=30),
    seed: int = 0,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Predictions of ``flavor`` (a loaded registered model) on ``rows``, and their feedback."""
    rng = np.random.default_rng(seed)
    x = rows[features]
    classes = [str(c) for c in flavor.classes]
    proba = np.asarray(flavor.predict_proba(x))
    predicted = [classes[i] for i in proba.argmax(axis=1)]
    n = len(rows)
    ids = [uuid.UUID(int=int(rng.integers(0, 2**63)) * 2**64 + i).hex for i in range(n)]
    ts = pd.Series([start + spacing * i for i in range(n)], dtype="datetime64[us, UTC]")
    pred = pd.DataFrame(
        {
            "request_id": ids,
            "ts": ts,
            "version": np.full(n, version, dtype="int64"),
            "environment": environment,
            "status": "ok",
            "error": pd.Series([None] * n, dtype="object"),
            "latency_ms": rng.gamma(2.0, 3.0, size=n),
            "prediction": predicted,
            "score": proba[:, -1] if len(classes) == 2 else proba.max(axis=1),
            "proba": [json.dumps(dict(zip(classes, map(float, p), strict=True))) for p in proba],
        }
    )
    for name in features:
        pred[f"in_{name}"] = rows[name].to_numpy(dtype="float64")
    labelled = rng.random(n) < label_share
    feedback = pd.DataFrame(
        {
            "request_id": np.asarray(ids)[labelled],
            "ts": (ts + feedback_delay)[labelled].reset_index(drop=True),
            "label": rows["target"].astype(str).to_numpy()[labelled],
        }
    )
    return pred, feedback


def write_traffic(
    logs: str | Path,
    model: str,
    pred: pd.DataFrame,
    feedback: pd.DataFrame | None = None,
    *,
    writer: str = "w1",
    feature_types: dict[str, pa.DataType] | None = None,
) -> None:
    root = Path(logs)
    names = [c[3:] for c in pred.columns if c.startswith("in_")]
    types = feature_types or {n: pa.float64() for n in names}
    write_partitioned(root, "predictions", model, pred, prediction_schema(types), writer)
    if feedback is not None and len(feedback):
        write_partitioned(root, "feedback", model, feedback, FEEDBACK_SCHEMA, writer)
