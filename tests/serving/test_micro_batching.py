"""Concurrent requests to a model served as its pipeline (no ONNX graph) run as one
``predict`` call: each gets the answer it gets alone, and a request the model cannot
compute on fails alone."""

from __future__ import annotations

import asyncio

import pytest

from serving.test_tasks import deploy, records, sample, task_case

pytestmark = pytest.mark.sqlite_only


@pytest.fixture
def pipeline_model(workspace):
    """A binary classifier whose pipeline has no ONNX converter (FactorAnalysis), loaded
    as the server loads it; its request rows as columns."""
    from modelward.serving.models import load_model

    frame, target, model = task_case("binary-classification", convertible=False)
    version = deploy(workspace, "m", model, frame, target, "binary-classification")
    loaded = load_model(workspace, "m", version)
    assert loaded.path == "sklearn"
    rows = records(sample(frame, target))
    columns = [{name: [row[name]] for name in loaded.validator.names} for row in rows]
    return loaded, columns


def _same(got, alone) -> None:
    assert got.labels == alone.labels
    assert got.scores == pytest.approx(alone.scores, abs=1e-9)


async def _concurrently(batcher, requests):
    return await asyncio.gather(*(batcher.predict(c) for c in requests), return_exceptions=True)


def test_concurrent_requests_run_as_one_predict_with_each_ones_own_answer(pipeline_model):
    from modelward.serving.batcher import MicroBatcher

    loaded, columns = pipeline_model
    batcher = MicroBatcher(loaded)
    answers = asyncio.run(_concurrently(batcher, columns))
    assert batcher.calls == 1  # 40 rows read in one turn of the event loop
    for request, got in zip(columns, answers, strict=True):
        _same(got, loaded.predict_columns(request))


def test_a_batch_is_closed_at_64_rows(pipeline_model):
    from modelward.serving.batcher import MicroBatcher

    loaded, columns = pipeline_model
    requests = (columns * 3)[:100]
    batcher = MicroBatcher(loaded)
    answers = asyncio.run(_concurrently(batcher, requests))
    assert batcher.calls == 2  # 64 rows at once, then the other 36 when that batch ends
    for request, got in zip(requests, answers, strict=True):
        _same(got, loaded.predict_columns(request))


def test_a_request_the_model_cannot_compute_on_fails_alone(pipeline_model):
    from modelward.serving.batcher import MicroBatcher

    loaded, columns = pipeline_model
    bad = {name: list(values) for name, values in columns[7].items()}
    bad[loaded.validator.names[0]] = ["not a number"]  # the pipeline raises on it
    requests = [*columns[:7], bad, *columns[8:]]
    batcher = MicroBatcher(loaded)
    answers = asyncio.run(_concurrently(batcher, requests))
    assert isinstance(answers[7], ValueError)
    for i, (request, got) in enumerate(zip(requests, answers, strict=True)):
        if i != 7:
            _same(got, loaded.predict_columns(request))


def test_the_pipeline_answers_what_predict_and_predict_proba_answer(pipeline_model):
    """Its transforms run once for labels and probabilities: the same answers."""
    import numpy as np

    from modelward.serving.models import columns_frame

    loaded, columns = pipeline_model
    joined = {name: [v for c in columns for v in c[name]] for name in loaded.validator.names}
    frame = columns_frame(loaded.validator, joined)
    labels, proba = loaded.flavor.predict_both(frame)
    assert np.array_equal(labels, loaded.flavor.predict(frame))
    assert np.array_equal(proba, loaded.flavor.predict_proba(frame))
