from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm
from tests.conftest import FEATURES
from tests.monitor.conftest import UNTIL

pytestmark = pytest.mark.sqlite_only


def _accuracy(served, site):
    rows = served.days[site]
    pred = served.flavor.predict(rows[FEATURES]).astype(int)
    return (
        (pred == rows["target"].to_numpy()).mean(),
        len(rows),
        int((pred == rows["target"].to_numpy()).sum()),
    )


def test_degradation_after_cleveland(served, cli):
    ran = cli(
        "monitor",
        "degradation",
        "heart",
        "--last",
        "3d",
        "--until",
        UNTIL,
        "--compare-to",
        "window:1d",
        "--periods",
        "3",
        "--json",
    )
    assert ran.exit_code == 1
    body = ran.json
    before_acc, n0, k0 = _accuracy(served, "cleveland")
    later = [_accuracy(served, s) for s in ("hungarian", "switzerland", "va")]
    n1, k1 = sum(x[1] for x in later), sum(x[2] for x in later)
    assert body["results"]["baseline"]["accuracy"] == pytest.approx(before_acc)
    assert body["results"]["current"]["accuracy"] == pytest.approx(k1 / n1)
    pooled = (k0 + k1) / (n0 + n1)
    z = (k1 / n1 - k0 / n0) / np.sqrt(pooled * (1 - pooled) * (1 / n0 + 1 / n1))
    assert body["results"]["test"]["p_value"] == pytest.approx(norm.cdf(z))
    assert f"accuracy dropped {before_acc:.3f} -> {k1 / n1:.3f}" in ran.stderr
    # when: one period per hospital day, plus the baseline
    timeline = body["results"]["timeline"]
    assert [p["rows"] for p in timeline] == [n0] + [x[1] for x in later]
    assert [p["accuracy"] for p in timeline] == pytest.approx(
        [before_acc] + [x[2] / x[1] for x in later]
    )
    assert body["results"]["first_below_threshold"] == timeline[1]["start"] or (
        body["results"]["first_below_threshold"] == timeline[2]["start"]
    )
    # where: slices with counts and intervals, ranked by lost correct predictions
    slices = body["results"]["slices"]
    assert slices and all(s["ci"][0] <= s["accuracy"] <= s["ci"][1] for s in slices)
    lost = [s["lost"] for s in slices]
    assert lost == sorted(lost, reverse=True)
    # why: drifted features that differ between wrong and right predictions
    assert set(body["results"]["drifted_with_errors"]) <= set(FEATURES)
    assert body["results"]["drifted_with_errors"]


def test_degradation_table_output(served, cli):
    ran = cli("monitor", "degradation", "heart", "--last", "2d", "--until", UNTIL)
    assert "slices that lost most" in ran.stdout and "when" in ran.stdout


def test_review_failed_only_with_contributions(served, cli):
    ran = cli(
        "monitor", "review", "heart", "--until", UNTIL, "--last", "100", "--failed-only", "--json"
    )
    assert ran.exit_code == 0
    body = ran.json["results"]
    va = served.days["va"].tail(100)
    pred = served.flavor.predict(va[FEATURES]).astype(int)
    wrong = int((pred != va["target"].to_numpy()).sum())
    assert body["rows"] == 100 and body["misclassified"] == wrong == body["reviewed"]
    item = body["items"][0]
    assert item["why"] == "misclassified" and item["prediction"] != item["label"]
    assert set(item["inputs"]) == set(FEATURES) and len(item["contributions"]) == 3
    assert body["patterns"]
    # contributions are real: replacing the top feature changes the model's probability
    import pandas as pd

    feature, delta = next(iter(item["contributions"].items()))
    row = pd.DataFrame([{f: np.nan if v is None else v for f, v in item["inputs"].items()}])
    before = served.flavor.predict_proba(row[FEATURES])[0, 1]
    assert before == pytest.approx(item["score"])
    assert abs(delta) > 0


def test_review_includes_low_confidence(served, cli):
    body = cli("monitor", "review", "heart", "--until", UNTIL, "--last", "3d", "--json").json
    whys = {i["why"] for i in body["results"]["items"]}
    assert body["results"]["reviewed"] >= body["results"]["misclassified"]
    assert whys <= {"misclassified", "low confidence"}


def test_review_bad_last(served, cli):
    ran = cli("monitor", "review", "heart", "--last", "lots")
    assert ran.exit_code == 2 and "is not a duration" in ran.stderr
    ran = cli("monitor", "degradation", "heart", "--periods", "0")
    assert ran.exit_code == 2 and "--periods must be at least 1" in ran.stderr


def test_slices_count_missing_values_of_nullable_integer_columns():
    """Served logs hold nullable integers (pd.NA); each missing value is its own slice."""
    import pandas as pd

    from modelward.monitoring.checks.degradation import _contingency

    a = pd.Series([1, None, 2, 2], dtype="Int64")
    b = pd.Series([None, None, 1], dtype="Int64")
    table = _contingency(a, b)
    assert table.sum(axis=1).tolist() == [4, 3]
    assert sorted(table[0].tolist()) == [1, 1, 2] and sorted(table[1].tolist()) == [0, 1, 2]


def test_review_shows_missing_inputs_of_integer_columns(served, cli):
    """The server logs integer features as nullable int64: a missing one reaches review
    as pandas' NA, and the review shows it as null (it raised 'boolean value of NA')."""
    from datetime import timedelta

    import pyarrow as pa
    from tests.monitor.conftest import END
    from tests.monitor.logdata import traffic, write_traffic

    start = END + timedelta(days=3)  # a day of its own: no float-typed file beside it
    pred, feedback = traffic(
        served.flavor, served.days["switzerland"], start=start, spacing=timedelta(minutes=1),
        version=1, seed=9,
    )  # fmt: skip
    types = {f: pa.float64() for f in FEATURES}
    for feature in ("ca", "slope", "thal"):  # codes, mostly missing in Switzerland
        types[feature] = pa.int64()
        pred[f"in_{feature}"] = pred[f"in_{feature}"].astype("Int64")
    write_traffic(served.ws.logs_url, "heart", pred, feedback, feature_types=types)
    until = (start + timedelta(days=1)).isoformat()
    ran = cli("monitor", "review", "heart", "--until", until, "--last", "1d", "--json")
    assert ran.exit_code == 0, ran.stderr
    items = ran.json["results"]["items"]
    assert items and any(item["inputs"]["ca"] is None for item in items)
    assert all(isinstance(item["inputs"]["age"], int | float) for item in items)


def test_degradation_against_the_recorded_test_accuracy(workspace, heart, cli):
    """--compare-to reference compares with the accuracy evaluation recorded for the
    version ({"test": {"accuracy": ...}}); without one it is insufficient, not a pass."""
    from datetime import timedelta

    from tests.conftest import make_pipeline
    from tests.monitor.conftest import END, serve_day

    cleveland = heart[heart.site == "cleveland"].drop(columns="site")
    fitted = make_pipeline("logreg").fit(cleveland[FEATURES], cleveland["target"])
    swiss = heart[heart.site == "switzerland"].drop(columns="site").reset_index(drop=True)
    args = ("--last", "24h", "--until", (END - timedelta(days=1)).isoformat(), "--json")
    args = (*args, "--compare-to", "reference")
    workspace.register("bare", fitted, data=cleveland, target="target")
    serve_day(workspace, "bare", workspace.load_model("bare", 1), swiss, days_before=2)
    bare = cli("monitor", "degradation", "bare", *args)
    assert bare.exit_code == 1 and bare.json["verdict"] == "insufficient"
    assert "no recorded test accuracy" in bare.json["breaches"][0]
    recorded = {"test": {"accuracy": 0.85}}
    workspace.register("known", fitted, data=cleveland, target="target", metrics=recorded)
    serve_day(workspace, "known", workspace.load_model("known", 1), swiss, days_before=2)
    known = cli("monitor", "degradation", "known", *args)
    assert known.json["results"]["baseline"]["recorded_accuracy"] == 0.85
    now = known.json["results"]["current"]["accuracy"]
    assert known.json["results"]["drop"] == pytest.approx(0.85 - now)
    assert known.exit_code == 1 and known.json["verdict"] == "fail"  # Switzerland: ~0.59


def test_error_features_are_scipys_tests_of_wrong_against_right_rows():
    """Which features differ between wrong and right predictions: SciPy's ks_2samp
    (numeric, to the last bit) and chi2_contingency (categories, missing as one; the
    p-value within modelward.stats.special's relative 1e-12)."""
    import pandas as pd
    from scipy.stats import chi2_contingency, ks_2samp

    from modelward.monitoring.checks.degradation import _contingency, _error_features

    rng = np.random.default_rng(3)
    for rows in (12, 80, 400):
        correct = rng.random(rows) < 0.7
        frame = pd.DataFrame(
            {
                "correct": correct,
                "in_age": np.where(correct, 50, 58) + np.round(rng.normal(0, 8, rows)),
                "in_cp": np.where(rng.random(rows) < 0.1, np.nan, rng.integers(1, 5, rows)),
                "in_sex": np.where(correct | (rng.random(rows) < 0.5), 1, 0),
            }
        )
        kinds = {"age": "numeric", "cp": "categorical", "sex": "categorical"}
        found = {e.feature: e.p_value for e in _error_features(frame, list(kinds), kinds)}
        right, wrong = frame[frame.correct], frame[~frame.correct]
        age = ks_2samp(right.in_age.to_numpy(), wrong.in_age.to_numpy()).pvalue
        expected = {"age": age}
        for f in ("cp", "sex"):
            table = _contingency(right[f"in_{f}"], wrong[f"in_{f}"])
            # 2 x 2 for sex (Yates' correction); one value seen: nothing to test
            expected[f] = chi2_contingency(table).pvalue if table.shape[1] > 1 else None
        assert found.keys() == expected.keys()
        for feature, p_value in expected.items():
            wanted = None if p_value is None else pytest.approx(p_value, rel=1e-12, abs=1e-300)
            assert found[feature] == wanted, feature
        assert sum(p is not None for p in found.values()) >= 2
