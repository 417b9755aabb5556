"""Bootstrap confidence intervals for 7 metrics: modelward's vectorised bootstrap against
the usual loop (draw row indices, call scikit-learn for every metric on every resample).

    PYTHONPATH=src python benchmarks/bootstrap_metrics.py [--rows 2000] [--resamples 1000]

Both use the same resamples (seeded), so the intervals must agree; the script checks that
and prints both times and the ratio. The peer is scikit-learn itself (a modelward
dependency), so no separate environment is needed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
from sklearn import metrics as skm

from modelward.evaluation.metrics import BinaryData, bootstrap_metrics
from modelward.stats.bootstrap import _indices, _percentiles

SEVEN = {
    "accuracy": lambda y, yhat, p: skm.accuracy_score(y, yhat),
    "precision": lambda y, yhat, p: skm.precision_score(y, yhat, zero_division=0),
    "recall": lambda y, yhat, p: skm.recall_score(y, yhat, zero_division=0),
    "f1": lambda y, yhat, p: skm.f1_score(y, yhat, zero_division=0),
    "roc_auc": lambda y, yhat, p: skm.roc_auc_score(y, p),
    "log_loss": lambda y, yhat, p: skm.log_loss(y, p, labels=[0, 1]),
    "brier_score": lambda y, yhat, p: skm.brier_score_loss(y, p),
}


def sklearn_loop(y, yhat, p, resamples, seed):
    draws = {name: [] for name in SEVEN}
    for idx in _indices(len(y), resamples, seed):
        for name, fn in SEVEN.items():
            draws[name].append(fn(y[idx], yhat[idx], p[idx]))
    return {name: _percentiles(np.array(v), 0.95) for name, v in draws.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=2000)
    parser.add_argument("--resamples", type=int, default=1000)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, args.rows)
    p = np.clip(0.35 * y + 0.65 * rng.random(args.rows), 0, 1)
    yhat = (p >= 0.5).astype(int)

    start = time.perf_counter()
    ours = bootstrap_metrics(BinaryData.of(y, yhat, p), resamples=args.resamples, seed=1)
    t_ours = time.perf_counter() - start
    start = time.perf_counter()
    loop = sklearn_loop(y, yhat, p, args.resamples, seed=1)
    t_loop = time.perf_counter() - start

    for name, (low, high) in loop.items():
        assert np.isclose(ours[name]["low"], low) and np.isclose(ours[name]["high"], high), name
    print(f"{args.rows} rows, {args.resamples} resamples, 7 metrics; identical intervals")
    print(f"modelward vectorised bootstrap: {t_ours:8.3f} s")
    print(f"scikit-learn loop:              {t_loop:8.3f} s")
    print(f"ratio (loop / modelward):       {t_loop / t_ours:8.1f}x")


if __name__ == "__main__":
    main()
