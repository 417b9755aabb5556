"""``modelward train``: registration, determinism, tuning, and every config mistake."""

from __future__ import annotations

import pytest
import yaml

from tabular.helpers import write_config

pytestmark = pytest.mark.sqlite_only


def test_train_registers_a_version_with_metrics_params_and_profile(workspace, cli, tmp_path):
    ran = cli("train", "--config", write_config(tmp_path), "--json")
    assert ran.exit_code == 0, ran.stderr
    out = ran.json
    info = workspace.registry.get_version("heart-disease", 1)
    assert info.stage == "development"
    assert info.metrics["cv"]["folds"] == 5
    assert set(info.metrics["test"]) >= {"accuracy", "roc_auc", "f1", "precision", "recall"}
    assert info.params["estimator"] == "sklearn.linear_model.LogisticRegression"
    assert info.params["C"] == 1.0 and info.params["seed"] == 42
    assert info.data_fingerprint and info.has_reference_profile
    profile = workspace.registry.reference_profile("heart-disease", 1)
    assert profile["target"] == "target" and profile["rows"] == info.source["train_rows"]
    assert out["metrics"]["test"]["roc_auc"] == info.metrics["test"]["roc_auc"]


def test_held_out_metrics_are_what_sklearn_computes_on_the_same_split(workspace, tmp_path):
    from sklearn.metrics import accuracy_score, roc_auc_score

    from modelward.training import load_config, train_model

    result = train_model(workspace, load_config(write_config(tmp_path)))
    held = result.held_out
    model = workspace.load_model("heart-disease", 1).model
    x = held.drop(columns="target")
    assert result.metrics["test"]["accuracy"] == pytest.approx(
        accuracy_score(held["target"], model.predict(x))
    )
    assert result.metrics["test"]["roc_auc"] == pytest.approx(
        roc_auc_score(held["target"], model.predict_proba(x)[:, 1])
    )


@pytest.fixture
def local_ws(tmp_path):
    """A SQLite workspace: determinism does not depend on the metadata database."""
    from modelward import Workspace

    with Workspace.init(tmp_path / "local") as ws:
        yield ws


@pytest.mark.parametrize("kind", ["logreg", "forest", "gboost"])
def test_training_is_deterministic(local_ws, tmp_path, kind):
    workspace = local_ws
    from modelward.training import load_config, train_model

    config = load_config(write_config(tmp_path, kind))
    first = train_model(workspace, config)
    second = train_model(workspace, config)
    assert first.version.sha256 == second.version.sha256
    assert first.metrics == second.metrics


def test_tuning_is_deterministic_and_recorded(local_ws, tmp_path):
    workspace = local_ws
    from modelward.training import load_config, train_model

    config = load_config(write_config(tmp_path))
    a = train_model(workspace, config, tune=3)
    b = train_model(workspace, config, tune=3)
    assert a.tuning["best_params"] == b.tuning["best_params"]
    assert a.version.sha256 == b.version.sha256
    assert a.version.params["C"] == pytest.approx(a.tuning["best_params"]["C"])
    assert a.version.metrics["tuning"]["trials"] == 3


def _nothing_stored(workspace):
    assert workspace.registry.list_models() == []
    assert workspace.registry.list_runs() == []


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"estimater": {"class": "x"}}, "unknown key 'estimater'"),
        (
            {"features": None, "feature": {"numeric": ["age"]}},
            "unknown key 'feature'; known keys here: cv, data, description, estimator",
        ),
        ({"split": {"test_sise": 0.2}}, "unknown key 'split.test_sise'"),
        ({"features": {"numeric": ["age"], "categorial": ["sex"]}}, "'features.categorial'"),
        ({"estimator": {"class": "sklearn.linear_model.LogisticRegresion"}}, "no class"),
        ({"estimator": {"class": "os.system"}}, "not a scikit-learn import path"),
        (
            {
                "estimator": {
                    "class": "sklearn.linear_model.LogisticRegression",
                    "params": {"CC": 1},
                }
            },
            "no parameter 'CC'",
        ),
        ({"cv": {"folds": 1}}, "cv.folds"),
        ({"split": {"test_size": 1.5}}, "split.test_size"),
        ({"name": None}, "name is required"),
        ({"name": "Bad Name!"}, "Bad Name!"),
        (
            {"features": {"numeric": ["age", "weight"]}, "preprocessing": None},
            "no feature column 'weight'",
        ),
        ({"target": "diagnosis"}, "no target column 'diagnosis'"),
        ({"data": "/nonexistent/heart.csv"}, "does not exist"),
    ],
)
def test_config_mistakes_exit_2_with_one_line(workspace, cli, tmp_path, changes, message):
    ran = cli("train", "--config", write_config(tmp_path, **changes))
    assert ran.exit_code == 2
    assert message in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1
    _nothing_stored(workspace)


def test_tune_without_a_space_and_bad_counts(workspace, cli, tmp_path):
    ran = cli("train", "--config", write_config(tmp_path, tune=None), "--tune", "2")
    assert ran.exit_code == 2 and "search space" in ran.stderr
    ran = cli("train", "--config", write_config(tmp_path), "--tune", "0")
    assert ran.exit_code == 2 and "--tune 0" in ran.stderr
    _nothing_stored(workspace)


def test_bad_files(workspace, cli, tmp_path):
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    text = tmp_path / "text.csv"
    text.write_text("age,chol,target\n" + "50,high,1\n60,200,0\n" * 10)
    broken = tmp_path / "broken.yml"
    broken.write_text("name: [unclosed\n")
    cases = [
        (write_config(tmp_path, data=str(empty)), "is empty"),
        (
            write_config(
                tmp_path,
                data=str(text),
                features={"numeric": ["age", "chol"]},
                preprocessing=None,
            ),
            "feature 'chol' is numeric in the config but holds text such as 'high'",
        ),
        (broken, "not valid YAML"),
        (tmp_path / "missing.yml", "does not exist"),
    ]
    for config, message in cases:
        ran = cli("train", "--config", config)
        assert ran.exit_code == 2, (config, ran.stderr)
        assert message in ran.stderr
    _nothing_stored(workspace)


def test_a_target_with_one_class_is_refused(workspace, cli, tmp_path, cleveland):
    one = cleveland.assign(target=1)
    path = tmp_path / "one.csv"
    one.to_csv(path, index=False)
    ran = cli("train", "--config", write_config(tmp_path, data=str(path)))
    assert ran.exit_code == 2 and "1 class(es)" in ran.stderr
    _nothing_stored(workspace)


def test_config_is_plain_yaml_and_examples_load():
    from modelward.training import load_config
    from tabular.helpers import CONFIGS

    for path in sorted(CONFIGS.glob("*.yml")):
        config = load_config(path)
        assert yaml.safe_load(path.read_text())["name"] == config.name
        assert config.data_ref().endswith("heart.yml#cleveland")


def test_features_the_pipeline_imputes_may_be_missing_in_requests(trained, cleveland):
    """Cleveland has no missing `slope`, but the pipeline imputes it: the schema says so."""
    schema = trained.version.input_schema["columns"]
    assert not cleveland["slope"].isna().any()
    assert all(column["nullable"] for column in schema)


def test_accepts_missing_naming_an_unknown_column_is_refused(workspace, cleveland):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    from conftest import FEATURES
    from modelward.errors import ConfigError

    complete = cleveland.dropna()  # no imputer: the model raises on a null, so none is learned
    strict = make_pipeline(StandardScaler(), LogisticRegression())
    strict.fit(complete[FEATURES], complete["target"])
    with pytest.raises(ConfigError, match="accepts_missing names column.*nope"):
        workspace.register(
            "heart", strict, data=complete, target="target", accepts_missing=["nope"]
        )
    assert workspace.registry.list_models() == []
    info = workspace.register(
        "heart", strict, data=complete, target="target", accepts_missing=["slope"]
    )
    nullable = {c["name"]: c["nullable"] for c in info.input_schema["columns"]}
    assert nullable["slope"] and not nullable["age"]


def test_a_wrong_target_in_the_config_says_to_fix_the_config(workspace, cli, tmp_path):
    # train has no --target flag: the hint must point at the config's `target:` key
    ran = cli("train", "--config", write_config(tmp_path, target="diagnosis"))
    assert ran.exit_code == 2
    assert "--target" not in ran.stderr
    assert "target:" in ran.stderr
    _nothing_stored(workspace)
