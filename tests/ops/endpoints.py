"""Endpoint models and their gateway calls in the prediction log, for the lifecycle tests."""

from __future__ import annotations

import itertools
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from modelward.predlog.layout import FEEDBACK, PREDICTIONS, arrow_schema, partition
from modelward.timeutil import utcnow

_SEQ = itertools.count()


def set_policy(ws, **sections) -> None:
    from modelward.policy import Policy, dump_policy

    raw = ws.policy.model_dump()
    for name, values in sections.items():
        raw[name] = {**raw[name], **values} if isinstance(raw.get(name), dict) else values
    (ws.root / "policy.yml").write_text(dump_policy(Policy.model_validate(raw)), "utf-8")
    ws.__dict__.pop("policy", None)


def write_log(ws, name: str, rows: list[dict], feedback: list[dict] = ()) -> None:
    """Rows in the log's contract (predictions and feedback), one file per day and kind."""
    for kind, items in ((PREDICTIONS, rows), (FEEDBACK, list(feedback))):
        schema = arrow_schema(kind)
        by_day: dict[str, list[dict]] = {}
        for item in items:
            by_day.setdefault(item["ts"].date().isoformat(), []).append(item)
        for day, chunk in by_day.items():
            folder = Path(ws.logs_url) / partition(kind, name, day)
            folder.mkdir(parents=True, exist_ok=True)
            table = pa.Table.from_pylist(
                [{c: r.get(c) for c in schema.names} for r in chunk], schema=schema
            )
            pq.write_table(table, folder / f"test-{next(_SEQ)}.parquet")


def call(version: int, ago: timedelta, *, client: str = "app", **columns) -> dict:
    """One gateway call of ``ago`` before now (the gateway's columns)."""
    row = {
        "request_id": f"r{next(_SEQ)}", "ts": utcnow() - ago, "version": version,
        "environment": "production", "status": "ok", "latency_ms": 800.0, "prediction": "4",
        "client": client, "query_type": "factual", "input_tokens": 10, "output_tokens": 5,
        "cost": 0.01, "cache_hit": False,
    }  # fmt: skip
    return {**row, **columns}


def endpoint(ws, name: str, versions: int = 1) -> None:
    """An endpoint model (LLM) with ``versions`` versions in development."""
    ws.registry.create_model(name, task="text-generation")
    for _ in range(versions):
        ws.registry.add_version(name, kind="endpoint", flavor="llm",
                                spec={"provider": "openai", "model": name})  # fmt: skip


def evaluated(ws, name: str, version: int, *, accuracy=0.9, cost=0.01, p95_s=1.0, errors=0.0):
    """An ``llm-evaluation`` run of the version, as ``llm evaluate`` records it."""
    metrics = {
        "accuracy": {"value": accuracy}, "error_rate": {"value": errors},
        "response_time": {"p95": {"value": p95_s}}, "cost": {"per_query": {"value": cost}},
    }  # fmt: skip
    return ws.registry.record_run(
        "llm-evaluation", model=name, version=version, inputs={"dataset": "qa.jsonl"},
        results={"metrics": metrics}, verdict="pass",
    )  # fmt: skip
