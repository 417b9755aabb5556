from __future__ import annotations

from datetime import timedelta

import numpy as np
import pytest
from scipy.spatial.distance import jensenshannon
from scipy.stats import chi2_contingency, ks_2samp, norm, wasserstein_distance
from tests.monitor.conftest import END, serve_day

from modelward.monitoring.drift import METHODS, Sample, choose_method
from modelward.monitoring.drift.base import bin_edges

pytestmark = pytest.mark.sqlite_only


def _until(days_before: int) -> str:
    return (END - timedelta(days=days_before - 1)).isoformat()


def _values(frame, column):
    return frame[column].dropna().to_numpy("float64")


def _counts(series):
    from modelward.data.profile import _key

    return {_key(k): int(v) for k, v in series.dropna().value_counts().items()}


def test_every_method_matches_scipy_on_real_data(heart):
    cle = heart[heart.site == "cleveland"]
    va = heart[heart.site == "va"]
    ref, cur = _values(cle, "thalach"), _values(va, "thalach")
    ks = METHODS["ks"](0.05).score(Sample(values=ref), Sample(values=cur))
    expected = ks_2samp(ref, cur)
    assert ks.statistic == pytest.approx(expected.statistic)
    assert ks.p_value == pytest.approx(expected.pvalue)
    assert ks.drifted == (expected.pvalue < 0.05)
    w = METHODS["wasserstein"](0.1).score(Sample(values=ref), Sample(values=cur))
    assert w.statistic == pytest.approx(wasserstein_distance(ref, cur) / np.std(ref))
    # categories the reference has: chi-squared and Jensen-Shannon against SciPy
    rc, cc = _counts(cle["cp"]), _counts(va["cp"])
    keys = sorted(rc)
    r = np.array([rc[k] for k in keys], float)
    c = np.array([cc.get(k, 0) for k in keys], float)
    chi = METHODS["chi2"](0.05).score(Sample(counts=rc), Sample(counts=cc))
    scipy_chi = chi2_contingency(np.vstack([r, c]))
    assert chi.statistic == pytest.approx(scipy_chi.statistic)
    assert chi.p_value == pytest.approx(scipy_chi.pvalue)
    # a binary feature: the pooled two-proportion z-test, by its formula
    rs, cs = _counts(cle["sex"]), _counts(va["sex"])
    z = METHODS["ztest"](0.05).score(Sample(counts=rs), Sample(counts=cs))
    n1, n2 = sum(rs.values()), sum(cs.values())
    p1, p2 = rs["0"] / n1, cs["0"] / n2
    pooled = (rs["0"] + cs["0"]) / (n1 + n2)
    expected_z = (p2 - p1) / np.sqrt(pooled * (1 - pooled) * (1 / n1 + 1 / n2))
    assert z.statistic == pytest.approx(expected_z)
    assert z.p_value == pytest.approx(2 * norm.sf(abs(expected_z)))
    # without Yates' correction it is the 2 x 2 chi-squared test
    table = np.array([[rs["0"], rs["1"]], [cs["0"], cs["1"]]])
    assert z.p_value == pytest.approx(chi2_contingency(table, correction=False).pvalue)
    js = METHODS["jensenshannon"](0.1).score(Sample(counts=rc), Sample(counts=cc))
    assert js.statistic == pytest.approx(jensenshannon(r / r.sum(), c / c.sum()))
    # PSI over the reference's decile bins, by its textbook formula
    inner = bin_edges(ref)
    rb = np.bincount(np.searchsorted(inner, ref, side="right"), minlength=len(inner) + 1)
    cb = np.bincount(np.searchsorted(inner, cur, side="right"), minlength=len(inner) + 1)
    p = np.clip(rb / rb.sum(), 1e-4, None)
    q = np.clip(cb / cb.sum(), 1e-4, None)
    psi = METHODS["psi"](0.1).score(Sample(values=ref), Sample(values=cur))
    assert psi.statistic == pytest.approx(float(((q - p) * np.log(q / p)).sum()))
    # Jensen-Shannon on numeric values uses the same bins
    jsn = METHODS["jensenshannon"](0.1).score(Sample(values=ref), Sample(values=cur))
    assert jsn.statistic == pytest.approx(jensenshannon(rb / rb.sum(), cb / cb.sum()))


def test_identical_samples_do_not_drift(heart):
    values = _values(heart, "chol")
    counts = _counts(heart["thal"])
    for name, method in METHODS.items():
        sample = Sample(values=values) if name in ("ks", "wasserstein") else Sample(counts=counts)
        if name == "ztest":
            sample = Sample(counts=_counts(heart["sex"]))
        threshold = 0.05 if method.criterion == "p_value" else 0.1
        assert not method(threshold).score(sample, sample).drifted, name


def test_defaults_follow_reference_size():
    assert choose_method("numeric", 303) == "ks"
    assert choose_method("categorical", 303, categories=4) == "chi2"
    assert choose_method("categorical", 303, categories=2) == "ztest"
    assert choose_method("numeric", 5000) == "wasserstein"
    assert choose_method("categorical", 5000) == "jensenshannon"


def test_switzerland_drifts_against_the_stored_reference(served, cli):
    ran = cli("monitor", "drift", "heart", "--last", "24h", "--until", _until(2), "--json")
    assert ran.exit_code == 1
    body = ran.json
    features = body["results"]["features"]
    profile = served.ws.registry.reference_profile("heart", 1)["columns"]
    swiss = served.days["switzerland"]
    # numeric feature: KS against the profile's stored values (Cleveland has < 1000 rows)
    chol = features["chol"]
    expected = ks_2samp(np.asarray(profile["chol"]["values"]), _values(swiss, "chol"))
    assert chol["method"] == "ks" and chol["drifted"]
    assert chol["statistic"] == pytest.approx(expected.statistic)
    assert chol["p_value"] == pytest.approx(expected.pvalue)
    # integer codes are categorical: the chi-squared test of the 2 x k table of the
    # profile's category counts and the window's
    cp = features["cp"]
    ref = profile["cp"]["categories"]
    cur = _counts(swiss["cp"])
    keys = sorted(set(ref) | set(cur))
    r = np.array([ref.get(k, 0) for k in keys], float)
    c = np.array([cur.get(k, 0) for k in keys], float)
    assert cp["method"] == "chi2"
    assert cp["statistic"] == pytest.approx(chi2_contingency(np.vstack([r, c])).statistic)
    assert features["sex"]["method"] == "ztest"
    share = body["results"]["drifted_share"]
    judged = 13 - len(body["results"]["skipped"])
    assert share == pytest.approx(len(body["results"]["drifted"]) / judged)
    assert f"features drifted ({share:.0%} >= 10%)" in ran.stderr and "chol (ks" in ran.stderr
    # ca is all missing in Switzerland's traffic but one row: judged on what is there
    runs = served.ws.registry.list_runs(model="heart", kinds=["monitor-drift"])
    assert runs[0].verdict == "fail" and runs[0].results["drifted_share"] == share


def test_large_windows_are_drift_tested_on_the_hash_sample(served, cli, monkeypatch):
    """Above MAX_ROWS rows, drift compares the requests whose sample hash (of the MD5 of
    request_id) falls under the cut (the kind of sample metrics use): the statistic is SciPy's on
    exactly those requests, and a second run tests the same ones."""
    import modelward.monitoring.checks.drift as driftcheck
    from modelward.predlog.engines.sql import hash_cut, sample_hash

    monkeypatch.setattr(driftcheck, "MAX_ROWS", 50)
    swiss = served.days["switzerland"]
    ids = served.preds["switzerland"]["request_id"].tolist()
    keep = [sample_hash(i) < hash_cut(50 / len(swiss)) for i in ids]
    kept = swiss[keep]
    assert 0 < len(kept) < len(swiss)
    args = ("monitor", "drift", "heart", "--last", "24h", "--until", _until(2), "--json")
    chol = cli(*args).json["results"]["features"]["chol"]
    profile = served.ws.registry.reference_profile("heart", 1)["columns"]
    expected = ks_2samp(np.asarray(profile["chol"]["values"]), _values(kept, "chol"))
    assert chol["current_rows"] == len(_values(kept, "chol"))
    assert chol["statistic"] == pytest.approx(expected.statistic)
    assert chol["p_value"] == pytest.approx(expected.pvalue)
    assert cli(*args).json["results"]["features"]["chol"] == chol


def test_compare_to_previous_window_uses_the_log(served, cli):
    body = cli(
        "monitor",
        "drift",
        "heart",
        "--until",
        _until(1),
        "--compare-to",
        "previous",
        "--features",
        "thalach,chol",
        "--json",
    ).json
    assert body["inputs"]["compare_to"] == "previous"
    va, swiss = served.days["va"], served.days["switzerland"]
    entry = body["results"]["features"]["thalach"]
    expected = ks_2samp(_values(swiss, "thalach"), _values(va, "thalach"))
    assert entry["statistic"] == pytest.approx(expected.statistic)
    assert entry["p_value"] == pytest.approx(expected.pvalue)
    assert set(body["results"]["features"]) == {"thalach", "chol"}
    wide = cli(
        "monitor",
        "drift",
        "heart",
        "--until",
        _until(1),
        "--compare-to",
        "window:3d",
        "--features",
        "age",
        "--json",
    ).json
    baseline = wide["inputs"]["baseline_window"]
    assert baseline["length"] == "3d" and wide["inputs"]["compare_to"] == "window:3d"
    prior = np.concatenate(
        [_values(served.days[s], "age") for s in ("cleveland", "hungarian", "switzerland")]
    )
    expected = ks_2samp(prior, _values(va, "age"))
    assert wide["results"]["features"]["age"]["statistic"] == pytest.approx(expected.statistic)


def test_method_override_per_feature(served, cli):
    body = cli(
        "monitor",
        "drift",
        "heart",
        "--until",
        _until(2),
        "--features",
        "chol,thal",
        "--method",
        "chol=psi",
        "--method",
        "thal=jensenshannon",
        "--json",
    ).json
    assert body["results"]["features"]["chol"]["method"] == "psi"
    assert body["results"]["features"]["thal"]["method"] == "jensenshannon"


def test_large_reference_switches_to_distances(workspace, heart, cli):
    from tests.conftest import FEATURES, make_pipeline

    big = (
        heart[heart.site == "cleveland"]
        .drop(columns="site")
        .sample(n=1500, replace=True, random_state=1)
    )
    model = make_pipeline().fit(big[FEATURES], big["target"])
    workspace.register("big", model, data=big, target="target")
    flavor = workspace.load_model("big", 1)
    serve_day(
        workspace, "big", flavor, heart[heart.site == "va"].reset_index(drop=True), days_before=1
    )
    body = cli("monitor", "drift", "big", "--until", _until(1), "--json").json
    features = body["results"]["features"]
    assert features["chol"]["method"] == "wasserstein"
    assert features["cp"]["method"] == "jensenshannon"
    profile = workspace.registry.reference_profile("big", 1)["columns"]["chol"]
    ref = np.asarray(profile["values"])
    cur = _values(heart[heart.site == "va"], "chol")
    assert features["chol"]["statistic"] == pytest.approx(
        wasserstein_distance(ref, cur) / np.std(ref)
    )


def test_reference_is_read_from_the_stored_profile(served, cli, monkeypatch):
    import modelward.data.profile as profile

    def boom(*args, **kwargs):
        raise AssertionError("the reference profile must not be recomputed")

    monkeypatch.setattr(profile, "profile_frame", boom)
    monkeypatch.setattr(profile, "profile_column", boom)
    ran = cli("monitor", "drift", "heart", "--until", _until(4), "--json")
    assert ran.exit_code in (0, 1)
    assert ran.json["results"]["rows"] == len(served.days["cleveland"])


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--compare-to", "yesterday"), "is not one of reference, previous, window"),
        (("--compare-to", "window:soon"), "is not a duration"),
        (("--features", "chol,bogus"), "unknown feature(s) bogus"),
        (("--method", "chol"), "must be FEATURE=METHOD"),
        (("--method", "chol=magic"), "must be FEATURE=METHOD"),
        (("--method", "cp=ks"), "needs a numeric feature"),
        (("--method", "nope=ks"), "unknown feature(s) nope"),
        (("--features", "age,age"), "lists age more than once"),
        (("--features", ""), "has an empty item"),
    ],
)
def test_bad_drift_flags(served, cli, args, message):
    ran = cli("monitor", "drift", "heart", "--until", _until(2), *args)
    assert ran.exit_code == 2, ran.stdout
    assert message in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
    assert served.ws.registry.list_runs(model="heart") == []


def test_prediction_distribution_against_previous_window(served, cli):
    ran = cli(
        "monitor",
        "predictions",
        "heart",
        "--until",
        _until(3),
        "--distribution-check",
        "--compare-to",
        "previous",
        "--drift-threshold",
        "0.1",
        "--json",
    )
    body = ran.json
    prev = served.preds["cleveland"]
    cur = served.preds["hungarian"]
    rc, cc = _counts(prev["prediction"]), _counts(cur["prediction"])
    keys = sorted(set(rc) | set(cc))
    r = np.array([rc.get(k, 0) for k in keys], float)
    c = np.array([cc.get(k, 0) for k in keys], float)
    drift = body["results"]["class_drift"]
    assert drift["statistic"] == pytest.approx(jensenshannon(r / r.sum(), c / c.sum()))
    scores = body["results"]["score_drift"]
    expected = wasserstein_distance(prev["score"], cur["score"]) / np.std(prev["score"])
    assert scores["statistic"] == pytest.approx(expected)
    assert body["results"]["predictions"] == len(cur)
    assert ran.exit_code == (1 if drift["drifted"] or scores["drifted"] else 0)


def test_score_distribution_of_sampled_windows_is_within_its_bound(served, cli, monkeypatch):
    """Windows above MAX_ROWS predictions: the score distance is over every score of
    both windows (counted rounded by the engine), within its reported bound of SciPy's."""
    import modelward.monitoring.checks.predictions as predictions

    monkeypatch.setattr(predictions, "MAX_ROWS", 40)
    body = cli(
        "monitor", "predictions", "heart", "--until", _until(3), "--distribution-check",
        "--compare-to", "previous", "--json",
    ).json  # fmt: skip
    prev = served.preds["cleveland"]["score"].to_numpy()
    cur = served.preds["hungarian"]["score"].to_numpy()
    scores = body["results"]["score_drift"]
    expected = wasserstein_distance(prev, cur) / np.std(prev)
    assert 0 < scores["error_bound"] <= 0.0006  # half a unit on each side, over the spread
    assert abs(scores["statistic"] - expected) <= scores["error_bound"]


def test_error_rate_and_latency_breach(served, cli):
    pred = served.preds["va"].copy()
    pred["ts"] = pred["ts"] + timedelta(days=3)
    pred.loc[: len(pred) // 4, "status"] = "error"
    pred.loc[: len(pred) // 4, "error"] = "boom"
    pred.loc[: len(pred) // 4, "prediction"] = None
    pred["latency_ms"] = 300.0
    from tests.monitor.logdata import write_traffic

    write_traffic(served.ws.logs_url, "heart", pred)
    until = (END + timedelta(days=3)).isoformat()
    ran = cli("monitor", "predictions", "heart", "--until", until, "--json")
    assert ran.exit_code == 1
    errors = len(pred.loc[: len(pred) // 4])
    assert ran.json["results"]["errors"] == errors
    assert f"error rate {errors / len(pred):.1%} > 5%" in ran.stderr
    assert "latency p95 300.0 ms is 3.0x the 100 ms target" in ran.stderr
    assert ran.json["level"] == "critical"


def test_bad_drift_threshold(served, cli):
    args = ("monitor", "predictions", "heart", "--until", _until(2), "--drift-threshold", "7")
    ran = cli(*args, "--distribution-check")
    assert ran.exit_code == 2 and "--drift-threshold 7.0 must be between 0 and 1" in ran.stderr
    ran = cli(*args[:-1], "0.2")  # a threshold for a check not asked for
    assert ran.exit_code == 2 and "add --distribution-check" in ran.stderr
    assert served.ws.registry.list_runs(model="heart") == []


def test_an_empty_comparison_window_is_insufficient_not_a_pass(served, cli):
    """Comparing with a window that had no traffic compares nothing: insufficient (exit 1,
    saying why), never a pass that would close the open drift alert."""
    ran = cli("monitor", "drift", "heart", "--last", "24h", "--until", _until(2))
    assert ran.exit_code == 1  # Switzerland drifted against the reference: an alert
    drift_alerts = [a.id for a in served.ws.monitor.alerts.list(model="heart")]
    assert drift_alerts
    # Cleveland's day is the first: the day before it has no traffic
    args = ("--last", "24h", "--until", _until(4), "--compare-to", "previous", "--json")
    empty = cli("monitor", "drift", "heart", *args)
    assert empty.exit_code == 1 and empty.json["verdict"] == "insufficient"
    assert "no predictions in the comparison window" in empty.json["breaches"][0]
    still = [a.id for a in served.ws.monitor.alerts.list(model="heart")]
    assert set(drift_alerts) <= set(still)
