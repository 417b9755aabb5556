"""A small window's binary metrics are scikit-learn's to the last bit, though the check no
longer imports scikit-learn to compute them (its import was most of a check's time)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sklearn import metrics as sk
from tests.monitor.conftest import UNTIL
from tests.test_cli_start import loaded

from modelward.monitoring.metrics import compute_metrics, trapezoid_auc

pytestmark = pytest.mark.sqlite_only


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


def test_the_logs_arrow_rows_give_what_their_pandas_frame_gives():
    """The check hands over the log's rows as read (Arrow); rows missing a label or a
    prediction are left out as the DataFrame's ``notna`` leaves them out."""
    import pyarrow as pa

    from modelward.predlog.reader import frame

    rng = np.random.default_rng(5)
    n = 120
    label = [None if i % 9 == 0 else str(v) for i, v in enumerate(rng.integers(0, 2, n))]
    said = [None if i % 11 == 0 else str(v) for i, v in enumerate(rng.integers(0, 2, n))]
    score = [None if i % 13 == 0 else float(v) for i, v in enumerate(rng.random(n))]
    table = pa.table({"label": label, "prediction": said, "score": score})
    names = ["accuracy", "f1", "precision", "recall"]
    kwargs = {"positive": "1", "resamples": 100}
    from_arrow = compute_metrics(table, "binary-classification", names, **kwargs)
    assert from_arrow == compute_metrics(frame(table), "binary-classification", names, **kwargs)
    pairs = [(a, b) for a, b in zip(label, said, strict=True) if a is not None and b is not None]
    truth, predicted = ([p[i] for p in pairs] for i in (0, 1))
    assert from_arrow["accuracy"]["value"] == sk.accuracy_score(truth, predicted)
    # scores with gaps: no ROC-AUC either way
    both = compute_metrics(table, "binary-classification", ["roc_auc"], positive="1")
    assert both == compute_metrics(frame(table), "binary-classification", ["roc_auc"], positive="1")
    assert both["roc_auc"]["value"] is None


def test_a_classifiers_metrics_check_starts_without_scikit_learn_or_pandas(served):
    """As a user runs it, ``monitor metrics`` on a binary model reads the log and computes
    its metrics without loading scikit-learn, SciPy or pandas."""
    args = ("monitor", "metrics", "heart", "--last", "24h", "--until", UNTIL, "--json")
    code, out, heavy = loaded(*args, watched=("sklearn", "scipy", "pandas", "numpy"))
    assert code in (0, 1)
    found = json.loads(out)["results"]["versions"]["v1"]["metrics"]
    assert 0.5 < found["roc_auc"]["value"] <= 1  # computed, not skipped
    assert heavy == ["numpy"]


def test_multiclass_intervals_are_scikit_learns_bootstrap():
    """The multiclass intervals come from each resample's confusion matrix; they are the
    percentile bootstrap of scikit-learn's metrics over the same resampled rows, classes
    missing from a resample (or never predicted) included."""
    functions = {
        "accuracy": sk.accuracy_score,
        "f1_macro": lambda t, p: sk.f1_score(t, p, average="macro", zero_division=0),
        "precision_macro": lambda t, p: sk.precision_score(t, p, average="macro", zero_division=0),
        "recall_macro": lambda t, p: sk.recall_score(t, p, average="macro", zero_division=0),
    }
    rng = np.random.default_rng(5)
    for trial in range(12):
        n = int(rng.integers(3, 120))
        classes = ["Adelie", "Chinstrap", "Gentoo", "rare"][: 2 + trial % 3]
        label = rng.choice(classes, n, p=None if trial % 2 else _skewed(len(classes)))
        prediction = np.where(rng.random(n) < 0.7, label, rng.choice(classes[:-1], n))
        _assert_bootstrap_of(functions, "multiclass-classification", label, prediction)


def _skewed(k: int) -> list[float]:
    weights = np.array([8.0] * (k - 1) + [1.0])
    return list(weights / weights.sum())


def test_regression_intervals_are_scikit_learns_bootstrap():
    functions = {
        "mae": sk.mean_absolute_error,
        "rmse": lambda t, p: float(np.sqrt(sk.mean_squared_error(t, p))),
        "r2": sk.r2_score,
    }
    rng = np.random.default_rng(6)
    for trial in range(12):
        n = int(rng.integers(2, 150))
        label = rng.normal(4000, 800, n) if trial % 3 else np.full(n, 3.0)  # constant: R² edge
        prediction = label + rng.normal(0, 300, n) if trial % 4 else label.copy()
        _assert_bootstrap_of(functions, "regression", label, prediction)


def _assert_bootstrap_of(functions, task: str, label, prediction) -> None:
    """The check's values and intervals are ``bootstrap_ci`` of each scikit-learn function
    on the same rows and resamples."""
    from modelward.stats import bootstrap_ci

    frame = pd.DataFrame({"label": label, "prediction": prediction, "score": None})
    found = compute_metrics(frame, task, list(functions), resamples=200)
    for name, fn in functions.items():
        expected = bootstrap_ci(fn, label, prediction, resamples=200, seed=0)
        assert found[name]["value"] == pytest.approx(expected.value, rel=1e-9), name
        shown = (found[name]["low"], found[name]["high"])
        assert shown == pytest.approx((expected.low, expected.high), rel=1e-9, abs=1e-12), name
