"""Group fairness metrics on large data: modelward's per-group-count implementation against
Fairlearn (MetricFrame by group, and its demographic_parity_difference /
equalized_odds_difference).

    PYTHONPATH=src python benchmarks/fairness.py [--rows 1000000] [--groups 8]

Both compute selection rate, TPR and FPR per group and the two differences; the script
checks the numbers agree and prints both times and the ratio. Fairlearn is a modelward
dependency, so no separate environment is needed.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    false_positive_rate,
    selection_rate,
    true_positive_rate,
)

from modelward.validation.bias import group_rates, parity_differences


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--groups", type=int, default=8)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    groups = pd.Series(rng.integers(0, args.groups, args.rows)).map(lambda g: f"g{g}")
    y = rng.integers(0, 2, args.rows)
    yhat = rng.random(args.rows) < 0.3 + 0.05 * groups.str[1:].astype(int) / args.groups
    yhat = yhat.astype(int)

    start = time.perf_counter()
    rates = group_rates(y, yhat, groups)
    ours = parity_differences(rates)
    t_ours = time.perf_counter() - start

    start = time.perf_counter()
    frame = MetricFrame(
        metrics={"sel": selection_rate, "tpr": true_positive_rate, "fpr": false_positive_rate},
        y_true=y,
        y_pred=yhat,
        sensitive_features=groups,
    )
    by_group = frame.by_group
    dpd = demographic_parity_difference(y, yhat, sensitive_features=groups)
    eod = equalized_odds_difference(y, yhat, sensitive_features=groups)
    t_peer = time.perf_counter() - start

    assert np.isclose(ours["demographic_parity_difference"], dpd)
    assert np.isclose(ours["equalized_odds_difference"], eod)
    for group, row in by_group.iterrows():
        assert np.isclose(rates[str(group)]["selection_rate"], row["sel"])
        assert np.isclose(rates[str(group)]["true_positive_rate"], row["tpr"])
    print(f"{args.rows} rows, {args.groups} groups; identical per-group rates and differences")
    print(f"modelward (per-group counts):          {t_ours:8.3f} s")
    print(f"Fairlearn (MetricFrame + differences):  {t_peer:8.3f} s")
    print(f"ratio (Fairlearn / modelward):          {t_peer / t_ours:8.1f}x")


if __name__ == "__main__":
    main()
