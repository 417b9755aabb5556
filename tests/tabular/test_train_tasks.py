"""``train`` by task: multiclass and regression from a config on the penguins data, with the
CV split and metrics of the task, and one-line errors for what does not fit."""

from __future__ import annotations

import numpy as np
import pytest
import yaml
from sklearn import metrics as skm
from sklearn.model_selection import KFold, StratifiedKFold, cross_val_score

from tabular.tasks import BREAST, PENGUINS

pytestmark = pytest.mark.sqlite_only

NUMERIC = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]


def _config(tmp_path, name: str, **changes) -> object:
    raw = {
        "name": name,
        "data": str(PENGUINS),
        "target": "species",
        "features": {"numeric": NUMERIC, "categorical": ["island", "sex"]},
        "estimator": {
            "class": "sklearn.linear_model.LogisticRegression",
            "params": {"max_iter": 2000},
        },
        "cv": {"folds": 4},
        "seed": 7,
    }
    raw.update(changes)
    path = tmp_path / f"{name}.yml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False), encoding="utf-8")
    return path


def _split(result, target):
    held = result.held_out
    return held.drop(columns=target), held[target]


def test_multiclass_from_a_config(workspace, cli, tmp_path):
    ran = cli("train", "--config", _config(tmp_path, "species"), "--json")
    assert ran.exit_code == 0, ran.stderr
    assert "Traceback" not in ran.stderr and "Warning" not in ran.stderr
    assert workspace.registry.get_model("species").task == "multiclass-classification"
    info = workspace.registry.get_version("species", 1)
    cv = info.metrics["cv"]
    assert cv["metric"] == "f1_macro"
    assert set(cv) - {"folds", "metric"} == {
        "accuracy",
        "balanced_accuracy",
        "f1_macro",
        "precision_macro",
        "recall_macro",
        "log_loss",
        "roc_auc_ovr",
    }
    assert all(np.isfinite(v["mean"]) for k, v in cv.items() if isinstance(v, dict))
    # the same stratified folds scikit-learn makes, on the same training split
    from modelward.training import load_config, train_model
    from modelward.training.pipeline import build_pipeline

    config = load_config(_config(tmp_path, "species-again"))
    result = train_model(workspace, config)
    pipeline = workspace.load_model("species-again", 1).model
    x, y = _split(result, "species")
    pred, proba = pipeline.predict(x), pipeline.predict_proba(x)
    test = result.metrics["test"]
    assert test["accuracy"] == pytest.approx(skm.accuracy_score(y, pred))
    assert test["f1_macro"] == pytest.approx(skm.f1_score(y, pred, average="macro"))
    assert test["log_loss"] == pytest.approx(skm.log_loss(y, proba, labels=pipeline.classes_))
    import pandas as pd

    data = pd.read_csv(PENGUINS).dropna(subset=["species"])
    train_rows = data.drop(index=data.index[0:0])  # all labelled rows
    from sklearn.model_selection import train_test_split

    x_all, y_all = train_rows[[*NUMERIC, "island", "sex"]], train_rows["species"]
    x_tr, _, y_tr, _ = train_test_split(
        x_all.reset_index(drop=True),
        y_all.reset_index(drop=True),
        test_size=0.2,
        stratify=y_all.reset_index(drop=True),
        random_state=7,
    )
    expected = cross_val_score(
        build_pipeline(config),
        x_tr,
        y_tr,
        cv=StratifiedKFold(4, shuffle=True, random_state=7),
        scoring="f1_macro",
    )
    assert result.metrics["cv"]["f1_macro"]["mean"] == pytest.approx(expected.mean())


def test_regression_from_a_config(workspace, cli, tmp_path):
    path = _config(
        tmp_path,
        "mass",
        target="body_mass_g",
        estimator={"class": "sklearn.linear_model.Ridge", "params": {"alpha": 1.0}},
        task="regression",
    )
    ran = cli("train", "--config", path)
    assert ran.exit_code == 0, ran.stderr
    assert "regression" in ran.stdout and "mae" in ran.stdout
    assert workspace.registry.get_model("mass").task == "regression"
    info = workspace.registry.get_version("mass", 1)
    assert info.params["split.stratify"] is False
    cv = info.metrics["cv"]
    assert cv["metric"] == "r2"
    assert set(cv) - {"folds", "metric"} == {"r2", "mae", "rmse", "median_absolute_error"}

    from modelward.training import load_config, train_model
    from modelward.training.pipeline import build_pipeline

    config = load_config(path)
    result = train_model(workspace, config)
    pipeline = workspace.load_model("mass", 2).model
    x, y = _split(result, "body_mass_g")
    pred = pipeline.predict(x)
    test = result.metrics["test"]
    assert test["mae"] == pytest.approx(skm.mean_absolute_error(y, pred))
    assert test["r2"] == pytest.approx(skm.r2_score(y, pred))
    assert test["rmse"] == pytest.approx(skm.root_mean_squared_error(y, pred))
    # CV: plain shuffled folds (no stratification on a continuous target)
    import pandas as pd
    from sklearn.model_selection import train_test_split

    data = pd.read_csv(PENGUINS).dropna(subset=["body_mass_g"]).reset_index(drop=True)
    x_tr, _, y_tr, _ = train_test_split(
        data[[*NUMERIC, "island", "sex"]], data["body_mass_g"], test_size=0.2, random_state=7
    )
    expected = cross_val_score(
        build_pipeline(config),
        x_tr,
        y_tr,
        cv=KFold(4, shuffle=True, random_state=7),
        scoring="neg_mean_absolute_error",
    )
    assert result.metrics["cv"]["mae"]["mean"] == pytest.approx(-expected.mean())


def test_inferred_regression_and_tuning_by_task(local_ws_tasks, tmp_path):
    from modelward.training import load_config, train_model

    path = _config(
        tmp_path,
        "mass-tuned",
        target="body_mass_g",
        estimator={"class": "sklearn.linear_model.Ridge"},
        tune={"metric": "mae", "space": {"alpha": {"type": "float", "low": 0.01, "high": 10}}},
    )
    result = train_model(local_ws_tasks, load_config(path), tune=2)
    assert result.task == "regression"
    assert result.tuning["metric"] == "mae"
    assert result.tuning["scorer"] == "neg_mean_absolute_error"
    assert result.tuning["best_value"] < 0  # scikit-learn's negated error


@pytest.fixture
def local_ws_tasks(tmp_path):
    from modelward import Workspace

    with Workspace.init(tmp_path / "local") as ws:
        yield ws


def test_binary_string_labels_record_the_positive_class(workspace, cli, tmp_path):
    import pandas as pd

    columns = [c for c in pd.read_csv(BREAST, nrows=1).columns if c != "diagnosis"][:10]
    path = _config(
        tmp_path,
        "breast",
        data=str(BREAST),
        target="diagnosis",
        features={"numeric": columns},
        positive_class="malignant",
    )
    ran = cli("train", "--config", path, "--json")
    assert ran.exit_code == 0, ran.stderr
    info = workspace.registry.get_version("breast", 1)
    assert info.tags["positive_class"] == "malignant"
    assert workspace.registry.get_model("breast").task == "binary-classification"
    assert all(np.isfinite(v["mean"]) for v in info.metrics["cv"].values() if isinstance(v, dict))
    # evaluate uses the recorded positive class
    from modelward.training import load_config, train_model

    result = train_model(workspace, load_config(path))
    pipeline = workspace.load_model("breast", 2).model
    x, y = _split(result, "diagnosis")
    assert result.metrics["test"]["recall"] == pytest.approx(
        skm.recall_score(y, pipeline.predict(x), pos_label="malignant")
    )


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"task": "regression"}, "is a classifier"),
        ({"task": "binary"}, "has 3 classes; use task: multiclass"),
        ({"cv": {"folds": 4, "metric": "roc_auc"}}, "'roc_auc' is not a multiclass"),
        ({"positive_class": "Adelie"}, "is for binary classifiers"),
        ({"task": "ordinal"}, "task"),
    ],
)
def test_task_mistakes_are_one_line_errors(workspace, cli, tmp_path, changes, message):
    ran = cli("train", "--config", _config(tmp_path, "species", **changes))
    assert ran.exit_code == 2, ran.stdout
    assert message in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert workspace.registry.list_models() == []


def test_a_failing_scorer_is_one_line_naming_the_metric(workspace, cli, tmp_path, monkeypatch):
    from modelward.training import tasks

    # a binary-only scorer behind a multiclass metric: what used to print tracebacks
    table = dict(tasks.CV_SCORERS[tasks.MULTICLASS], roc_auc_ovr="roc_auc")
    monkeypatch.setitem(tasks.CV_SCORERS, tasks.MULTICLASS, table)
    ran = cli("train", "--config", _config(tmp_path, "species"))
    assert ran.exit_code == 2
    assert "the cross-validation metric roc_auc_ovr (roc_auc) failed" in ran.stderr
    assert "Traceback" not in ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
