"""The model `modelward train` makes from the shipped heart config serves on the ONNX path:
its graph is proved equal to the pipeline on probe rows drawn as requests send them (whole
numbers where training had only whole numbers, such as the one-hot encoded codes)."""

from __future__ import annotations

import numpy as np
import pytest

from conftest import FEATURES, HEART_SPEC

pytestmark = pytest.mark.sqlite_only


def test_the_train_made_heart_pipeline_serves_through_onnx(workspace, cli, cleveland):
    from modelward.serving.models import load_model

    ran = cli("train", "--config", HEART_SPEC.parent / "configs" / "logreg.yml")
    assert ran.exit_code == 0, ran.stderr
    loaded = load_model(workspace, "heart-disease", 1)
    assert loaded.path == "onnx"
    rows = cleveland[FEATURES].head(50)
    ordered = rows[loaded.validator.names].to_numpy().tolist()  # the schema's order
    values = [[None if v != v else float(v) for v in row] for row in ordered]
    served = loaded.predict(values)
    pipeline = workspace.load_model("heart-disease", 1)
    assert served.labels == pipeline.predict(rows).tolist()
    proba = np.asarray(pipeline.predict_proba(rows))[:, 1]
    assert served.scores == pytest.approx(proba.tolist(), abs=1e-4)
