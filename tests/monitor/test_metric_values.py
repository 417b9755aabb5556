"""A small window's binary metrics are scikit-learn's to the last bit, though the check no
longer imports scikit-learn to compute them (its import was most of a check's time)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk

from modelward.monitoring.metrics import compute_metrics, trapezoid_auc


def _scores(rng: np.random.Generator, n: int, kind: int) -> np.ndarray:
    if kind == 0:
        return rng.random(n)  # distinct
    if kind == 1:
        return rng.integers(0, 7, n) / 7  # heavy ties: collinear corners to drop
    return np.round(rng.normal(size=n), 1)


def test_roc_auc_is_scikit_learns_exactly():
    rng = np.random.default_rng(3)
    checked = 0
    for trial in range(600):
        n = int(rng.integers(2, 400))
        positive = rng.random(n) < rng.random()
        if positive.all() or not positive.any():
            continue
        score = _scores(rng, n, trial % 3)
        assert trapezoid_auc(positive, score) == sk.roc_auc_score(positive, score)
        checked += 1
    assert checked > 500


def test_binary_window_metrics_equal_scikit_learns():
    rng = np.random.default_rng(4)
    for trial in range(60):
        n = int(rng.integers(5, 300))
        label = rng.choice(["0", "1"], n)
        prediction = rng.choice(["0", "1"] if trial % 4 else ["0"], n)  # one class said
        frame = pd.DataFrame(
            {"label": label, "prediction": prediction, "score": _scores(rng, n, trial % 3)}
        )
        names = ["accuracy", "roc_auc", "f1", "precision", "recall"]
        found = compute_metrics(frame, "binary-classification", names, positive="1", resamples=50)
        expected = {
            "accuracy": sk.accuracy_score(label, prediction),
            "roc_auc": sk.roc_auc_score(label == "1", frame["score"]),
            "f1": sk.f1_score(label, prediction, pos_label="1", zero_division=0),
            "precision": sk.precision_score(label, prediction, pos_label="1", zero_division=0),
            "recall": sk.recall_score(label, prediction, pos_label="1", zero_division=0),
        }
        assert {k: v["value"] for k, v in found.items()} == expected


def test_labels_scikit_learn_refuses_are_still_refused():
    frame = pd.DataFrame(
        {"label": ["a", "b", "c", "a"], "prediction": ["a", "b", "c", "c"], "score": 0.5}
    )
    with pytest.raises(ValueError, match="multiclass"):
        compute_metrics(frame, "binary-classification", ["precision"], positive="b")
