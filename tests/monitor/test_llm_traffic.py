"""Endpoint (LLM) traffic: tokens, cost against the previous window and per-query-type
response times with the LLM runbook's 1.5x / 2x factors."""

from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from tests.monitor.conftest import END
from tests.monitor.logdata import BASE_FIELDS, write_partitioned

pytestmark = pytest.mark.sqlite_only

SCHEMA = pa.schema(
    BASE_FIELDS
    + [
        pa.field("query_type", pa.string()),
        pa.field("input_tokens", pa.int64()),
        pa.field("output_tokens", pa.int64()),
        pa.field("cost", pa.float64()),
    ]
)


def _day(start, n, *, cost, latency_s, query_type, seed):
    rng = np.random.default_rng(seed)
    return pd.DataFrame(
        {
            "request_id": [f"{seed}-{i}" for i in range(n)],
            "ts": pd.Series(
                [start + timedelta(minutes=i) for i in range(n)], dtype="datetime64[us, UTC]"
            ),
            "version": np.ones(n, "int64"),
            "environment": "production",
            "status": "ok",
            "error": None,
            "latency_ms": rng.normal(latency_s * 1000, 10, n),
            "prediction": "an answer",
            "score": np.nan,
            "proba": None,
            "query_type": query_type,
            "input_tokens": np.full(n, 100, "int64"),
            "output_tokens": np.full(n, 50, "int64"),
            "cost": np.full(n, cost),
        }
    )


@pytest.fixture
def chat(workspace):
    workspace.registry.create_model("chat", task="text-generation")
    workspace.registry.add_version(
        "chat", kind="endpoint", flavor="openai", spec={"provider": "openai", "model": "gpt-x"}
    )
    logs = workspace.root / "logs"
    before = _day(
        END - timedelta(days=2), 100, cost=0.01, latency_s=1.0, query_type="factual", seed=1
    )
    now = _day(
        END - timedelta(days=1), 100, cost=0.015, latency_s=3.5, query_type="factual", seed=2
    )
    write_partitioned(logs, "predictions", "chat", before, SCHEMA, "w1")
    write_partitioned(logs, "predictions", "chat", now, SCHEMA, "w1")
    return workspace, now


def test_cost_and_response_time_per_query_type(chat, cli):
    workspace, now = chat
    ran = cli("monitor", "predictions", "chat", "--until", END.isoformat(), "--json")
    assert ran.exit_code == 1
    llm = ran.json["results"]["llm"]
    assert llm["cost"] == pytest.approx(now["cost"].sum())
    assert llm["previous_cost"] == pytest.approx(1.0)
    assert llm["cost_change"] == pytest.approx(0.5)
    assert llm["input_tokens"] == 100 * 100 and llm["output_tokens"] == 50 * 100
    factual = llm["query_types"]["factual"]
    p95 = np.percentile(now["latency_ms"] / 1000, 95)
    assert factual["p95_s"] == pytest.approx(p95)
    assert factual["factor"] == pytest.approx(p95 / 2.0)
    assert "cost up 50% on the previous window (1.00 -> 1.50; alert above 20%)" in ran.stderr
    assert f"factual p95 response time {p95:.2f} s is {p95 / 2:.1f}x the 2 s target" in ran.stderr
    assert ran.json["level"] == "warning"  # 1.75x: above 1.5x, below 2x
    assert "class_drift" not in ran.json["results"]


def test_daily_runbook_for_an_endpoint_model(chat, cli, tmp_path):
    ran = cli(
        "runbook",
        "daily",
        "chat",
        "--until",
        END.isoformat(),
        "--out",
        tmp_path / "chat.html",
        "--json",
    )
    items = {i["item"]: i for i in ran.json["items"]}
    assert items["metrics"]["verdict"] == "skipped" and items["quality"]["verdict"] == "skipped"
    assert (
        items["predictions"]["verdict"] == "fail"
        and "cost up 50%" in items["predictions"]["detail"]
    )
    assert ran.exit_code == 1 and (tmp_path / "chat.html").exists()
    metrics = cli("monitor", "metrics", "chat", "--until", END.isoformat())
    assert metrics.exit_code == 2 and "use `modelward monitor predictions`" in metrics.stderr
    drift = cli("monitor", "drift", "chat", "--until", END.isoformat())  # no tabular inputs
    assert drift.exit_code == 2 and "is an LLM endpoint" in drift.stderr
    assert "use `modelward monitor predictions chat`" in drift.stderr
