"""One bad row can never stop the prediction log (issue 13, item 5): a row that cannot be
stored in Parquet (an integer beyond int64 logged by a bug or an older server) goes to a
quarantine file, named in an error line, an alert and a metric, while the rest flows, at
run time and when a segment is replayed at start."""

from __future__ import annotations

import json
import logging
import os
import signal
import subprocess
import sys
import textwrap
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest

from conftest import ROOT
from modelward.predlog import LogWriter

from .conftest import logged_ids, set_policy, wait_for

pytestmark = pytest.mark.sqlite_only

TYPES = {"in_age": "int64", "in_chol": "float64"}


def _rows(prefix: str, n: int, **extra) -> list[dict]:
    stamp = datetime(2026, 11, 24, 12, tzinfo=UTC)
    base = {"ts": stamp, "version": 1, "status": "ok", "in_chol": 200.5, **extra}
    return [{**base, "request_id": f"{prefix}{i}", "in_age": 40 + i} for i in range(n)]


@pytest.mark.parametrize("bad", [2**63, 2**70], ids=["beyond-int64", "beyond-64-bits"])
@pytest.mark.parametrize("mode", ["write-ahead", "in-memory", "write-ahead, published apart"])
def test_a_row_parquet_cannot_hold_is_quarantined_and_the_rest_flows(tmp_path, caplog, mode, bad):
    """Also as ``modelward serve`` publishes: each segment in a process of its own, which
    says what it set aside; the writer counts it, logs it and calls ``on_quarantine``."""
    logs = tmp_path / "logs"
    wal = tmp_path / "wal" if mode != "in-memory" else None
    caplog.set_level(logging.WARNING, "modelward.predlog")
    alerts: list[tuple[str, int, str]] = []
    writer = LogWriter(
        str(logs), wal_dir=wal, flush_ms=10**6, flush_rows=10**6,
        on_quarantine=lambda *about: alerts.append(about), separate_process="apart" in mode,
    ).start()  # fmt: skip
    assert writer.apart == ("apart" in mode)
    writer.log_predictions("heart", _rows("a", 5), TYPES)
    writer.log_prediction("heart", {**_rows("bad", 1)[0], "in_age": bad}, TYPES)
    writer.log_predictions("heart", _rows("b", 5), TYPES)
    writer.flush()
    assert writer.queued == 0
    expected = [f"{p}{i}" for p in "ab" for i in range(5)]
    assert sorted(logged_ids(str(logs))) == expected
    (kept,) = (logs / "quarantine").glob("*.jsonl")
    (line,) = [json.loads(text) for text in kept.read_text().splitlines()]
    assert line["row"]["request_id"] == "bad0" and str(line["row"]["in_age"]) == str(bad)
    assert "in_age" in line["reason"]
    assert writer.quarantined == 1
    assert any(kept.name in r.getMessage() and r.levelno == logging.ERROR for r in caplog.records)
    ((where, rows, reason),) = alerts
    assert where.endswith(kept.name) and rows == 1 and "in_age" in reason
    # the log keeps flowing: later rows are published by the next round
    writer.log_predictions("heart", _rows("c", 3), TYPES)
    writer.close()
    assert {f"c{i}" for i in range(3)} <= set(logged_ids(str(logs)))
    assert writer.flushed


def _poisoned_segment(logs: Path, wal: Path) -> None:
    """A writer killed with a bad row among good ones in its write-ahead segment (a server
    before int64 inputs were bounded wrote exactly this)."""
    script = textwrap.dedent(
        f"""
        import os, signal
        from modelward.predlog import LogWriter
        w = LogWriter({str(logs)!r}, wal_dir={str(wal)!r}, flush_rows=10**6, flush_ms=10**6)
        w.start()
        for i in range(12):
            age = 2**63 if i == 5 else 40 + i
            w.log_prediction("heart", {{"request_id": f"k{{i}}", "version": 1,
                "status": "ok", "in_age": age}}, {{"in_age": "int64"}})
        os.kill(os.getpid(), signal.SIGKILL)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run([sys.executable, "-c", script], env=env, check=False)
    assert done.returncode == -signal.SIGKILL
    assert list(wal.glob("*.wal"))


def test_a_poisoned_segment_is_quarantined_when_the_server_starts(deployed, start_server):
    set_policy(deployed, "serving", "flush_ms", 200)
    logs = Path(deployed.logs_url)
    _poisoned_segment(logs, deployed.root / "wal")
    server = start_server()
    assert server.proc.poll() is None, server.output()  # it started (before: rc 3)
    good = {f"k{i}" for i in range(12)} - {"k5"}
    assert set(logged_ids(deployed)) == good
    (kept,) = (logs / "quarantine").glob("*.jsonl")
    assert json.loads(kept.read_text())["row"]["request_id"] == "k5"
    lines = [json.loads(line) for line in server.output().splitlines() if line.startswith("{")]
    assert any(kept.name in line["message"] and line["level"] == "error" for line in lines)
    metrics = httpx.get(server.url + "/metrics", timeout=10).text
    assert "modelward_log_quarantined_rows 1.0" in metrics

    def alerted() -> list:
        return [a for a in deployed.alerting.alerts.list() if a.check == "prediction-log"]

    wait_for(alerted, what="the quarantine alert")
    assert kept.name in alerted()[0].message


_STAMP = 1_795_000_000_000_000  # 2026-11-18, in microseconds
_NO_TIME, _NO_PARTITION = "ts is not a time in microseconds", "not a prediction or feedback row"


@pytest.mark.parametrize(
    ("odd", "reason"),
    [
        ({"ts": 2**62}, _NO_TIME),  # year 148,000 and more
        ({"ts": 253_402_300_800_000_000}, _NO_TIME),  # the year 10000
        ({"ts": None}, _NO_TIME),
        ({"k": "x"}, _NO_PARTITION),
        ({"m": None}, _NO_PARTITION),
    ],
    ids=["far-future", "year-10000", "no-ts", "unknown-kind", "no-model"],
)
def test_an_odd_row_of_a_segment_is_set_aside_by_either_conversion(odd, reason):
    """A segment converts in one go through Arrow's reader, or row by row when that
    refuses it (a torn line): a row of no partition is set aside, with its reason, either
    way, never lost nor filed under a made-up date."""
    from modelward.predlog.convert import convert_segment, json_line

    def row(i: int, **over) -> dict:
        base = {"k": "predictions", "m": "heart", "ts": _STAMP, "request_id": f"r{i}"}
        return {**base, "version": 1, "status": "ok", "in_age": 40 + i, **over}

    data = b"".join(
        [
            json_line({"k": "t", "m": "heart", "types": {"in_age": "int64"}}),
            *(json_line(row(i)) for i in range(3)),
            json_line(row(9, **odd)),
        ]
    )
    for converted in (convert_segment(data), convert_segment(data + b'{"torn\n')):
        stored = {key: t.column("request_id").to_pylist() for key, t in converted.tables.items()}
        assert stored == {("predictions", "heart", "2026-11-18"): ["r0", "r1", "r2"]}
        aside = [q for q in converted.quarantined if isinstance(q["row"], dict)]
        assert [(q["row"]["request_id"], q["reason"]) for q in aside] == [("r9", reason)]
