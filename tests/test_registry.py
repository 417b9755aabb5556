"""The registry through the Python API, on SQLite and (when a server answers) PostgreSQL."""

from __future__ import annotations

import subprocess
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest

from conftest import FEATURES
from modelward import (
    AlreadyExists,
    ArtifactDamaged,
    ArtifactError,
    DataError,
    InvalidName,
    NotFound,
    Stage,
    TransitionError,
)


def _register(workspace, fitted, cleveland, name="heart", **kw):
    return workspace.register(
        name, fitted, data=cleveland[[*FEATURES, "target"]], target="target", **kw
    )


def test_register_records_an_immutable_version_with_schema_and_profile(
    workspace, fitted, cleveland
):
    info = _register(workspace, fitted, cleveland, tags={"team": "cardio"})
    assert (info.model, info.version, info.stage) == ("heart", 1, "development")
    assert info.kind == "artifact" and info.flavor == "sklearn"
    assert len(info.sha256) == 64 and info.size > 0
    columns = {c["name"]: c for c in info.input_schema["columns"]}
    assert list(columns) == FEATURES
    assert (
        columns["age"]["min"] == cleveland.age.min()
        and columns["age"]["max"] == cleveland.age.max()
    )
    # the pipeline imputes every input: register tried a null in each, and each is accepted
    assert columns["ca"]["nullable"] is True and columns["age"]["nullable"] is True
    assert not cleveland["age"].isna().any()
    assert info.tags == {"team": "cardio"}
    assert info.params["model__max_iter"] == 1000
    assert info.data_fingerprint and info.has_reference_profile
    profile = workspace.registry.reference_profile("heart", 1)
    assert profile["rows"] == len(cleveland)
    assert profile["columns"]["chol"]["mean"] == pytest.approx(cleveland.chol.mean())
    assert profile["target_counts"] == {
        str(k): int(v) for k, v in cleveland.target.value_counts().sort_index().items()
    }
    assert workspace.registry.get_model("heart").task == "binary-classification"


def test_versions_number_up_and_identical_artifacts_are_stored_once(workspace, fitted, cleveland):
    first = _register(workspace, fitted, cleveland)
    second = _register(workspace, fitted, cleveland)
    assert (first.version, second.version) == (1, 2)
    assert first.sha256 == second.sha256
    assert list(workspace.artifacts.iter()) == [first.sha256]
    assert [v.version for v in workspace.registry.list_versions("heart")] == [1, 2]


def test_a_loaded_version_predicts_like_the_original(workspace, fitted, cleveland):
    _register(workspace, fitted, cleveland)
    loaded = workspace.load_model("heart", 1)
    X = cleveland[FEATURES]
    assert (loaded.predict(X) == fitted.predict(X)).all()
    np.testing.assert_allclose(loaded.predict_proba(X), fitted.predict_proba(X))
    assert loaded.describe()["steps"] == ["impute", "scale", "model"]


def test_the_source_records_the_git_commit_when_there_is_one(
    workspace, fitted, cleveland, tmp_path
):
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True)
    subprocess.run(
        ["git", "-C", str(tmp_path), "-c", "user.email=t@t", "-c", "user.name=t",
         "commit", "-q", "--allow-empty", "-m", "x"],
        check=True,
    )  # fmt: skip
    head = subprocess.run(
        ["git", "-C", str(tmp_path), "rev-parse", "HEAD"], capture_output=True, text=True
    ).stdout.strip()
    info = _register(workspace, fitted, cleveland)  # the fixture's cwd is tmp_path
    assert info.source["git_commit"] == head


@pytest.mark.parametrize("name", ["Heart", "heart disease", "-heart", "", "x" * 129, "héart"])
def test_invalid_model_names_are_refused(workspace, fitted, cleveland, name):
    with pytest.raises(InvalidName, match="lowercase letters"):
        _register(workspace, fitted, cleveland, name=name)
    assert workspace.registry.list_models() == []


def test_unknown_models_and_versions_say_what_exists(workspace, fitted, cleveland):
    with pytest.raises(NotFound, match="the registry is empty"):
        workspace.registry.get_model("heart")
    _register(workspace, fitted, cleveland)
    with pytest.raises(NotFound, match=r"known models: heart"):
        workspace.registry.get_model("hart")
    with pytest.raises(NotFound, match=r"no version '7' \(versions 1-1\)"):
        workspace.registry.get_version("heart", 7)
    with pytest.raises(NotFound, match="no version 'champion'"):
        workspace.registry.get_version("heart", "champion")


def test_data_without_the_target_column_registers_nothing(workspace, fitted, cleveland):
    with pytest.raises(DataError, match="no target column 'label'"):
        workspace.register("heart", fitted, data=cleveland, target="label")
    assert workspace.registry.list_models() == []


def test_data_without_the_model_inputs_registers_nothing(workspace, fitted, cleveland):
    with pytest.raises(DataError, match="lacks the model's input column"):
        workspace.register("heart", fitted, data=cleveland.drop(columns="chol"), target="target")
    assert workspace.registry.list_models() == []


def test_the_lifecycle_moves_are_recorded_with_gates(workspace, fitted, cleveland):
    _register(workspace, fitted, cleveland)
    event = workspace.transition("heart", 1, "testing", reason="ready for tests")
    assert (event.from_stage, event.to_stage, event.actor) == ("development", "testing", "tester")
    assert event.details["gates"][0]["name"] == "artifact-integrity"
    assert event.details["gates"][0]["passed"] is True
    history = workspace.registry.history("heart")
    assert [e.kind for e in history] == ["model-created", "registered", "transition"]
    assert history[-1].reason == "ready for tests"


def test_forbidden_moves_say_what_is_allowed(workspace, fitted, cleveland):
    _register(workspace, fitted, cleveland)
    with pytest.raises(TransitionError, match="may move to retired, testing"):
        workspace.transition("heart", 1, "production", reason="skip ahead")
    with pytest.raises(TransitionError, match="needs a reason"):
        workspace.transition("heart", 1, "testing", reason=" ")
    with pytest.raises(TransitionError, match="unknown stage 'prod'"):
        workspace.transition("heart", 1, "prod", reason="x")
    workspace.transition("heart", 1, "retired", reason="bad idea")
    with pytest.raises(TransitionError, match="retired is final"):
        workspace.transition("heart", 1, "development", reason="undo")
    assert workspace.registry.get_version("heart", 1).stage == "retired"


def test_staging_needs_a_passing_validation_unless_forced(workspace, fitted, cleveland):
    _register(workspace, fitted, cleveland)
    workspace.transition("heart", 1, "testing", reason="t")
    with pytest.raises(TransitionError, match="gate validation failed"):
        workspace.transition("heart", 1, "staging", reason="no validation yet")
    assert workspace.registry.get_version("heart", 1).stage == "testing"
    event = workspace.transition("heart", 1, "staging", reason="hotfix", force=True)
    assert event.details["forced"] is True
    workspace.registry.record_run(
        "validation", model="heart", version=1, inputs={}, results={}, verdict="pass"
    )
    event = workspace.transition("heart", 1, "production", reason="validated")
    assert event.details["forced"] is False
    assert all(g["passed"] for g in event.details["gates"])


def test_at_most_one_version_in_production(workspace, fitted, cleveland):
    for _ in range(2):
        _register(workspace, fitted, cleveland)
    for version in (1, 2):
        workspace.transition("heart", version, "testing", reason="t")
        workspace.transition("heart", version, "staging", reason="t", force=True)
    workspace.transition("heart", 1, "production", reason="first", force=True)
    with pytest.raises(TransitionError, match="heart:1 is in production"):
        workspace.transition("heart", 2, "production", reason="second", force=True)
    assert workspace.registry.get_model("heart").production_version == 1
    workspace.transition("heart", 2, "production", reason="second", force=True, replace=True)
    stages = {v.version: v.stage for v in workspace.registry.list_versions("heart")}
    assert stages == {1: "maintenance", 2: "production"}
    moved = workspace.registry.history("heart", version=1)[-1]
    assert moved.to_stage == "maintenance" and "replaced in production by version 2" in moved.reason


def test_aliases_move_and_history_answers_which_version_at_time_t(workspace, fitted, cleveland):
    for _ in range(2):
        _register(workspace, fitted, cleveland)
    registry = workspace.registry
    registry.set_alias("heart", "champion", 1)
    t1 = registry.history("heart")[-1].created_at
    registry.set_alias("heart", "champion", 2, reason="better AUC")
    t2 = registry.history("heart")[-1].created_at
    assert registry.get_version("heart", "champion").version == 2
    assert registry.get_model("heart").aliases == {"champion": 2}
    assert registry.alias_at("heart", "champion", t1) == 1
    assert registry.alias_at("heart", "champion", t2) == 2
    assert registry.alias_at("heart", "champion", t1 - timedelta(seconds=1)) is None
    registry.delete_alias("heart", "champion")
    assert registry.alias_at("heart", "champion", t2 + timedelta(days=1)) is None
    assert registry.get_version("heart", 2).aliases == ()
    with pytest.raises(InvalidName):
        registry.set_alias("heart", "latest", 1)
    with pytest.raises(InvalidName):
        registry.set_alias("heart", "7", 1)


def test_a_corrupted_artifact_is_refused_by_name(workspace, fitted, cleveland):
    info = _register(workspace, fitted, cleveland)
    path = Path(workspace.artifacts_url) / "sha256" / info.sha256[:2] / info.sha256
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    with pytest.raises(ArtifactDamaged, match=f"artifact {path} is corrupted"):
        workspace.load_model("heart", 1)
    with pytest.raises(TransitionError, match="artifact-integrity failed"):
        workspace.transition("heart", 1, "testing", reason="t")
    path.unlink()
    with pytest.raises(ArtifactDamaged, match="is missing"):
        workspace.load_model("heart", 1)
    assert workspace.registry.get_version("heart", 1).stage == "development"


def test_an_artifact_holding_an_untrusted_type_is_refused(workspace, cleveland, tmp_path):
    import skops.io as sio
    from sklearn.preprocessing import FunctionTransformer

    from modelward.flavors import SklearnFlavor

    sneaky = FunctionTransformer(func=subprocess.getoutput).fit(cleveland[FEATURES])
    blob = sio.dumps(sneaky)
    with pytest.raises(ArtifactError, match="the function subprocess.getoutput"):
        SklearnFlavor.load(blob)
    path = tmp_path / "sneaky.skops"
    path.write_bytes(blob)
    with pytest.raises(ArtifactError, match=r"refused: it refers to the function subprocess"):
        workspace.register_file("heart", path, data=cleveland[FEATURES])
    assert workspace.registry.list_models() == []


def test_pickle_files_are_refused(workspace, cleveland, tmp_path):
    path = tmp_path / "model.pkl"
    path.write_bytes(b"not even read")
    with pytest.raises(ArtifactError, match="pickle file"):
        workspace.register_file("heart", path, data=cleveland[FEATURES])


def test_onnx_versions_load_and_predict(workspace, fitted, cleveland):
    from skl2onnx import to_onnx

    X = cleveland[FEATURES].astype("float32")
    onx = to_onnx(fitted, X[:1].to_numpy(), options={"zipmap": False}, target_opset=17)
    info = workspace.register("heart", onx, data=cleveland[[*FEATURES, "target"]], target="target")
    assert info.flavor == "onnx"
    loaded = workspace.load_model("heart", info.version)
    agree = (loaded.predict(X) == fitted.predict(cleveland[FEATURES].fillna(0))).mean()
    assert agree > 0.9
    assert loaded.predict_proba(X).shape == (len(X), 2)


def test_the_artifact_store_works_through_fsspec_urls(tmp_path, fitted, cleveland):
    from modelward import Workspace

    Workspace.init(tmp_path / "remote-ws").close()
    ws = Workspace(tmp_path / "remote-ws", artifacts_url=f"memory://mw-{tmp_path.name}/artifacts")
    info = ws.register("heart", fitted, data=cleveland[[*FEATURES, "target"]], target="target")
    assert ws.artifacts.exists(info.sha256)
    assert not (tmp_path / "remote-ws" / "artifacts" / "sha256").exists()
    assert (
        ws.load_model("heart", 1).predict(cleveland[FEATURES])
        == fitted.predict(cleveland[FEATURES])
    ).all()
    ws.close()


def test_creating_a_model_twice_is_refused(workspace):
    workspace.registry.create_model("chat", task="text-generation")
    with pytest.raises(AlreadyExists, match="already exists"):
        workspace.registry.create_model("chat", task="text-generation")


def test_stage_enum_is_the_runbook_lifecycle():
    assert [s.value for s in Stage] == [
        "development", "testing", "staging", "production", "maintenance", "deprecated", "retired",
    ]  # fmt: skip
