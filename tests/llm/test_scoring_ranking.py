"""Scorers, metric directions and ranking normalization (with property tests)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from modelward.llm.cache import MemoryCache, cache_key
from modelward.llm.metrics import DIRECTIONS, summarize
from modelward.llm.ranking import DEFAULT_WEIGHTS, normalize
from modelward.llm.scoring import SCORERS, coherence, relevance, score
from modelward.llm.types import Item


def _item(expected, scorer="normalized", tolerance=0.0, reference=None):
    return Item(
        "1",
        "factual",
        [{"role": "user", "content": "What is the capital of France?"}],
        list(expected),
        reference,
        scorer,
        tolerance,
    )


@pytest.mark.parametrize(
    ("scorer", "expected", "output", "right"),
    [
        ("exact", ["Paris"], " Paris ", True),
        ("exact", ["Paris"], "paris", False),
        ("normalized", ["Paris"], "The paris.", True),
        ("normalized", ["Paris"], "Paris, France", False),
        ("contains", ["Paris"], "It is Paris, of course", True),
        ("contains", ["Lyon"], "It is Paris", False),
        ("regex", [r"^\s*def\b"], "def", True),
        ("regex", [r"^\s*def\b"], "lambda", False),
        ("numeric", ["1.41"], "about 1.414", True),
        ("numeric", ["1,000"], "1000 items", True),
        ("numeric", ["51"], "fifty-one", False),
        ("choice", ["B"], "B) mergesort", True),
        ("choice", ["B"], "The answer is A", False),
    ],
)
def test_scorers(scorer, expected, output, right):
    tolerance = 0.005 if expected == ["1.41"] else 0.0
    assert score(output, _item(expected, scorer, tolerance)) == float(right)


def test_every_scorer_is_documented():
    import modelward.llm.scoring as scoring

    for name in SCORERS:
        assert f"``{name}``" in (scoring.__doc__ or ""), name


def test_relevance_and_coherence():
    item = _item(["Paris"], reference="Paris is the capital of France")
    assert relevance("Paris is the capital of France", item) == 1.0
    assert relevance("I like trains", item) == 0.0
    assert coherence("") == 0.0
    assert coherence("a b c d e f") == 1.0
    assert coherence("one two three " * 10) < 0.2


def test_every_ranked_metric_has_a_direction():
    assert set(DEFAULT_WEIGHTS) <= set(DIRECTIONS)
    from modelward.policy import Policy

    for weights in Policy().llm.weights.values():
        assert set(weights) <= set(DIRECTIONS)


@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=20),
    st.sampled_from(["higher", "lower"]),
)
def test_normalize_maps_best_to_one_and_keeps_order(values, direction):
    out = normalize(values, direction)
    assert all(0.0 <= v <= 1.0 for v in out)
    best = max(values) if direction == "higher" else min(values)
    assert out[values.index(best)] == 1.0
    for a, na in zip(values, out, strict=True):
        for b, nb in zip(values, out, strict=True):
            better = a > b if direction == "higher" else a < b
            if better:
                assert na >= nb


def test_lower_latency_and_cost_rank_higher():
    # the runbook's sketch multiplied raw values: slow and expensive would win; we must not
    assert normalize([0.5, 2.0], "lower") == [1.0, 0.0]
    assert normalize([0.001, 0.01], "lower") == [1.0, 0.0]


@given(
    st.dictionaries(st.sampled_from(["temperature", "top_p", "max_tokens"]), st.integers(0, 5)),
    st.lists(st.text(max_size=20), min_size=1, max_size=3),
)
def test_cache_key_ignores_param_order_and_tells_inputs_apart(params, texts):
    messages = [{"role": "user", "content": t} for t in texts]
    reordered = dict(reversed(list(params.items())))
    assert cache_key("p", "m", params, messages) == cache_key("p", "m", reordered, messages)
    assert cache_key("p", "m", params, messages) != cache_key("p", "m2", params, messages)


def test_memory_cache_ttl_and_size(monkeypatch):
    import modelward.llm.cache as cache

    clock = [0.0]
    monkeypatch.setattr(cache.time, "monotonic", lambda: clock[0])
    memory = MemoryCache(ttl_s=10, size=2)
    memory.put("a", 1)
    memory.put("b", 2)
    memory.put("c", 3)
    assert memory.get("a") is None and memory.get("c") == 3  # evicted, least recent first
    clock[0] = 11
    assert memory.get("c") is None  # expired
    off = MemoryCache(ttl_s=0, size=10)
    off.put("a", 1)
    assert off.get("a") is None


def test_summary_percentiles_match_numpy():
    rng = np.random.default_rng(0)
    rows = [
        {
            "correct": bool(rng.random() < 0.7),
            "latency_ms": float(rng.gamma(2, 50)),
            "cost": float(rng.random() / 1000),
            "input_tokens": 10,
            "output_tokens": 5,
            "error": None,
            "relevance": 0.5,
            "coherence": 1.0,
            "cached": False,
        }
        for _ in range(200)
    ]
    summary = summarize(rows)
    latencies = np.array([r["latency_ms"] for r in rows]) / 1000
    assert summary["response_time"]["median"] == pytest.approx(np.median(latencies))
    assert summary["response_time"]["p95"]["value"] == pytest.approx(np.percentile(latencies, 95))
    assert summary["response_time"]["p99"] == pytest.approx(np.percentile(latencies, 99))
    assert summary["accuracy"]["value"] == pytest.approx(np.mean([r["correct"] for r in rows]))
    total = sum(r["cost"] for r in rows)
    assert summary["cost"]["per_token"] == pytest.approx(total / (200 * 15))
