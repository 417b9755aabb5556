"""Model flavors: canonical skops bytes, trusted loading, ONNX."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import FEATURES, make_pipeline
from modelward import ArtifactError
from modelward.flavors import OnnxFlavor, SklearnFlavor, flavor_for_file, get_flavor


@pytest.mark.parametrize("kind", ["logreg", "forest"])
def test_saving_the_same_model_twice_gives_the_same_bytes(cleveland, kind):
    model = make_pipeline(kind).fit(cleveland[FEATURES], cleveland.target)
    first, second = SklearnFlavor.save(model), SklearnFlavor.save(model)
    assert first == second
    again = make_pipeline(kind).fit(cleveland[FEATURES], cleveland.target)
    assert SklearnFlavor.save(again) == first  # seeded training reproduces the checksum
    loaded = SklearnFlavor.load(first)
    np.testing.assert_array_equal(
        loaded.predict_proba(cleveland[FEATURES]), model.predict_proba(cleveland[FEATURES])
    )
    assert loaded.input_names == FEATURES
    assert loaded.classes == [0, 1]


def test_save_refuses_objects_without_predict():
    with pytest.raises(ArtifactError, match="has no predict"):
        SklearnFlavor.save(object())


def test_garbage_is_not_a_skops_archive():
    with pytest.raises(ArtifactError, match="not a readable skops archive"):
        SklearnFlavor.load(b"PK\x03\x04 definitely not a zip")


def test_garbage_is_not_an_onnx_model():
    with pytest.raises(ArtifactError, match="not a loadable ONNX model"):
        OnnxFlavor.load(b"\x08\x07garbage")


@pytest.mark.parametrize(
    ("suffix", "message"),
    [(".pkl", "pickle file"), (".joblib", "pickle file"), (".h5", "unknown model format")],
)
def test_file_suffixes_pick_a_flavor_or_explain(tmp_path, suffix, message):
    with pytest.raises(ArtifactError, match=message):
        flavor_for_file(tmp_path / f"model{suffix}")
    assert flavor_for_file(tmp_path / "m.skops") is SklearnFlavor
    assert flavor_for_file(tmp_path / "m.onnx") is OnnxFlavor
    with pytest.raises(ArtifactError, match="known flavors: onnx, sklearn"):
        get_flavor("torch")
