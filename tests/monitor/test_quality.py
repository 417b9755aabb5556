from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pytest
from tests.conftest import FEATURES
from tests.monitor.conftest import END
from tests.monitor.logdata import traffic, write_traffic

pytestmark = pytest.mark.sqlite_only


def _until(days_before: int) -> str:
    return (END - timedelta(days=days_before - 1)).isoformat()


def test_switzerland_missing_values_and_zero_cholesterol(served, cli):
    ran = cli("monitor", "quality", "heart", "--until", _until(2), "--json")
    assert ran.exit_code == 1
    body = ran.json
    swiss = served.days["switzerland"]
    features = body["results"]["features"]
    for feature in FEATURES:
        rate = swiss[feature].isna().mean()
        assert features[feature]["missing_rate"] == pytest.approx(rate)
        flagged = f"{feature} missing {rate:.1%} >= 5%" in ran.stderr
        assert flagged == (rate >= 0.05), feature
    for feature in ("ca", "thal", "slope", "fbs"):
        assert f"{feature} missing" in ran.stderr
    # every recorded cholesterol is 0: out of the training range, and never 0 there
    chol = swiss["chol"].dropna()
    low = served.train["chol"].min()
    assert (chol == 0).all()
    assert features["chol"]["zeros"] == len(chol)
    assert features["chol"]["out_of_range"] == int((chol < low).sum())
    assert f"chol: {len(chol)} of {len(chol)} values (100.0%) are 0" in ran.stderr
    assert f"outside the training range [{low:g}," in ran.stderr


def test_hungarian_missing_ca_thal_slope(served, cli):
    body = cli("monitor", "quality", "heart", "--until", _until(3), "--json").json
    hun = served.days["hungarian"]
    assert "ca missing" in " ".join(body["breaches"])
    for feature in ("ca", "thal", "slope"):
        assert body["results"]["features"][feature]["missing_rate"] == pytest.approx(
            hun[feature].isna().mean()
        )
        assert hun[feature].isna().mean() >= 0.05


def test_held_out_cleveland_is_clean(served, cli):
    ran = cli("monitor", "quality", "heart", "--until", _until(4), "--json")
    body = ran.json
    held = served.days["cleveland"]
    bad_missing = [f for f in FEATURES if held[f].isna().mean() >= 0.05]
    assert not bad_missing
    assert not [b for b in body["breaches"] if "missing" in b]
    assert not [b for b in body["breaches"] if "are 0" in b]


def test_type_violation_unseen_category_schema_change_and_volume(served, cli):
    rows = served.days["cleveland"].head(12).copy()
    pred, _ = traffic(
        served.flavor, rows, start=END + timedelta(days=2), spacing=timedelta(minutes=1), version=1
    )
    # a writer that logged chol as text, an unseen chest-pain code, thal dropped, a new column
    odd = pred.drop(columns=["in_thal"]).copy()
    odd["in_chol"] = odd["in_chol"].map(lambda v: f"{v:g}")
    odd["in_cp"] = 9.0
    odd["in_extra"] = 1.0
    types = {n: pa.float64() for n in FEATURES if n != "thal"}
    types["chol"] = pa.string()
    types["extra"] = pa.float64()
    write_traffic(served.ws.logs_url, "heart", odd, feature_types=types, writer="w2")
    until = (END + timedelta(days=3)).isoformat()
    ran = cli("monitor", "quality", "heart", "--until", until, "--json")
    assert ran.exit_code == 1
    text = ran.stderr
    kinds = {
        c["name"]: c["kind"]
        for c in served.ws.registry.get_version("heart", 1).input_schema["columns"]
    }
    assert "type violation: chol is string in w2-" in text
    assert f"the schema says {kinds['chol']}" in text
    assert "cp: 12 value(s) (100.0%) in categories the training data never had (9)" in text
    assert "schema change: feature thal is not in the log" in text
    assert "in_extra" in " ".join(ran.json["warnings"])
    volume = ran.json["results"]["volume"]
    assert volume["rows"] == 12 and volume["ratio"] < 0.5
    assert "volume anomaly: 12 rows" in text


def test_quality_is_stored_and_alerts(served, cli):
    cli("monitor", "quality", "heart", "--until", _until(2))
    run = served.ws.registry.list_runs(model="heart", kinds=["monitor-quality"])[0]
    assert run.verdict == "fail" and run.results["features"]["ca"]["missing_rate"] > 0.9
    alerts = cli("monitor", "alerts", "heart", "--json").json
    assert [a["check"] for a in alerts] == ["quality"]
    assert alerts[0]["level"] == "critical"  # missing rates far beyond twice the limit


@pytest.mark.parametrize("codes_as", ["numbers", "text"])
def test_unseen_values_of_a_large_window_are_named(served, cli, monkeypatch, codes_as):
    """Unseen codes logged as numbers are named from the count of every value; logged as
    text, above TOP_ROWS rows they come from a hash sample of the requests (falling back
    to every row when a value misses it). How many there are is counted on every row."""
    import modelward.monitoring.checks.quality as quality

    monkeypatch.setattr(quality, "TOP_ROWS", 3)
    rows = served.days["cleveland"].head(12).copy()
    pred, _ = traffic(
        served.flavor, rows, start=END + timedelta(days=2), spacing=timedelta(minutes=1), version=1
    )
    pred["in_cp"] = [9.0] * 8 + [7.0] * 4
    types = None
    if codes_as == "text":
        pred["in_cp"] = pred["in_cp"].map(lambda v: f"{v:g}")
        types = {n: pa.float64() for n in FEATURES}
        types["cp"] = pa.string()
    write_traffic(served.ws.logs_url, "heart", pred, feature_types=types, writer="w3")
    until = (END + timedelta(days=3)).isoformat()
    ran = cli("monitor", "quality", "heart", "--until", until, "--json")
    assert "cp: 12 value(s) (100.0%) in categories the training data never had (9, 7)" in (
        ran.stderr
    )


def test_codes_counted_per_value_give_the_aggregate_figures(served, monkeypatch):
    """Numeric-typed codes (cp, thal, ...) are counted per value in one grouping-sets pass;
    every figure equals the per-figure aggregate expressions used for other features,
    and a NaN logged for a code is unseen but not out of range."""
    import modelward.monitoring.checks.quality as quality

    rows = served.days["va"].head(40).copy()
    pred, _ = traffic(
        served.flavor, rows, start=END + timedelta(days=2), spacing=timedelta(minutes=1), version=1
    )
    import numpy as np
    import pyarrow.parquet as pq

    pred["in_cp"] = [9.0] * 5 + [0.0] * 3 + list(pred["in_cp"][8:])
    pred["in_thal"] = [None] * 4 + list(pred["in_thal"][4:])
    write_traffic(served.ws.logs_url, "heart", pred, writer="w4")
    monitor = served.ws.monitor
    monitor.alert = False
    results = {}
    for path in ("grouped", "aggregates"):
        if path == "aggregates":
            monkeypatch.setattr(quality, "_numeric_type", lambda duck_type: False)
        for days in (1, 3, 6):  # the odd day alone, and with VA's and Switzerland's
            done = monitor.quality(
                "heart",
                last=f"{days}d",
                until=(END + timedelta(days=3)).isoformat(),
                record=False,
            )
            results[path, days] = (done.results["features"], done.breaches)
    for days in (1, 3, 6):
        for feature, entry in results["grouped", days][0].items():
            assert entry == results["aggregates", days][0][feature], (days, feature)
        assert results["grouped", days][1] == results["aggregates", days][1]
    features, breaches = results["grouped", 1]
    assert features["cp"]["unseen"] == 5 + 3  # 9 and 0 are not chest-pain codes
    assert features["cp"]["out_of_range"] == 5 + 3 and features["cp"]["zeros"] == 3
    assert any("in categories the training data never had (9, 0)" in b for b in breaches)
    # a writer that logged NaN (not null) for missing codes, as the benchmark's log does
    monkeypatch.undo()
    (path,) = Path(served.ws.logs_url).glob("predictions/model=heart/date=*/w4-*.parquet")
    table = pq.read_table(path)
    codes = np.array([np.nan] * 2 + table.column("in_cp").to_pylist()[2:], dtype="float64")
    at = table.schema.get_field_index("in_cp")
    pq.write_table(table.set_column(at, "in_cp", pa.array(codes, from_pandas=False)), path)
    from modelward.monitoring.monitor import Monitor

    fresh = Monitor(served.ws, alert=False)  # log files never change: results are cached
    done = fresh.quality(
        "heart", last="1d", until=(END + timedelta(days=3)).isoformat(), record=False
    )
    cp = done.results["features"]["cp"]
    assert cp["missing"] == 0  # a NaN is a logged value, as it was
    assert cp["unseen"] == 3 + 3 + 2 and cp["out_of_range"] == 3 + 3
    assert any("never had (0, 9, nan)" in b for b in done.breaches)  # ties: by value


def test_rejected_requests_are_reported_not_counted_as_missing_inputs(served, cli):
    """The server logs a rejected request without its inputs: that is not a missing value."""
    import pandas as pd

    held = served.days["cleveland"]
    pred = served.preds["cleveland"].iloc[:40].copy()
    pred["request_id"] = [f"rejected-{i}" for i in range(len(pred))]
    pred["status"] = "rejected"
    pred["error"] = "inputs.age is null; it is required"
    for feature in FEATURES:
        pred[f"in_{feature}"] = float("nan")
    pred["prediction"], pred["score"], pred["proba"] = None, float("nan"), None
    write_traffic(served.ws.logs_url, "heart", pd.DataFrame(pred), writer="rejects")

    body = cli("monitor", "quality", "heart", "--until", _until(4), "--json").json
    assert body["results"]["rows"] == len(held)
    assert body["results"]["rejected_or_failed"] == 40
    assert body["results"]["volume"]["rows"] == len(held) + 40
    for feature in FEATURES:  # the same rates as without the rejected rows
        assert body["results"]["features"][feature]["missing_rate"] == pytest.approx(
            held[feature].isna().mean()
        )
    assert not [b for b in body["breaches"] if "missing" in b]
