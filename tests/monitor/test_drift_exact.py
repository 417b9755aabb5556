"""Drift statistics against their exact values on benchmark-sized data: a reference
larger than the stored sample and a million-row window generated as
``benchmarks/monitoring.py`` does (the four hospitals, continuous features jittered by
2 % of their spread), so the check reads a hash sample of the window."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from scipy.stats import chi2_contingency, ks_2samp, norm, wasserstein_distance
from tests.conftest import FEATURES, make_pipeline

pytestmark = pytest.mark.sqlite_only

NUMERIC = ["age", "trestbps", "chol", "thalach", "oldpeak"]
DAY = datetime(2026, 11, 2, tzinfo=UTC)


def _jittered(pool, rows: int, seed: int):
    rng = np.random.default_rng(seed)
    sample = pool.iloc[rng.integers(0, len(pool), rows)].reset_index(drop=True)
    for f in NUMERIC:
        sample[f] = sample[f] + rng.normal(0, 0.02 * float(pool[f].std()), rows)
    return sample


def _write_day(ws, name: str, frame) -> None:
    n = len(frame)
    start = np.datetime64(DAY.replace(tzinfo=None), "us")
    ts = start + (np.arange(n, dtype="int64") * (86_400_000_000 // n)).astype("timedelta64[us]")
    table = pa.table(
        {
            "request_id": pa.array([f"r{i}" for i in range(n)]),
            "ts": pa.array(ts, pa.timestamp("us", tz="UTC")),
            "version": pa.array(np.ones(n, "int64")),
            "environment": pa.array(["production"] * n),
            "status": pa.array(["ok"] * n),
            "error": pa.nulls(n, pa.string()),
            "latency_ms": pa.array(np.full(n, 1.0)),
            "prediction": pa.array(["1"] * n),
            "score": pa.array(np.full(n, 0.5)),
            "proba": pa.nulls(n, pa.string()),
            # missing values as nulls, as the server writes them
            **{f"in_{f}": pa.array(frame[f].to_numpy("float64"), from_pandas=True)
               for f in FEATURES},
        }
    )  # fmt: skip
    from pathlib import Path

    folder = Path(ws.logs_url) / "predictions" / f"model={name}" / f"date={DAY:%Y-%m-%d}"
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "compacted-test.parquet", row_group_size=122_880)


@pytest.fixture
def million(workspace, heart):
    """A model registered with a 20 000-row reference, and a day of 1 M predictions."""
    pool = heart.drop(columns="site").reset_index(drop=True)
    cleveland = pool[heart.site.to_numpy() == "cleveland"]
    reference = _jittered(cleveland, 20_000, seed=1)
    model = make_pipeline().fit(cleveland[FEATURES], cleveland["target"])
    workspace.register("big", model, data=reference, target="target")
    current = _jittered(pool, 1_000_000, seed=0)
    _write_day(workspace, "big", current)
    return workspace, reference, current


def test_wasserstein_is_within_its_bound_of_the_exact_value_on_a_million_rows(million):
    ws, reference, current = million
    until = (DAY + timedelta(days=1)).isoformat()
    body = ws.monitor.drift("big", last="24h", until=until).results
    assert body["rows"] < 200_000  # the window was sampled: a hash sample of its requests
    for feature in NUMERIC:
        entry = body["features"][feature]
        assert entry["method"] == "wasserstein"
        ref = reference[feature].dropna().to_numpy("float64")
        cur = current[feature].dropna().to_numpy("float64")
        exact = wasserstein_distance(ref, cur) / np.std(ref)
        assert entry["spread"] == pytest.approx(np.std(ref))
        assert entry["error_bound"] <= 0.00125
        assert abs(entry["statistic"] - exact) <= entry["error_bound"] + 1e-9, feature
        assert abs(entry["statistic"] - exact) <= 0.005


def test_the_stored_reference_distribution_is_exact_or_within_its_error(heart):
    from modelward.data.profile import profile_column

    pool = heart.drop(columns="site").reset_index(drop=True)
    big = _jittered(pool, 200_000, seed=3)
    for feature, frame in (("age", pool), ("chol", big), ("oldpeak", big)):
        values = frame[feature].dropna().to_numpy("float64")
        stored = profile_column(frame[feature])["distribution"]
        distance = wasserstein_distance(values, stored["values"], None, stored["counts"])
        assert sum(stored["counts"]) == len(values)
        assert stored["std"] == pytest.approx(np.std(values))
        assert distance == pytest.approx(stored["error"], abs=1e-9)
        assert stored["error"] <= 0.001 * np.std(values)
    exact = profile_column(pool["age"])["distribution"]
    assert exact["error"] == 0.0 and len(exact["values"]) == pool["age"].nunique()


def _z_test(ref_hits, ref_n, cur_hits, cur_n):
    """The two-proportion z-test by its textbook formula (statsmodels' pooled one)."""
    p1, p2 = ref_hits / ref_n, cur_hits / cur_n
    pooled = (ref_hits + cur_hits) / (ref_n + cur_n)
    z = (p2 - p1) / np.sqrt(pooled * (1 - pooled) * (1 / ref_n + 1 / cur_n))
    return z, 2 * norm.sf(abs(z))


def test_small_reference_categorical_tests_count_the_references_sampling(workspace, heart):
    """On Cleveland's 303 rows against a million jittered rows of all four hospitals,
    a binary feature (fbs) gets the two-proportion z-test and a categorical one (cp)
    the chi-squared test of the 2 x k table, each equal to SciPy / the formula on every
    row of the window."""
    pool = heart.drop(columns="site").reset_index(drop=True)
    cleveland = pool[heart.site.to_numpy() == "cleveland"]
    model = make_pipeline().fit(cleveland[FEATURES], cleveland["target"])
    workspace.register("heart", model, data=cleveland, target="target")
    current = _jittered(pool, 1_000_000, seed=0)
    _write_day(workspace, "heart", current)
    until = (DAY + timedelta(days=1)).isoformat()
    body = workspace.monitor.drift("heart", last="24h", until=until).results
    fbs = body["features"]["fbs"]
    ref, cur = cleveland["fbs"].dropna(), current["fbs"].dropna()
    z, p = _z_test((ref == 0).sum(), len(ref), (cur == 0).sum(), len(cur))
    assert fbs["method"] == "ztest"
    assert fbs["statistic"] == pytest.approx(z) and fbs["p_value"] == pytest.approx(p)
    assert fbs["p_value"] > 0.05 and not fbs["drifted"]  # goodness of fit said 1e-116
    # numeric features: Kolmogorov-Smirnov on the window's hash sample, within the
    # documented bound (0.006, DKW at 100 000 rows) of D over every row
    for feature in NUMERIC:
        entry = body["features"][feature]
        ref = cleveland[feature].dropna().to_numpy("float64")
        exact = ks_2samp(ref, current[feature].dropna().to_numpy("float64")).statistic
        assert entry["method"] == "ks"
        assert abs(entry["statistic"] - exact) <= 0.006, feature
    cp = body["features"]["cp"]
    table = np.vstack(
        [cleveland["cp"].value_counts().sort_index(), current["cp"].value_counts().sort_index()]
    )
    expected = chi2_contingency(table)
    assert cp["method"] == "chi2"
    assert cp["statistic"] == pytest.approx(expected.statistic)
    assert cp["p_value"] == pytest.approx(expected.pvalue)
