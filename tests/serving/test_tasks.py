"""Every task deployed and served over HTTP (issue 15): a regression returns its value, a
multiclass classifier the probabilities of every class, a binary one with string labels
its labels; on the proven ONNX path and on the pipeline, with string categories and
missing values in the requests. A model that fails at predict time is named, with the
request id, in the server's log."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from conftest import ROOT
from modelward.predlog import predictions

from .conftest import start_live, stop_live

pytestmark = pytest.mark.sqlite_only

PENGUINS = ROOT / "examples" / "penguins" / "data" / "penguins.csv"
BREAST = ROOT / "examples" / "breast-cancer" / "data" / "breast-cancer.csv"
TEXT = ["island", "sex"]


def penguins() -> pd.DataFrame:
    return pd.read_csv(PENGUINS)


def breast_cancer() -> pd.DataFrame:
    return pd.read_csv(BREAST)


def pipeline(estimator, text: list[str], numbers: list[str], *, convertible: bool = True):
    """ColumnTransformer: imputed one-hot text, imputed scaled numbers; a FactorAnalysis
    (no ONNX converter) in the numeric branch when ``convertible`` is false."""
    from sklearn.compose import ColumnTransformer
    from sklearn.decomposition import FactorAnalysis
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline, make_pipeline
    from sklearn.preprocessing import OneHotEncoder, StandardScaler

    numeric = [SimpleImputer(), StandardScaler()]
    if not convertible:
        numeric.append(FactorAnalysis(n_components=3, random_state=0))
    parts = [("numbers", make_pipeline(*numeric), numbers)]
    if text:
        coded = make_pipeline(
            SimpleImputer(strategy="most_frequent"), OneHotEncoder(handle_unknown="ignore")
        )
        parts.insert(0, ("text", coded, text))
    return Pipeline([("prep", ColumnTransformer(parts)), ("model", estimator)])


def task_case(task: str, convertible: bool = True):
    """``(frame with the target, target, fitted pipeline)`` for a task."""
    from sklearn.linear_model import LogisticRegression, Ridge

    if task == "binary-classification":
        frame = breast_cancer()
        target = "diagnosis"
        numbers = [c for c in frame.columns if c != target]
        model = pipeline(LogisticRegression(max_iter=2000), [], numbers, convertible=convertible)
    else:
        frame = penguins()
        target = "species" if task == "multiclass-classification" else "body_mass_g"
        frame = frame[frame[target].notna()].reset_index(drop=True)
        numbers = [c for c in frame.columns if c not in (*TEXT, target, "species")]
        estimator = LogisticRegression(max_iter=2000) if target == "species" else Ridge()
        model = pipeline(estimator, TEXT, numbers, convertible=convertible)
    features = frame.drop(columns=[target])
    if target == "body_mass_g":
        features = features.drop(columns=["species"])
    model.fit(features, frame[target])
    return frame[[*features.columns, target]], target, model


def deploy(ws, name: str, model, frame: pd.DataFrame, target: str, task: str) -> int:
    info = ws.register(name, model, data=frame, target=target)
    assert ws.registry.get_model(name).task == task
    ws.registry.record_run(
        "validation", model=name, version=info.version, inputs={}, results={}, verdict="pass"
    )
    ws.transition(name, info.version, "testing", reason="fixture")
    ws.deployments.deploy(name, info.version, "production", reason="test")
    return info.version


def records(features: pd.DataFrame) -> list[dict]:
    """Rows as JSON objects, NaN sent as null."""
    return [
        {k: None if isinstance(v, float) and math.isnan(v) else v for k, v in row.items()}
        for row in features.to_dict(orient="records")
    ]


def sample(frame: pd.DataFrame, target: str) -> pd.DataFrame:
    """40 rows with every kind of missing value the data holds, and the rest at random."""
    features = frame.drop(columns=[target])
    gaps = features[features.isna().any(axis=1)]
    rest = features.drop(index=gaps.index).sample(40 - len(gaps), random_state=0)
    return pd.concat([gaps, rest])


TASKS = ["binary-classification", "multiclass-classification", "regression"]


@pytest.mark.parametrize("convertible", [True, False], ids=["onnx", "pipeline"])
@pytest.mark.parametrize("task", TASKS)
def test_each_task_is_served_over_http_as_the_pipeline_predicts(workspace, task, convertible):
    frame, target, model = task_case(task, convertible)
    version = deploy(workspace, "m", model, frame, target, task)
    sha = workspace.registry.get_version("m", version).sha256
    cache = workspace.layout.onnx_cache
    # deploy proved the conversion (or found there was none) before any server started
    assert (cache / f"{sha}.json").exists() is convertible
    assert (cache / f"{sha}.pipeline").exists() is not convertible
    rows = sample(frame, target)
    assert bool(rows.isna().any().any()) is (task != "binary-classification")  # penguins: gaps
    live = start_live(workspace)
    try:
        with live.client() as http:
            reply = http.post("/v1/models/m/predict", json={"inputs": records(rows)})
            single = http.post("/v1/models/m/predict", json={"inputs": records(rows)[0]})
        assert live.app.state.models[("m", version)].path == (  # type: ignore[attr-defined]
            "onnx" if convertible else "sklearn"
        )
    finally:
        stop_live(live)
    assert reply.status_code == 200, reply.text
    assert single.status_code == 200, single.text
    body = reply.json()
    expected = model.predict(rows)
    if task == "regression":
        got = np.array(body["predictions"], dtype=float)
        np.testing.assert_allclose(got, expected, rtol=1e-4)
        assert body["probabilities"] is None
        assert single.json()["prediction"] == pytest.approx(expected[0], rel=1e-4)
        assert single.json()["score"] is None
    else:
        assert body["predictions"] == expected.tolist()
        classes = [str(c) for c in model.classes_]
        assert [sorted(p) for p in body["probabilities"]] == [sorted(classes)] * len(rows)
        got = np.array([[p[c] for c in classes] for p in body["probabilities"]])
        np.testing.assert_allclose(got, model.predict_proba(rows), atol=1e-4)
        one = single.json()
        assert one["prediction"] == expected[0]
        assert set(one["probabilities"]) == set(classes)
    live.flush()
    logged = predictions(workspace, "m").filter("status = 'ok'").count("*").fetchall()
    assert logged == [(len(rows) + 1,)]


def test_a_regression_logs_its_values(workspace):
    frame, target, model = task_case("regression")
    deploy(workspace, "mass", model, frame, target, "regression")
    rows = sample(frame, target).head(5)
    live = start_live(workspace)
    try:
        with live.client() as http:
            body = http.post("/v1/models/mass/predict", json={"inputs": records(rows)}).json()
        live.flush()
    finally:
        stop_live(live)
    logged = predictions(workspace, "mass").select("request_id, prediction").fetchall()
    by_id = dict(logged)
    values = [float(by_id[rid]) for rid in body["request_ids"]]
    np.testing.assert_allclose(values, model.predict(rows), rtol=1e-4)


def test_a_model_failure_is_in_the_server_log_with_the_request_id(workspace, start_server):
    """A pipeline one-hot encoding the year, fitted without 2008 and refusing unknown
    categories, registered with data holding every year: 2008 is within the schema's
    range, so the model itself fails (500), and the server's log names the model, the
    request id and the cause."""
    import httpx
    from sklearn.compose import ColumnTransformer
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import OneHotEncoder

    frame = penguins()[["year", "bill_length_mm", "body_mass_g"]].dropna()
    fitted_on = frame[frame.year != 2008]
    prep = ColumnTransformer(
        [("year", OneHotEncoder(handle_unknown="error"), ["year"])], remainder="passthrough"
    )
    model = Pipeline([("prep", prep), ("model", Ridge())])
    model.fit(fitted_on[["year", "bill_length_mm"]], fitted_on["body_mass_g"])
    deploy(workspace, "fragile", model, frame, "body_mass_g", "regression")
    server = start_server()
    reply = httpx.post(
        server.url + "/v1/models/fragile/predict",
        json={"inputs": {"year": 2008, "bill_length_mm": 40.0}},
        headers={"X-Request-Id": "req-2008"},
        timeout=30,
    )
    assert reply.status_code == 500, reply.text
    assert "req-2008" in reply.json()["error"]["message"]
    server.stop()
    lines = [line for line in server.output().splitlines() if "req-2008" in line]
    assert lines, server.output()
    assert "fragile:1" in lines[0] and "ValueError" in lines[0]


@pytest.mark.parametrize("task", ["multiclass-classification", "regression"])
def test_an_optimized_onnx_version_serves_like_its_pipeline(workspace, task):
    """``optimize`` registers the ONNX graph as its own version; served, it answers with
    every class's probability (named from the graph) or the value."""
    import modelward

    frame, target, model = task_case(task)
    workspace.register("m", model, data=frame, target=target)
    out = modelward.optimize_version(workspace, "m", 1, frame, target=target)
    assert out["registered"] == 2
    assert workspace.registry.get_version("m", 2).flavor == "onnx"
    deploy_version = 2
    workspace.registry.record_run(
        "validation", model="m", version=2, inputs={}, results={}, verdict="pass"
    )
    workspace.transition("m", deploy_version, "testing", reason="fixture")
    workspace.deployments.deploy("m", deploy_version, "production", reason="test")
    rows = sample(frame, target)
    live = start_live(workspace)
    try:
        with live.client() as http:
            reply = http.post("/v1/models/m/predict", json={"inputs": records(rows)})
    finally:
        stop_live(live)
    assert reply.status_code == 200, reply.text
    body = reply.json()
    if task == "regression":
        np.testing.assert_allclose(body["predictions"], model.predict(rows), rtol=1e-4)
    else:
        assert body["predictions"] == model.predict(rows).tolist()
        classes = model.classes_.tolist()
        got = np.array([[p[c] for c in classes] for p in body["probabilities"]])
        np.testing.assert_allclose(got, model.predict_proba(rows), atol=1e-4)


@pytest.mark.parametrize("convertible", [True, False], ids=["onnx", "pipeline"])
def test_a_binary_models_score_is_its_declared_positive_class(
    workspace, cli, tmp_path, convertible
):
    """Registered with ``--positive-class benign`` (the first of the sorted classes), the
    served ``score`` is the probability of benign; the default would be malignant's."""
    from skops.io import dump

    frame, target, model = task_case("binary-classification", convertible)
    data, path = tmp_path / "train.csv", tmp_path / "model.skops"
    frame.to_csv(data, index=False)
    dump(model, path)
    for wrong, message in (("cancer", "not one of the model's classes"),):
        ran = cli("register", "dx", "--model", path, "--data", data, "--target", target,
                  "--positive-class", wrong)  # fmt: skip
        assert ran.exit_code == 2 and message in ran.stderr and ran.stderr.count("\n") == 1
    assert workspace.registry.list_models() == []  # nothing stored
    ran = cli("register", "dx", "--model", path, "--data", data, "--target", target,
              "--positive-class", "benign")  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    workspace.registry.record_run("validation", model="dx", version=1, inputs={}, results={},
                                  verdict="pass")  # fmt: skip
    workspace.transition("dx", 1, "testing", reason="fixture")
    workspace.deployments.deploy("dx", 1, "production", reason="test")
    server = start_live(workspace)
    try:
        with server.client() as http:
            body = {"inputs": records(frame.drop(columns=[target]).head(5))}
            reply = http.post("/v1/models/dx/predict", json=body).json()
        for score, proba in zip(reply["scores"], reply["probabilities"], strict=True):
            assert score == pytest.approx(proba["benign"]) and score != proba["malignant"]
    finally:
        stop_live(server)


def test_a_positive_class_on_a_multiclass_model_is_refused(workspace, cli, tmp_path):
    from skops.io import dump

    frame, target, model = task_case("multiclass-classification")
    data, path = tmp_path / "train.csv", tmp_path / "model.skops"
    frame.to_csv(data, index=False)
    dump(model, path)
    ran = cli("register", "sp", "--model", path, "--data", data, "--target", target,
              "--positive-class", "Adelie")  # fmt: skip
    assert ran.exit_code == 2 and "applies to binary classifiers" in ran.stderr
