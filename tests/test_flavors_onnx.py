"""ONNX for every task and for pipelines with string categories (issue 15): the converted
graph gives the pipeline's labels, probabilities and values (rows with missing text and
numbers, unseen categories included); ``optimize`` converts the tool's own training
pipeline and a regression and registers them; a model skl2onnx cannot convert is a check
that failed (exit 1, naming the estimator); a graph that fails its proof at deploy falls
back to the pipeline, logged."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import accuracy_score, f1_score, mean_absolute_error, r2_score

from conftest import ROOT
from modelward.flavors import OnnxFlavor
from modelward.flavors.convert import ConversionFailed, column_kinds, to_onnx_bytes

pytestmark = pytest.mark.sqlite_only

PENGUINS = ROOT / "examples" / "penguins" / "data" / "penguins.csv"
BREAST = ROOT / "examples" / "breast-cancer" / "data" / "breast-cancer.csv"
TEXT = ["island", "sex"]
NUMBERS = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm", "year"]


def penguins() -> pd.DataFrame:
    return pd.read_csv(PENGUINS)


def tool_pipeline(estimator: str, params: dict | None = None):
    """The pipeline ``modelward train`` builds for the penguins' features."""
    from modelward.training.config import TrainingConfig
    from modelward.training.pipeline import build_pipeline

    config = TrainingConfig.model_validate(
        {
            "name": "penguins",
            "data": str(PENGUINS),
            "target": "species",
            "features": {"numeric": NUMBERS, "categorical": TEXT},
            "estimator": {"class": estimator, "params": params or {}},
        }
    )
    return build_pipeline(config)


def hand_pipeline(estimator):
    """SimpleImputer + OneHotEncoder(ignore) on text, SimpleImputer + StandardScaler on numbers."""
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


def probe(frame: pd.DataFrame) -> pd.DataFrame:
    """Every row with a gap, 30 more, and a row with an island never seen."""
    features = frame[TEXT + NUMBERS]
    gaps = features[features.isna().any(axis=1)]
    unseen = features.iloc[[0]].assign(island="Atlantis")
    return pd.concat([gaps, features.sample(30, random_state=1), unseen], ignore_index=True)


CLASSIFIERS = [
    ("sklearn.linear_model.LogisticRegression", {"max_iter": 2000}),
    ("sklearn.ensemble.RandomForestClassifier", {"n_estimators": 20}),
]


@pytest.mark.parametrize(("estimator", "params"), CLASSIFIERS)
def test_the_tools_own_multiclass_pipeline_converts_and_predicts_the_same(estimator, params):
    frame = penguins()
    model = tool_pipeline(estimator, params).fit(frame[TEXT + NUMBERS], frame["species"])
    rows = probe(frame)
    assert rows[TEXT].isna().any().any() and rows[NUMBERS].isna().any().any()
    graph = OnnxFlavor.load(to_onnx_bytes(model, column_kinds(frame[TEXT + NUMBERS])))
    assert [i.name for i in graph.inputs] == TEXT + NUMBERS
    labels, proba = graph.predict_both(rows)
    assert labels.tolist() == model.predict(rows).tolist()
    np.testing.assert_allclose(proba, model.predict_proba(rows), atol=1e-4)
    assert proba.shape == (len(rows), 3)
    assert graph.classes == model.classes_.tolist()  # the probability columns, named


def test_a_regression_pipeline_with_text_converts_to_its_values():
    from sklearn.linear_model import Ridge

    frame = penguins().dropna(subset=["body_mass_g"])
    model = hand_pipeline(Ridge()).fit(frame[TEXT + NUMBERS], frame["body_mass_g"])
    rows = probe(frame)
    graph = OnnxFlavor.load(to_onnx_bytes(model, column_kinds(frame[TEXT + NUMBERS])))
    labels, proba = graph.predict_both(rows)
    assert proba is None and graph.predict_proba(rows) is None and graph.classes is None
    np.testing.assert_allclose(labels, model.predict(rows), rtol=1e-5)


def test_a_binary_model_with_string_labels_converts():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    frame = pd.read_csv(BREAST)
    features = frame.drop(columns="diagnosis")
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=2000))
    model.fit(features, frame["diagnosis"])
    graph = OnnxFlavor.load(to_onnx_bytes(model, column_kinds(features)))
    labels, proba = graph.predict_both(features)
    assert labels.tolist() == model.predict(features).tolist()
    np.testing.assert_allclose(proba, model.predict_proba(features), atol=1e-4)
    assert graph.classes == ["benign", "malignant"] == model.classes_.tolist()


def test_the_fitted_model_is_not_changed_by_converting():
    frame = penguins()
    model = tool_pipeline("sklearn.linear_model.LogisticRegression", {"max_iter": 2000})
    model.fit(frame[TEXT + NUMBERS], frame["species"])
    before = model.predict_proba(probe(frame))
    to_onnx_bytes(model, column_kinds(frame[TEXT + NUMBERS]))
    imputer = model.named_steps["prep"].named_transformers_["categorical"].named_steps["impute"]
    assert isinstance(imputer.missing_values, float) and np.isnan(imputer.missing_values)
    np.testing.assert_array_equal(model.predict_proba(probe(frame)), before)


def test_an_unconvertible_estimator_is_named():
    from sklearn.decomposition import FactorAnalysis
    from sklearn.linear_model import Ridge
    from sklearn.pipeline import make_pipeline

    frame = penguins().dropna(subset=NUMBERS + ["body_mass_g"])
    model = make_pipeline(FactorAnalysis(n_components=2), Ridge())
    model.fit(frame[NUMBERS], frame["body_mass_g"])
    with pytest.raises(ConversionFailed) as caught:
        to_onnx_bytes(model, column_kinds(frame[NUMBERS]))
    assert caught.value.estimator == "FactorAnalysis"


# -- optimize ------------------------------------------------------------------------------


def _register(workspace, tmp_path, name, model, frame, target):
    data = tmp_path / f"{name}.csv"
    frame.to_csv(data, index=False)
    workspace.register(name, model, data=frame, target=target)
    return data


def test_optimize_converts_the_tools_multiclass_pipeline_with_text(workspace, cli, tmp_path):
    frame = penguins()
    model = tool_pipeline("sklearn.linear_model.LogisticRegression", {"max_iter": 2000})
    model.fit(frame[TEXT + NUMBERS], frame["species"])
    data = _register(workspace, tmp_path, "penguins", model, frame, "species")
    ran = cli("optimize", "penguins", "1", "--data", data, "--label", "species", "--json")
    assert ran.exit_code == 0, ran.stderr
    out = ran.json
    assert out["registered"] == 2 and out["agreement"] == 1.0
    onnx = workspace.load_model("penguins", 2)
    assert workspace.registry.get_version("penguins", 2).flavor == "onnx"
    x = frame[TEXT + NUMBERS]
    truth = frame["species"]
    assert out["metrics_after"]["accuracy"] == pytest.approx(accuracy_score(truth, onnx.predict(x)))
    assert out["metrics_after"]["f1_macro"] == pytest.approx(
        f1_score(truth, onnx.predict(x), average="macro")
    )
    assert out["max_probability_difference"] <= 1e-4


def test_optimize_converts_a_regression(workspace, cli, tmp_path):
    from sklearn.linear_model import Ridge

    frame = penguins().dropna(subset=["body_mass_g"]).drop(columns="species")
    model = hand_pipeline(Ridge()).fit(frame[TEXT + NUMBERS], frame["body_mass_g"])
    data = _register(workspace, tmp_path, "mass", model, frame, "body_mass_g")
    ran = cli("optimize", "mass", "1", "--data", data, "--label", "body_mass_g", "--json")
    assert ran.exit_code == 0, ran.stderr
    out = ran.json
    assert out["registered"] == 2 and out["task"] == "regression"
    onnx = workspace.load_model("mass", 2).predict(frame[TEXT + NUMBERS])
    truth = frame["body_mass_g"]
    assert out["metrics_after"]["r2"] == pytest.approx(r2_score(truth, onnx))
    assert out["metrics_after"]["mae"] == pytest.approx(mean_absolute_error(truth, onnx))
    assert out["metrics_before"]["mae"] == pytest.approx(
        mean_absolute_error(truth, model.predict(frame[TEXT + NUMBERS]))
    )
    assert out["agreement"] == 1.0
    ran = cli("optimize", "mass", "1", "--data", data, "--label", "body_mass_g")
    assert ran.exit_code == 0, ran.stderr
    assert "mae" in ran.stdout and "Registered mass:3 (onnx)" in ran.stdout


def test_optimize_of_an_unconvertible_model_is_a_failed_check_naming_it(workspace, cli, tmp_path):
    from sklearn.decomposition import FactorAnalysis
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    frame = penguins().dropna(subset=NUMBERS)[[*NUMBERS, "species"]]
    model = make_pipeline(FactorAnalysis(n_components=2), LogisticRegression())
    model.fit(frame[NUMBERS], frame["species"])
    data = _register(workspace, tmp_path, "odd", model, frame, "species")
    ran = cli("optimize", "odd", "1", "--data", data, "--label", "species")
    assert ran.exit_code == 1, ran.stderr
    assert "FactorAnalysis" in ran.stderr and "nothing was registered" in ran.stderr
    assert len(workspace.registry.list_versions("odd")) == 1
    run = workspace.registry.list_runs(kinds=["optimization"])[0]
    assert run.verdict == "fail" and run.results["unconvertible"] == "FactorAnalysis"


# -- the proof at deploy -------------------------------------------------------------------


def test_a_graph_that_fails_its_proof_at_deploy_falls_back_to_the_pipeline(
    workspace, monkeypatch, caplog
):
    """A converter that gives the graph of another (weaker) model: the proof on probe rows
    sees the difference, the server takes the pipeline, and the log says why."""
    from sklearn.linear_model import LogisticRegression

    from modelward.serving import models

    frame = penguins()
    model = hand_pipeline(LogisticRegression(max_iter=2000))
    model.fit(frame[TEXT + NUMBERS], frame["species"])
    weak = hand_pipeline(LogisticRegression(C=1e-4)).fit(frame[TEXT + NUMBERS], frame["species"])
    real = models.to_onnx_bytes
    monkeypatch.setattr(models, "to_onnx_bytes", lambda _model, columns: real(weak, columns))
    info = workspace.register("penguins", model, data=frame, target="species")
    with caplog.at_level(logging.WARNING, logger="modelward.serving"):
        path = workspace._prepare_serving("penguins", info.version)
    assert path == "sklearn"
    assert "differs from the pipeline" in caplog.text and "penguins:1" in caplog.text
    note = workspace.layout.onnx_cache / f"{info.sha256}.pipeline"
    assert "differ" in note.read_text()
    loaded = models.load_model(workspace, "penguins", info.version)
    assert loaded.session is None and loaded.path == "sklearn"
