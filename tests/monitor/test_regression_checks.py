"""``monitor review`` and ``monitor degradation`` on a regression model: the largest
errors with the features that moved them; the growth of the absolute error, when and
where (both refused regression before)."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest
from sklearn.linear_model import LinearRegression
from tests.monitor.logdata import FEEDBACK_SCHEMA, prediction_schema, write_partitioned

from conftest import ROOT

pytestmark = pytest.mark.sqlite_only

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]
TARGET = "body_mass_g"
START = datetime(2026, 11, 20, 8, 0, tzinfo=UTC)


def _penguins() -> pd.DataFrame:
    frame = pd.read_csv(ROOT / "examples" / "penguins" / "data" / "penguins.csv")
    return frame.dropna(subset=[*NUMERIC, TARGET]).reset_index(drop=True)


def _log(
    ws,
    name: str,
    model,
    rows: pd.DataFrame,
    *,
    start: datetime = START,
    offset: float = 0.0,
    first_id: int = 1,
) -> pd.DataFrame:
    """The rows served as the server logs a regressor's answers (``offset`` added to each),
    each labelled."""
    values = model.predict(rows[NUMERIC]) + offset
    n = len(rows)
    pred = pd.DataFrame(
        {
            "request_id": [uuid.UUID(int=first_id + i).hex for i in range(n)],
            "ts": pd.Series([start + timedelta(seconds=10 * i) for i in range(n)]),
            "version": np.ones(n, dtype="int64"),
            "environment": "production",
            "status": "ok",
            "error": pd.Series([None] * n, dtype="object"),
            "latency_ms": np.full(n, 2.0),
            "prediction": [repr(float(v)) for v in values],
            "score": values.astype("float64"),
            "proba": pd.Series([None] * n, dtype="object"),
        }
    )
    for column in NUMERIC:
        pred[f"in_{column}"] = rows[column].to_numpy(dtype="float64")
    pred["ts"] = pred["ts"].astype("datetime64[us, UTC]")
    schema = prediction_schema({c: pa.float64() for c in NUMERIC})
    write_partitioned(Path(ws.logs_url), "predictions", name, pred, schema, "w1")
    labels = pd.DataFrame(
        {
            "request_id": pred["request_id"],
            "ts": pred["ts"] + pd.Timedelta(minutes=5),
            "label": rows[TARGET].astype(str).to_numpy(),
        }
    )
    write_partitioned(Path(ws.logs_url), "feedback", name, labels, FEEDBACK_SCHEMA, "w1")
    return pred.assign(error=np.abs(values - rows[TARGET].to_numpy()))


def test_the_review_of_a_regressor_lists_its_largest_errors(workspace, cli):
    data = _penguins()
    model = LinearRegression().fit(data[NUMERIC], data[TARGET])
    workspace.register("mass", model, data=data[[*NUMERIC, TARGET]], target=TARGET)
    served = _log(workspace, "mass", model, data)
    until = (START + timedelta(hours=2)).isoformat()
    ran = cli("monitor", "review", "mass", "--last", "24h", "--until", until, "--json")
    assert ran.exit_code == 0, ran.stderr
    body = ran.json["results"]
    errors = served["error"].to_numpy()
    cut = np.quantile(errors, 0.9)
    assert body["labelled"] == len(data) and body["large_errors"] == int((errors >= cut).sum())
    items = body["items"]
    assert len(items) == 20 and [i["why"] for i in items] == ["large error"] * 20
    expected = served.sort_values("error", ascending=False).head(20)
    assert [i["request_id"] for i in items] == expected["request_id"].tolist()
    assert np.allclose([i["error"] for i in items], expected["error"], rtol=1e-9)
    # occlusion on the predicted value: f(x) - f(x with the feature at its median)
    first = expected.iloc[0]
    x = pd.DataFrame([{c: first[f"in_{c}"] for c in NUMERIC}])
    for feature, moved in items[0]["contributions"].items():
        changed = x.assign(**{feature: data[feature].median()})
        assert moved == pytest.approx(
            float(model.predict(x)[0] - model.predict(changed)[0]), rel=0.05, abs=1.0
        )
    table = cli("monitor", "review", "mass", "--last", "24h", "--until", until)
    assert "large errors" in table.stdout and "|error|" in table.stdout


def test_a_regressors_degradation_follows_its_absolute_error(workspace, cli, tmp_path):
    """A day like the training data, then a day whose predictions are 600 g off: the
    window's MAE against the previous day's (Welch's test, as SciPy computes it), the
    timeline, and the recorded MAE as the reference."""
    from scipy.stats import ttest_ind

    data = _penguins()
    model = LinearRegression().fit(data[NUMERIC], data[TARGET])
    recorded = float(np.abs(model.predict(data[NUMERIC]) - data[TARGET]).mean())
    workspace.register(
        "mass", model, data=data[[*NUMERIC, TARGET]], target=TARGET, metrics={"mae": recorded}
    )
    day = timedelta(days=1)
    before = _log(workspace, "mass", model, data, start=START - day)
    after = _log(workspace, "mass", model, data, offset=600.0, first_id=10_000)
    until = (START + timedelta(hours=12)).isoformat()
    ran = cli("monitor", "degradation", "mass", "--last", "24h", "--until", until, "--json")
    assert ran.exit_code == 1, ran.stderr
    body = ran.json["results"]
    assert body["metric"] == "mae"
    assert body["current"]["mae"] == pytest.approx(after["error"].mean())
    assert body["baseline"]["mae"] == pytest.approx(before["error"].mean())
    expected = ttest_ind(after["error"], before["error"], equal_var=False, alternative="greater")
    assert body["test_p_value"] == pytest.approx(expected.pvalue)
    assert "mean absolute error rose" in ran.json["breaches"][0]
    assert sum(p["rows"] for p in body["timeline"]) == 2 * len(data)
    assert body["slices"] and body["slices"][0]["added"] > 0
    reference = cli(
        "monitor", "degradation", "mass", "--last", "24h", "--until", until,
        "--compare-to", "reference", "--json",
    )  # fmt: skip
    assert reference.exit_code == 1
    assert reference.json["results"]["baseline"]["mae"] == pytest.approx(recorded)
    assert "above the recorded" in reference.json["breaches"][0]
    # once `modelward evaluate` has measured the version, its figure is the baseline
    sample = data.head(120)
    csv = tmp_path / "sample.csv"
    sample[[*NUMERIC, TARGET]].to_csv(csv, index=False)
    assert cli("evaluate", "mass", "1", "--data", csv).exit_code == 0
    again = cli(
        "monitor", "degradation", "mass", "--last", "24h", "--until", until,
        "--compare-to", "reference", "--json",
    ).json["results"]["baseline"]  # fmt: skip
    measured = float(np.abs(model.predict(sample[NUMERIC]) - sample[TARGET]).mean())
    assert again["mae"] == pytest.approx(measured) and measured != pytest.approx(recorded)
    assert again["source"].startswith("evaluation run #")
    table = cli("monitor", "degradation", "mass", "--last", "24h", "--until", until)
    assert "mean absolute error now" in table.stdout and "slices that grew most" in table.stdout
