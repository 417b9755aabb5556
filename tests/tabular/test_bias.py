"""Fairness differences from per-group counts equal Fairlearn's on the same data."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from fairlearn.metrics import (
    MetricFrame,
    demographic_parity_difference,
    equalized_odds_difference,
    selection_rate,
    true_positive_rate,
)

from conftest import FEATURES
from modelward.policy.model import BiasPolicy
from modelward.validation.bias import bias_checks, group_labels, group_rates, parity_differences


@pytest.fixture(scope="module")
def predictions(heart, fitted):
    return heart, fitted.predict(heart[FEATURES]), heart["target"].to_numpy()


@pytest.mark.parametrize("attribute", ["sex", "site", "cp", "age"])
def test_differences_match_fairlearn(predictions, attribute):
    frame, y_pred, y_true = predictions
    groups = group_labels(frame[attribute], [40, 55, 65])
    ours = parity_differences(group_rates(y_true, y_pred, groups))
    expected_dpd = demographic_parity_difference(y_true, y_pred, sensitive_features=groups)
    expected_eod = equalized_odds_difference(y_true, y_pred, sensitive_features=groups)
    assert ours["demographic_parity_difference"] == pytest.approx(expected_dpd)
    assert ours["equalized_odds_difference"] == pytest.approx(expected_eod)


def test_group_rates_match_metric_frame(predictions):
    frame, y_pred, y_true = predictions
    groups = group_labels(frame["sex"], [])
    ours = group_rates(y_true, y_pred, groups)
    mf = MetricFrame(
        metrics={"sel": selection_rate, "tpr": true_positive_rate},
        y_true=y_true,
        y_pred=y_pred,
        sensitive_features=groups,
    )
    for group, row in mf.by_group.iterrows():
        assert ours[str(group)]["selection_rate"] == pytest.approx(row["sel"])
        assert ours[str(group)]["true_positive_rate"] == pytest.approx(row["tpr"])


def test_age_is_cut_into_the_policy_bands():
    labels = group_labels(pd.Series(np.arange(20.0, 80.0)), [40, 55, 65])
    assert set(labels) == {"<40", "40-55", "55-65", ">=65"}
    assert labels.iloc[0] == "<40" and labels.iloc[20] == "40-55"


def test_small_groups_are_left_out_and_missing_columns_skipped(predictions):
    frame, y_pred, y_true = predictions
    policy = BiasPolicy(protected=["sex", "ethnicity"], min_group_size=10_000)
    checks, details = bias_checks(frame, y_true, y_pred, policy)
    assert "ethnicity" in details and "skipped" in details["ethnicity"]
    ran = [c for c in checks if c.ran]
    assert all(c.passed for c in ran)  # no two groups are large enough to compare
    (skipped,) = [c for c in checks if not c.ran]  # said, not blocking: sex ran
    assert skipped.name == "ethnicity: bias" and not skipped.required and not skipped.passed
    assert details["sex"]["excluded_small_groups"] == ["0", "1"]
