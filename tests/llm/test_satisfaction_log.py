"""Ratings in the prediction log's feedback: stored beside labels without erasing them,
readable in logs written before the rating columns existed, summed by satisfaction_stats."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from modelward.llm.satisfaction import satisfaction_stats
from modelward.predlog import LogWriter, feedback, labelled
from modelward.predlog.reader import LogReader, Span

DAY = datetime(2026, 11, 24, 12, tzinfo=UTC)
SPAN = Span(DAY, DAY + timedelta(days=1))


def _row(rid: str, version: int, query_type: str | None, status: str = "ok", **extra):
    return {
        "request_id": rid,
        "ts": DAY + timedelta(minutes=1),
        "version": version,
        "environment": "production",
        "status": status,
        "prediction": "an answer" if query_type else "1",
        "query_type": query_type,
        **extra,
    }


@pytest.mark.parametrize("wal", [False, True])
def test_a_rating_never_erases_an_earlier_label(tmp_path: Path, wal: bool):
    logs = str(tmp_path / "logs")
    with LogWriter(logs, wal_dir=tmp_path / "wal" if wal else None) as writer:
        writer.log_predictions("heart", [_row("r1", 1, None), _row("r2", 1, None)])
        writer.log_feedback("heart", "r1", "1", ts=DAY + timedelta(hours=1))
        writer.log_feedback(
            "heart", "r1", None, ts=DAY + timedelta(hours=2), satisfaction=0.0, correct=False
        )
        writer.log_feedback("heart", "r2", None, ts=DAY + timedelta(hours=2), satisfaction=1.0)
    reader = LogReader(logs)
    found = reader.aggregate(
        reader.scan("heart", SPAN, labels=True), ["request_id", "label"], group_by="1, 2"
    )
    assert sorted(found) == [("r1", "1"), ("r2", None)]
    assert dict(feedback(logs).select("request_id, label").fetchall()) == {"r1": "1"}
    assert labelled(logs, "heart").select("request_id, label").fetchall() == [("r1", "1")]
    rated = reader.aggregate(
        reader.scan("heart", SPAN, ratings=True),
        ["request_id", "label", "satisfaction", "correct"],
        group_by="1, 2, 3, 4",
    )
    assert sorted(rated) == [("r1", "1", 0.0, False), ("r2", None, 1.0, None)]
    reader.close()


def _old_feedback_file(logs: Path, model: str, rows: list[tuple[str, str]]) -> None:
    """A feedback file as written before the rating columns existed."""
    folder = logs / "feedback" / f"model={model}" / f"date={DAY:%Y-%m-%d}"
    folder.mkdir(parents=True)
    table = pa.table(
        {
            "request_id": [r for r, _ in rows],
            "ts": pa.array([DAY + timedelta(hours=1)] * len(rows), pa.timestamp("us", tz="UTC")),
            "label": [label for _, label in rows],
        }
    )
    pq.write_table(table, folder / "old-000001.parquet")


def test_old_feedback_files_still_read_with_and_without_ratings(tmp_path: Path):
    logs = tmp_path / "logs"
    with LogWriter(str(logs)) as writer:
        writer.log_predictions("chat", [_row("a", 1, "factual"), _row("b", 1, "factual")])
    _old_feedback_file(logs, "chat", [("a", "x")])
    assert satisfaction_stats(str(logs), SPAN)[0].ratings == 0  # only old files: no column
    with LogWriter(str(logs)) as writer:
        writer.log_feedback("chat", "b", None, ts=DAY + timedelta(hours=3), satisfaction=0.75)
    (stats,) = satisfaction_stats(str(logs), SPAN)
    assert (stats.answers, stats.ratings, stats.mean) == (2, 1, 0.75)
    assert dict(feedback(str(logs)).select("request_id, label").fetchall()) == {"a": "x"}


def test_stats_per_model_version_and_query_type_match_a_plain_computation(tmp_path: Path):
    rng = np.random.default_rng(7)
    logs = str(tmp_path / "logs")
    expected: dict[tuple[str, int, str], list] = {}
    with LogWriter(logs) as writer:
        writer.log_predictions("heart", [_row("t1", 1, None)])  # a tabular model: left out
        writer.log_feedback("heart", "t1", "1", ts=DAY + timedelta(hours=1))
        for i in range(200):
            model = ("chat", "other")[i % 2]
            version, kind = int(rng.integers(1, 3)), str(rng.choice(["factual", "technical"]))
            rid = f"r{i}"
            writer.log_prediction(model, _row(rid, version, kind))
            writer.log_prediction(model, _row(rid, version, kind, status="error"))  # fallback
            entry = expected.setdefault((model, version, kind), [0, [], []])
            entry[0] += 1
            if rng.random() < 0.7:
                rating = int(rng.choice([1, 0, -1]))
                correct = bool(rng.random() < 0.5) if rng.random() < 0.5 else None
                writer.log_feedback(
                    model,
                    rid,
                    None,
                    ts=DAY + timedelta(hours=2),
                    satisfaction={1: 1.0, 0: 0.5, -1: 0.0}[rating],
                    correct=correct,
                )
                entry[1].append({1: 1.0, 0: 0.5, -1: 0.0}[rating])
                if correct is not None:
                    entry[2].append(correct)
        # an answer of the day before the span: not counted
        writer.log_prediction("chat", {**_row("old", 1, "factual"), "ts": DAY - timedelta(hours=1)})
        writer.log_feedback("chat", "old", None, ts=DAY, satisfaction=0.0)
    found = {(s.model, s.version, s.query_type): s for s in satisfaction_stats(logs, SPAN)}
    assert set(found) == set(expected)
    for key, (answers, ratings, labels) in expected.items():
        stats = found[key]
        assert (stats.answers, stats.ratings) == (answers, len(ratings)), key
        assert stats.mean == pytest.approx(np.mean(ratings)), key
        assert (stats.labelled, stats.correct) == (len(labels), int(np.sum(labels))), key
    only = satisfaction_stats(logs, SPAN, model="chat", version=2)
    assert {(s.model, s.version) for s in only} == {("chat", 2)}
