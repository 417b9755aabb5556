"""Properties of the weighted metrics on arbitrary data (hypothesis): they equal
scikit-learn's, do not depend on row order, and integer weights equal repeated rows."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn import metrics as skm

from modelward.evaluation.metrics import BinaryData, _weighted, point_metrics


@st.composite
def labelled(draw):
    n = draw(st.integers(4, 60))
    y = np.array(draw(st.lists(st.integers(0, 1), min_size=n, max_size=n)))
    if y.min() == y.max():
        y[0] = 1 - y[0]
    # coarse scores so ties are common
    p = np.array(draw(st.lists(st.integers(0, 10), min_size=n, max_size=n))) / 10
    return BinaryData.of(y, (p >= 0.5).astype(int), p)


@settings(max_examples=60, deadline=None)
@given(labelled())
def test_ranking_metrics_equal_sklearn_with_ties(data):
    ours = point_metrics(data)
    assert ours["roc_auc"] == pytest.approx(skm.roc_auc_score(data.y_true, data.y_score))
    assert ours["average_precision"] == pytest.approx(
        skm.average_precision_score(data.y_true, data.y_score)
    )


@settings(max_examples=40, deadline=None)
@given(labelled(), st.randoms(use_true_random=False))
def test_row_order_does_not_matter(data, rnd):
    order = np.array(rnd.sample(range(data.n), data.n))
    shuffled = BinaryData.of(data.y_true[order], data.y_pred[order], data.y_score[order])
    a, b = point_metrics(data), point_metrics(shuffled)
    assert a == pytest.approx(b)


@settings(max_examples=40, deadline=None)
@given(labelled(), st.lists(st.integers(0, 3), min_size=60, max_size=60))
def test_integer_weights_equal_repeated_rows(data, counts):
    w = np.array(counts[: data.n], dtype=float)
    if w.sum() == 0:
        w[0] = 1
    weighted = {k: v[0] for k, v in _weighted(data, w[None, :]).items()}
    rows = np.repeat(np.arange(data.n), w.astype(int))
    repeated = point_metrics(
        BinaryData.of(data.y_true[rows], data.y_pred[rows], data.y_score[rows])
    )
    for name, value in repeated.items():
        if np.isnan(value):
            assert np.isnan(weighted[name])
        else:
            assert weighted[name] == pytest.approx(value), name
