from __future__ import annotations

from datetime import timedelta

import pytest
from sklearn.metrics import accuracy_score, f1_score, precision_score, recall_score, roc_auc_score
from tests.conftest import FEATURES, make_pipeline
from tests.monitor.conftest import END, UNTIL, serve_day
from tests.monitor.logdata import traffic, write_traffic

pytestmark = pytest.mark.sqlite_only


def _day(site_days: int) -> str:
    return (END - timedelta(days=site_days - 1)).isoformat()


def test_metrics_per_window_match_scikit_learn(served, cli):
    rows = served.days["switzerland"]
    until = _day(2)  # the window that holds only Switzerland's day
    ran = cli("monitor", "metrics", "heart", "--last", "24h", "--until", until, "--json")
    body = ran.json
    found = body["results"]["versions"]["v1"]
    assert found["predictions"] == len(rows) and found["labelled"] == len(rows)
    assert found["label_coverage"] == 1.0
    proba = served.flavor.predict_proba(rows[FEATURES])[:, 1]
    pred = (proba >= 0.5).astype(int)
    truth = rows["target"].to_numpy()
    expected = {
        "accuracy": accuracy_score(truth, pred),
        "roc_auc": roc_auc_score(truth, proba),
        "f1": f1_score(truth, pred),
        "precision": precision_score(truth, pred, zero_division=0),
        "recall": recall_score(truth, pred),
    }
    for metric, value in expected.items():
        got = found["metrics"][metric]
        assert got["value"] == pytest.approx(value), metric
        assert got["low"] <= got["value"] <= got["high"]
        limit = body["inputs"]["thresholds"][metric]
        assert got["status"] == ("pass" if value >= limit else "fail"), metric
    # Switzerland's accuracy is far below the runbook's 0.80: exit 1, naming the numbers
    assert expected["accuracy"] < 0.80
    assert ran.exit_code == 1
    assert f"v1 accuracy {expected['accuracy']:.3f}" in ran.stderr and "< 0.80" in ran.stderr


def test_held_out_cleveland_day_passes_and_is_stored(served, cli):
    ran = cli(
        "monitor",
        "metrics",
        "heart",
        "--last",
        "24h",
        "--until",
        _day(4),
        "--metrics",
        "accuracy,auc",
        "--thresholds",
        "0.70,0.80",
    )
    assert ran.exit_code == 0, ran.stderr
    assert "pass" in ran.stdout
    runs = served.ws.registry.list_runs(model="heart", kinds=["monitor-metrics"])
    assert runs[0].verdict == "pass"
    assert runs[0].inputs["thresholds"] == {"accuracy": 0.70, "roc_auc": 0.80}


def test_per_period_accuracy_change_is_visible(served, cli):
    values = {}
    for site, days in (("cleveland", 4), ("va", 1)):
        body = cli(
            "monitor", "metrics", "heart", "--last", "24h", "--until", _day(days), "--json"
        ).json
        values[site] = body["results"]["versions"]["v1"]["metrics"]["accuracy"]["value"]
    truth = served.days["va"]["target"].to_numpy()
    pred = served.flavor.predict(served.days["va"][FEATURES])
    assert values["va"] == pytest.approx(accuracy_score(truth, pred.astype(int)))
    assert values["cleveland"] > values["va"]


def test_too_few_labels_is_insufficient_never_pass(workspace, heart, served, cli):
    rows = served.days["cleveland"].head(40)
    serve_day(workspace, "heart", served.flavor, rows, days_before=-1, label_share=0.2, seed=9)
    until = (END + timedelta(days=2)).isoformat()
    ran = cli("monitor", "metrics", "heart", "--last", "24h", "--until", until, "--json")
    assert ran.exit_code == 1
    body = ran.json
    assert body["verdict"] == "insufficient"
    entry = body["results"]["versions"]["v1"]
    assert entry["status"] == "insufficient" and entry["predictions"] == 40
    assert entry["labelled"] < 30
    assert "too few labels" in ran.stderr


def test_empty_window_is_insufficient(served, cli):
    ran = cli(
        "monitor",
        "metrics",
        "heart",
        "--last",
        "1h",
        "--until",
        (END + timedelta(days=30)).isoformat(),
    )
    assert ran.exit_code == 1
    assert "no predictions" in ran.stderr


def test_a_window_where_every_request_failed_says_so(served, cli):
    """Not "no predictions": the requests came, and every one of them failed."""
    later = END + timedelta(days=10)
    pred, _ = traffic(
        served.flavor, served.days["va"].head(7), start=later, spacing=timedelta(minutes=1),
        version=1,
    )  # fmt: skip
    pred["status"] = ["error"] * 5 + ["rejected"] * 2
    pred["error"] = "ModelFailed: boom"
    write_traffic(served.ws.logs_url, "heart", pred)
    until = (later + timedelta(minutes=30)).isoformat()
    ran = cli("monitor", "metrics", "heart", "--last", "1h", "--until", until)
    assert ran.exit_code == 1
    assert "every request failed" in ran.stderr and "5 error, 2 rejected" in ran.stderr
    assert "no predictions" not in ran.stderr


def test_per_version_metrics(served, cli):
    from tests.conftest import make_pipeline

    model = make_pipeline("forest").fit(served.train[FEATURES], served.train["target"])
    served.ws.register("heart", model, data=served.train, target="target")
    flavor2 = served.ws.load_model("heart", 2)
    serve_day(
        served.ws, "heart", flavor2, served.days["hungarian"], days_before=3, version=2, seed=5
    )
    body = cli("monitor", "metrics", "heart", "--last", "24h", "--until", _day(3), "--json").json
    versions = body["results"]["versions"]
    assert set(versions) == {"v1", "v2"}
    rows = served.days["hungarian"]
    for tag, flavor in (("v1", served.flavor), ("v2", flavor2)):
        pred = flavor.predict(rows[FEATURES]).astype(int)
        assert versions[tag]["metrics"]["accuracy"]["value"] == pytest.approx(
            accuracy_score(rows["target"], pred)
        )


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--last", "yesterday"), "is not a duration"),
        (("--metrics", "bogus"), "unknown metric 'bogus'"),
        (("--metrics", "accuracy,f1", "--thresholds", "0.8"), "one threshold per metric"),
        (("--thresholds", "high"), "must be numbers"),
        (("--until", "noon"), "is not an ISO-8601 time"),
        (("--last", "100000000d"), "reaches before the year 1"),
        (("--last", "99999999999999999999d"), "is too long to be a duration"),
        (("--metrics", "accuracy", "--thresholds", "nan"), "is not a number from 0 to 1"),
        (("--metrics", "accuracy", "--thresholds", "1.5"), "is not a number from 0 to 1"),
        (("--metrics", "accuracy", "--thresholds", "-0.2"), "is not a number from 0 to 1"),
        (("--env", "nosuchenv"), "unknown environment 'nosuchenv'"),
        (("--metrics", ""), "has an empty item"),
        (("--metrics", "accuracy,,f1"), "has an empty item"),
        (("--metrics", "accuracy", "--thresholds", ""), "has an empty item"),
        (("--env", "production", "--all-envs"), "contradict each other"),
    ],
)
def test_bad_flags_exit_2_and_store_nothing(served, cli, args, message):
    ran = cli("monitor", "metrics", "heart", "--until", UNTIL, *args)
    assert ran.exit_code == 2
    assert message in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
    assert served.ws.registry.list_runs(model="heart") == []


def test_unknown_model_and_missing_log(workspace, served, cli, fitted, cleveland):
    ran = cli("monitor", "metrics", "nope", "--until", UNTIL)
    assert ran.exit_code == 2 and "nope" in ran.stderr
    workspace.register("quiet", fitted, data=cleveland, target="target")
    ran = cli("monitor", "metrics", "quiet", "--until", UNTIL)
    assert ran.exit_code == 2
    assert "no predictions for model 'quiet'" in ran.stderr and "heart" in ran.stderr


def test_large_windows_compute_metrics_in_duckdb(served, cli, monkeypatch):
    """Above CI_ROWS labels the values come from SQL (confusion counts, rank-sum AUC) and
    the interval from a sample; the values still equal scikit-learn's on every row."""
    import modelward.monitoring.metrics as metrics

    monkeypatch.setattr(metrics, "CI_ROWS", 50)
    rows = served.days["va"]
    body = cli("monitor", "metrics", "heart", "--until", _day(1), "--json").json
    found = body["results"]["versions"]["v1"]["metrics"]
    proba = served.flavor.predict_proba(rows[FEATURES])[:, 1]
    pred = (proba >= 0.5).astype(int)
    truth = rows["target"].to_numpy()
    assert found["accuracy"]["value"] == pytest.approx(accuracy_score(truth, pred))
    assert found["roc_auc"]["value"] == pytest.approx(roc_auc_score(truth, proba))
    assert found["f1"]["value"] == pytest.approx(f1_score(truth, pred))
    assert found["precision"]["value"] == pytest.approx(precision_score(truth, pred))
    assert found["recall"]["value"] == pytest.approx(recall_score(truth, pred))
    for value in found.values():
        assert value["low"] <= value["value"] <= value["high"]


def test_a_large_windows_intervals_come_from_its_counts(served, cli, monkeypatch):
    """Above CI_ROWS labels no row leaves the engine: the ratios' intervals are the
    bootstrap of the confusion counts (the row bootstrap itself, over every labelled row)
    and ROC-AUC's is DeLong's; re-running the check gives the same intervals."""
    import modelward.monitoring.metrics as metrics
    from modelward.monitoring.confusion import Z95
    from modelward.stats import bootstrap_ci
    from modelward.stats.tests import delong_auc

    monkeypatch.setattr(metrics, "CI_ROWS", 50)
    rows = served.days["va"].reset_index(drop=True)
    proba = served.flavor.predict_proba(rows[FEATURES])[:, 1]
    pred = (proba >= 0.5).astype(int).astype(str)
    truth = rows["target"].astype(str).to_numpy()
    args = ("monitor", "metrics", "heart", "--until", _day(1), "--json")
    found = cli(*args).json["results"]["versions"]["v1"]["metrics"]
    every = bootstrap_ci(accuracy_score, truth, pred, resamples=2000, seed=1)
    width = every.high - every.low
    assert found["accuracy"]["value"] == pytest.approx(accuracy_score(truth, pred))
    assert found["accuracy"]["low"] == pytest.approx(every.low, abs=0.06 * width)
    assert found["accuracy"]["high"] == pytest.approx(every.high, abs=0.06 * width)
    auc, error = delong_auc(truth == "1", proba)
    assert found["roc_auc"]["value"] == pytest.approx(roc_auc_score(truth == "1", proba))
    assert found["roc_auc"]["low"] == pytest.approx(max(0.0, auc - Z95 * error), abs=1e-9)
    assert found["roc_auc"]["high"] == pytest.approx(min(1.0, auc + Z95 * error), abs=1e-9)
    assert cli(*args).json["results"]["versions"]["v1"]["metrics"] == found


def test_intervals_are_the_shared_bootstrap(served, cli):
    """The vectorized intervals equal modelward.stats.bootstrap_ci on the same rows."""
    from modelward.stats import bootstrap_ci

    rows = served.days["hungarian"]
    body = cli("monitor", "metrics", "heart", "--until", _day(3), "--json").json
    found = body["results"]["versions"]["v1"]["metrics"]
    proba = served.flavor.predict_proba(rows[FEATURES])[:, 1]
    truth = rows["target"].astype(str).to_numpy()
    pred = (proba >= 0.5).astype(int).astype(str)
    expected = bootstrap_ci(accuracy_score, truth, pred)
    assert found["accuracy"]["low"] == pytest.approx(expected.low)
    assert found["accuracy"]["high"] == pytest.approx(expected.high)
    expected = bootstrap_ci(lambda t, s: roc_auc_score(t == "1", s), truth, proba)
    assert found["roc_auc"]["low"] == pytest.approx(expected.low)
    assert found["roc_auc"]["high"] == pytest.approx(expected.high)


def test_log_in_an_fsspec_filesystem(served, cli, monkeypatch):
    """The log can live behind any fsspec URL; DuckDB reads it through fsspec."""
    import fsspec

    memory = fsspec.filesystem("memory")
    local = served.ws.root / "logs"
    for path in local.rglob("*.parquet"):
        memory.pipe(f"/mwlogs/{path.relative_to(local).as_posix()}", path.read_bytes())
    monkeypatch.setenv("MODELWARD_LOGS", "memory://mwlogs")
    try:
        body = cli("monitor", "metrics", "heart", "--until", _day(2), "--json").json
        assert body["results"]["versions"]["v1"]["predictions"] == len(served.days["switzerland"])
        quality = cli("monitor", "quality", "heart", "--until", _day(2), "--json").json
        assert quality["results"]["rows"] == len(served.days["switzerland"])
    finally:
        memory.rm("/mwlogs", recursive=True)


def test_large_windows_use_a_consistent_hash_sample(served, cli, monkeypatch):
    """Above SAMPLE_ROWS predictions, metrics come from the requests whose sample hash
    (of the MD5 of request_id) falls under a cut, on both sides of the feedback join: the values
    equal scikit-learn's on exactly those requests, and predictions and labelled
    predictions are counted in full (label coverage is exact, not scaled up)."""
    import modelward.monitoring.metrics as metrics
    from modelward.predlog.engines.sql import hash_cut, sample_hash

    monkeypatch.setattr(metrics, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(metrics, "CI_SAMPLE", 20)  # enough sampled labels to keep the sample
    rows = served.days["va"]
    preds = served.preds["va"]
    body = cli("monitor", "metrics", "heart", "--until", _day(1), "--json").json
    found = body["results"]["versions"]["v1"]
    rate = found["sample"]["rate"]
    assert rate == pytest.approx(100 / len(rows))
    assert found["predictions"] == len(rows)
    ids = preds["request_id"].tolist()
    keep = [sample_hash(i) < hash_cut(rate) for i in ids]
    assert found["sample"]["labelled"] == sum(keep)
    assert found["labelled"] == len(rows) and found["label_coverage"] == 1.0
    kept = rows[keep]
    proba = served.flavor.predict_proba(kept[FEATURES])[:, 1]
    truth = kept["target"].to_numpy()
    pred = (proba >= 0.5).astype(int)
    assert found["metrics"]["accuracy"]["value"] == pytest.approx(accuracy_score(truth, pred))
    assert found["metrics"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(truth, proba))
    # the sample's interval covers the value over every row
    every = served.flavor.predict_proba(rows[FEATURES])[:, 1]
    whole = accuracy_score(rows["target"].to_numpy(), (every >= 0.5).astype(int))
    got = found["metrics"]["accuracy"]
    assert got["low"] <= whole <= got["high"]


def test_label_coverage_of_a_sampled_window_is_an_exact_count(served, cli, monkeypatch):
    """A window large enough to be sampled still counts every labelled prediction: with
    some labels missing the coverage is the share of requests that have one, exactly."""
    import modelward.monitoring.metrics as metrics

    monkeypatch.setattr(metrics, "SAMPLE_ROWS", 100)
    monkeypatch.setattr(metrics, "CI_SAMPLE", 20)
    rows = served.days["va"]
    model = make_pipeline().fit(served.train[FEATURES], served.train["target"])
    served.ws.register("partial", model, data=served.train, target="target")
    flavor = served.ws.load_model("partial", 1)
    _, feedback = serve_day(served.ws, "partial", flavor, rows, days_before=1, label_share=0.7)
    found = cli("monitor", "metrics", "partial", "--until", _day(1), "--json").json
    entry = found["results"]["versions"]["v1"]
    assert entry["sample"]["rate"] < 1.0
    labelled = feedback["request_id"].nunique()
    assert 0 < labelled < len(rows)
    assert entry["labelled"] == labelled
    assert entry["label_coverage"] == labelled / len(rows)


def test_sparse_labels_in_a_large_window_join_every_request(served, cli, monkeypatch):
    """When the hash sample would hold fewer than CI_SAMPLE labels, the check joins every
    request instead: exact values, no sample."""
    import modelward.monitoring.metrics as metrics

    monkeypatch.setattr(metrics, "SAMPLE_ROWS", 100)
    rows = served.days["va"]
    body = cli("monitor", "metrics", "heart", "--until", _day(1), "--json").json
    found = body["results"]["versions"]["v1"]
    assert "sample" not in found
    assert found["predictions"] == found["labelled"] == len(rows)
    proba = served.flavor.predict_proba(rows[FEATURES])[:, 1]
    truth = rows["target"].to_numpy()
    assert found["metrics"]["accuracy"]["value"] == pytest.approx(
        accuracy_score(truth, (proba >= 0.5).astype(int))
    )
    assert found["metrics"]["roc_auc"]["value"] == pytest.approx(roc_auc_score(truth, proba))


def test_a_check_reads_again_when_a_compaction_replaces_its_files(served, cli, monkeypatch):
    """A compaction can replace a day's files between a check listing them and DuckDB
    opening them; the check then lists again (the compacted file has the same rows) and
    reports what it would have, instead of failing on a missing file."""
    import pyarrow.parquet as pq

    import modelward.predlog.engines.duckdb as engine
    from modelward.predlog.compact import compact

    day = (END - timedelta(days=1)).date().isoformat()
    part = served.ws.root / "logs" / "predictions" / "model=heart" / f"date={day}"
    (only,) = part.glob("*.parquet")
    table = pq.read_table(only)
    half = table.num_rows // 2
    pq.write_table(table.slice(0, half), part / "w1-a.parquet")  # the day as two files
    pq.write_table(table.slice(half), part / "w1-b.parquet")
    only.unlink()
    expected = cli("monitor", "metrics", "heart", "--until", _day(1), "--json").json
    source = engine.parquet_source
    compacted = []

    def listed_then_replaced(paths, **options):
        sql = source(paths, **options)
        if not compacted and any("w1-a.parquet" in p for p in paths):
            compacted.extend(compact(str(served.ws.root / "logs")))
        return sql

    monkeypatch.setattr(engine, "parquet_source", listed_then_replaced)
    ran = cli("monitor", "metrics", "heart", "--until", _day(1), "--json")
    assert "replaced" not in ran.stderr and ran.json["verdict"] == expected["verdict"]
    assert compacted and [p.name[:10] for p in part.glob("*.parquet")] == ["compacted-"]
    got = ran.json["results"]["versions"]["v1"]
    want = expected["results"]["versions"]["v1"]
    assert got["predictions"] == want["predictions"] == len(served.days["va"])
    assert got["metrics"] == want["metrics"]
