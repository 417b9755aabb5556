"""Missing values and numbers in requests (issue 15): ``register`` learns which inputs a
pipeline accepts as missing by trying it (and ``--nullable`` declares more), so a null in
an imputed input is served over HTTP; whole numbers in a CSV do not make a column refuse
``54.5`` (a fraction there is flagged, not refused)."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import FEATURES, ROOT
from modelward.data import infer_schema
from modelward.predlog import predictions

from .conftest import start_live, stop_live

pytestmark = pytest.mark.sqlite_only

PENGUINS = ROOT / "examples" / "penguins" / "data" / "penguins.csv"
TEXT = ["island", "sex"]
NUMBERS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "year"]


def _imputing(estimator):
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    prep = ColumnTransformer(
        [
            (
                "text",
                make_pipeline(
                    SimpleImputer(strategy="most_frequent"),
                    OneHotEncoder(handle_unknown="ignore"),
                ),
                TEXT,
            ),
            ("numbers", make_pipeline(SimpleImputer(), StandardScaler()), NUMBERS),
        ]
    )
    return Pipeline([("prep", prep), ("model", estimator)])


def _ready(ws, name: str, version: int) -> None:
    ws.registry.record_run(
        "validation", model=name, version=version, inputs={}, results={}, verdict="pass"
    )
    ws.transition(name, version, "testing", reason="fixture")
    ws.deployments.deploy(name, version, "production", reason="test")


def _file(tmp_path, model, stem: str):
    import skops.io as sio

    path = tmp_path / f"{stem}.skops"
    sio.dump(model, path)
    return path


def _nullable(ws, name: str) -> dict[str, bool]:
    info = ws.registry.get_version(name, "latest")
    return {c["name"]: c["nullable"] for c in info.input_schema["columns"]}


def test_register_learns_that_an_imputing_pipeline_accepts_nulls_and_serves_them(
    workspace, cli, tmp_path
):
    from sklearn.linear_model import LogisticRegression

    frame = pd.read_csv(PENGUINS)[[*TEXT, *NUMBERS, "species"]]
    model = _imputing(LogisticRegression(max_iter=2000)).fit(frame[TEXT + NUMBERS], frame.species)
    data = tmp_path / "penguins.csv"
    frame.to_csv(data, index=False)
    path = _file(tmp_path, model, "penguins")
    ran = cli("register", "penguins", "--model", path, "--data", data, "--target", "species")
    assert ran.exit_code == 0, ran.stderr
    # island and year are never missing in the data, but the pipeline imputes them
    assert not frame.island.isna().any() and not frame.year.isna().any()
    assert _nullable(workspace, "penguins") == {c: True for c in TEXT + NUMBERS}
    _ready(workspace, "penguins", 1)
    rows = [
        {"island": None, "sex": "female", "bill_length_mm": 39.1, "bill_depth_mm": 18.7,
         "flipper_length_mm": 181, "year": None},
        {"island": "Biscoe", "sex": None, "bill_length_mm": None, "bill_depth_mm": 15.0,
         "flipper_length_mm": 220.5, "year": 2008},
    ]  # fmt: skip
    live = start_live(workspace)
    try:
        with live.client() as http:
            reply = http.post("/v1/models/penguins/predict", json={"inputs": rows})
    finally:
        stop_live(live)
    assert reply.status_code == 200, reply.text
    expected = pd.DataFrame(rows).astype({c: "float64" for c in NUMBERS})
    expected[TEXT] = expected[TEXT].astype(object).where(expected[TEXT].notna(), np.nan)
    assert reply.json()["predictions"] == model.predict(expected).tolist()
    got = [[p[c] for c in model.classes_] for p in reply.json()["probabilities"]]
    np.testing.assert_allclose(got, model.predict_proba(expected), atol=1e-4)


def test_a_model_that_fails_on_nulls_refuses_them_and_nullable_declares_more(
    workspace, cli, tmp_path
):
    """No imputer: a null makes the model raise, so register finds no nullable input;
    ``--nullable`` declares one, and a column the data lacks is a one-line exit 2."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.read_csv(PENGUINS)[[*NUMBERS, "species"]].dropna()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(frame[NUMBERS], frame.species)
    data = tmp_path / "penguins.csv"
    frame.to_csv(data, index=False)
    path = _file(tmp_path, model, "strict")
    base = ("register", "strict", "--model", path, "--data", data, "--target", "species")
    ran = cli(*base, "--nullable", "nope")
    assert ran.exit_code == 2 and "nope" in ran.stderr and len(ran.stderr.splitlines()) == 1
    assert cli(*base).exit_code == 0
    assert _nullable(workspace, "strict") == {c: False for c in NUMBERS}
    _ready(workspace, "strict", 1)
    row = dict(zip(NUMBERS, frame[NUMBERS].iloc[0].tolist(), strict=True))
    live = start_live(workspace)
    try:
        with live.client() as http:
            null = http.post("/v1/models/strict/predict", json={"inputs": {**row, "year": None}})
            absent = {k: v for k, v in row.items() if k != "year"}
            lacking = http.post("/v1/models/strict/predict", json={"inputs": absent})
    finally:
        stop_live(live)
    assert null.status_code == 422 and "inputs.year is null; it is required" in null.text
    assert lacking.status_code == 422 and "inputs.year is missing" in lacking.text
    ran = cli(*base, "--nullable", "year")
    assert ran.exit_code == 0, ran.stderr
    assert _nullable(workspace, "strict") == {c: c == "year" for c in NUMBERS}


def test_whole_numbers_in_a_csv_accept_any_number_and_flag_a_fraction(workspace, cleveland, fitted):
    """Cleveland's ``age`` reads as 63.0, 67.0, ...: the schema keeps it a number (with
    ``integral``), so age 54.5 is served as scikit-learn answers it, and flagged."""
    columns = {c["name"]: c for c in infer_schema(cleveland[FEATURES])["columns"]}
    assert columns["age"]["kind"] == "float" and columns["age"]["integral"] is True
    assert "integral" not in columns["oldpeak"]
    info = workspace.register("heart", fitted, data=cleveland[[*FEATURES, "target"]],
                              target="target")  # fmt: skip
    _ready(workspace, "heart", info.version)
    row = {k: (None if isinstance(v, float) and math.isnan(v) else v)
           for k, v in cleveland[FEATURES].iloc[0].to_dict().items()}  # fmt: skip
    live = start_live(workspace)
    try:
        with live.client() as http:
            half = http.post("/v1/models/heart/predict", json={"inputs": {**row, "age": 54.5}})
            whole = http.post("/v1/models/heart/predict", json={"inputs": {**row, "age": 54}})
        live.flush()
    finally:
        stop_live(live)
    assert half.status_code == 200, half.text
    frame = cleveland[FEATURES].iloc[:1].astype(float).assign(age=54.5)
    assert half.json()["score"] == pytest.approx(fitted.predict_proba(frame)[0, 1], abs=1e-5)
    assert half.json()["flags"] == ["age"]
    assert whole.status_code == 200 and "flags" not in whole.json()
    ages = sorted(r[0] for r in predictions(workspace, "heart").select("in_age").fetchall())
    assert ages == [54.0, 54.5]


def test_an_integer_type_in_the_data_stays_an_explicit_integer():
    frame = pd.DataFrame({"n": [1, 2, 3], "x": [1.0, 2.0, None], "y": [0.5, 1.0, 2.0]})
    columns = {c["name"]: c for c in infer_schema(frame)["columns"]}
    assert columns["n"]["kind"] == "integer" and "integral" not in columns["n"]
    assert columns["x"]["kind"] == "float" and columns["x"]["integral"] is True
    assert columns["y"]["kind"] == "float" and "integral" not in columns["y"]
