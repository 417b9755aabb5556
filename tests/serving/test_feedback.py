"""Feedback for ids the server does not hold in memory: accepted (202), resolved off the
request path by the resolver (one read of the log per batch, on its own thread, never on
the thread pool that runs models), labels stored, unknown ids reported on the ticket."""

from __future__ import annotations

import threading
from collections import OrderedDict
from pathlib import Path

import httpx
import pyarrow.parquet as pq
import pytest

from modelward.predlog import LogWriter, labelled
from modelward.predlog.files import LogFiles, live_files
from modelward.predlog.layout import PREDICTIONS

from .conftest import start_live, stop_live

pytestmark = pytest.mark.sqlite_only

FILES = 200  # the prediction log of an earlier server: a file per flush (merged by tiers)
ROWS = 5


def _old_log(ws, tmp_path) -> list[str]:
    """``FILES`` flushes of heart predictions, published (and merged as the writer
    does); their request ids."""
    ids = []
    with LogWriter(ws.logs_url, wal_dir=tmp_path / "old-wal", flush_rows=10_000) as writer:
        for f in range(FILES):
            rows = [
                {
                    "request_id": f"old-{f}-{i}",
                    "version": 1,
                    "environment": "production",
                    "status": "ok",
                    "prediction": str(i % 2),
                }
                for i in range(ROWS)
            ]
            writer.log_predictions("heart", rows, {})
            writer.flush()
            ids += [r["request_id"] for r in rows]
    published = _live(ws)
    assert sum(pq.read_metadata(p).num_rows for p in published) == FILES * ROWS
    return ids


def _live(ws) -> list[str]:
    """The published prediction files a listing reads (not those a merge replaced)."""
    found = (ws.root / "logs").rglob("predictions/**/*.parquet")
    return live_files(None, sorted(str(p) for p in found))


@pytest.fixture
def log_reads(monkeypatch):
    """The thread of every read of the prediction log (wraps the listing of its files)."""
    threads: list[str] = []
    real = LogFiles.files

    def files(self, kind, model=None, **dates):
        if kind == PREDICTIONS:
            threads.append(threading.current_thread().name)
        return real(self, kind, model, **dates)

    monkeypatch.setattr(LogFiles, "files", files)
    return threads


def test_concurrent_feedback_for_old_ids_is_resolved_off_the_request_path(
    deployed, tmp_path, log_reads
):
    old = _old_log(deployed, tmp_path)
    live = start_live(deployed)
    try:
        bodies = [
            [{"request_id": rid, "label": int(rid[-1]) % 2} for rid in old[k * 25 : k * 25 + 20]]
            + [{"request_id": f"nobody-{k}-{j}", "label": 1} for j in range(5)]
            for k in range(8)
        ]
        replies: list[httpx.Response] = []

        def send(body) -> None:
            with live.client() as http:
                replies.append(http.post("/v1/feedback", json=body))

        senders = [threading.Thread(target=send, args=(b,)) for b in bodies]
        for t in senders:
            t.start()
        for t in senders:
            t.join()
        assert set(log_reads) <= {"feedback-resolver"}  # no read while answering
        assert [r.status_code for r in replies] == [202] * 8, [r.text for r in replies]
        assert all(r.json()["pending"] == 25 and r.json()["accepted"] == 0 for r in replies)
        with live.client() as http:

            def done() -> bool:
                return all(http.get(r.headers["location"]).json()["pending"] == 0 for r in replies)

            live.wait_for(done)
            tickets = [http.get(r.headers["location"]).json() for r in replies]
    finally:
        stop_live(live)  # flushes the labels
    # Every read of the log ran on the resolver's thread: none on the event loop or on
    # asyncio's default executor (where pipelines run), and one read per batch.
    assert log_reads and set(log_reads) == {"feedback-resolver"}
    assert len(log_reads) == live.app.feedback.reads  # type: ignore[attr-defined]
    assert sorted(t["accepted"] for t in tickets) == [20] * 8
    assert sorted(rid for t in tickets for rid in t["unknown"]) == sorted(
        f"nobody-{k}-{j}" for k in range(8) for j in range(5)
    )
    stored = dict(labelled(deployed, "heart").select("request_id, label").fetchall())
    expected = {b["request_id"]: str(b["label"]) for body in bodies for b in body[:20]}
    assert stored == expected


@pytest.fixture
def resolver(deployed, tmp_path):
    """The server's feedback resolver on a log of many files, its batches run by hand."""
    from modelward.serving.feedback import Feedback
    from modelward.serving.state import ServingState

    old = _old_log(deployed, tmp_path)
    state = ServingState(deployed)
    state.refresh()  # heart v1 loaded: labels are checked against its classes
    writer = LogWriter(deployed.logs_url, wal_dir=tmp_path / "wal").start()
    stored: list[str] = []
    # An hour between batches: the test runs them with resolve_once().
    feedback = Feedback(
        state, writer, OrderedDict(), on_stored=stored.append, settle_s=0, interval_s=3600
    )
    yield feedback, old, writer
    feedback.close()
    writer.close()


def test_pending_ids_of_many_requests_are_resolved_with_one_read(resolver, log_reads):
    feedback, old, writer = resolver
    answers = [
        feedback.submit([(rid, 1, None) for rid in old[:300]], single=False),
        feedback.submit([(f"nobody-{i}", 0, None) for i in range(100)], single=False),
        feedback.submit([(old[300], "7", None)], single=True),  # not a class of heart
    ]
    assert [status for status, _, _ in answers] == [202, 202, 202]
    assert [body["pending"] for _, body, _ in answers] == [300, 100, 1]
    assert log_reads == []  # nothing read while answering
    assert feedback.resolve_once()
    assert len(log_reads) == 1  # 401 ids, three requests: one read
    first, nobody, wrong = (feedback.status(body["ticket"]) for _, body, _ in answers)
    assert (first["pending"], first["accepted"], first["unknown"]) == (0, 300, [])
    assert nobody["accepted"] == 0 and len(nobody["unknown"]) == 100
    assert (
        wrong["rejected"][0]["field"] == "label"
        and "not a class" in wrong["rejected"][0]["message"]
    )
    # Resolved ids are now known in memory: answered at once, without another read.
    status, body, _ = feedback.submit([(rid, 1, None) for rid in old[:10]], single=False)
    assert (status, body) == (200, {"accepted": 0, "duplicates": 10, "unknown": []})
    from modelward.errors import NotFound

    with pytest.raises(NotFound, match="nobody-3"):
        feedback.submit([("nobody-3", 1, None)], single=True)
    assert len(log_reads) == 1
    writer.flush()
    labels = dict(labelled(feedback.state.ws, "heart").select("request_id, label").fetchall())
    assert labels == {rid: "1" for rid in old[:300]}


def test_labels_wait_while_the_log_cannot_be_read(resolver):
    feedback, old, writer = resolver
    _, body, _ = feedback.submit([(old[0], 0, None)], single=False)
    files = [Path(p) for p in _live(feedback.state.ws)]
    saved = files[0].read_bytes()
    files[0].write_bytes(b"not parquet")  # storage trouble: not the client's mistake
    assert not feedback.resolve_once()
    assert feedback.status(body["ticket"])["pending"] == 1  # still waiting, not "unknown"
    files[0].write_bytes(saved)
    assert feedback.resolve_once()
    assert feedback.status(body["ticket"])["accepted"] == 1


def test_too_many_waiting_labels_is_a_503_with_retry_after(resolver, monkeypatch):
    from modelward.errors import Overloaded
    from modelward.serving import feedback as module

    feedback, old, _ = resolver
    monkeypatch.setattr(module, "MAX_PENDING", 3)
    feedback.submit([(rid, 1, None) for rid in old[:3]], single=False)
    with pytest.raises(Overloaded) as refused:
        feedback.submit([(old[3], 1, None)], single=True)
    assert refused.value.status == 503 and tuple(refused.value.headers) == ((b"retry-after", b"5"),)
    assert feedback.resolve_once()  # the queue drains: accepted again
    assert feedback.submit([(old[3], 1, None)], single=True)[0] == 202
