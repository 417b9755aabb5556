"""A corrupt artifact is caught by name: deploy refuses it, ``versions show`` says so, and
the server never loads a cached ONNX graph that does not match its checksum."""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import pytest

from conftest import FEATURES

pytestmark = pytest.mark.sqlite_only


def _artifact(ws, version: int) -> Path:
    sha = ws.registry.get_version("heart", version).sha256
    return Path(ws.artifacts_url) / "sha256" / sha[:2] / sha


def _flip_one_byte(path: Path) -> None:
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x01
    path.write_bytes(bytes(data))


def _state(ws) -> tuple:
    versions = [(v.version, v.stage) for v in ws.registry.list_versions("heart")]
    deployments = [(d.environment, d.revision, d.weights()) for d in ws.deployments.list()]
    return versions, deployments, len(ws.registry.history("heart"))


@pytest.mark.parametrize(
    "command",
    [
        ("deploy", "heart", "--version", "1", "--env", "staging"),  # already in staging
        ("deploy", "heart", "--version", "2", "--env", "production"),  # through the gates
        ("deployments", "set", "heart", "--env", "staging", "--target", "1=90", "--target", "2=10"),
    ],
)
def test_deploying_a_corrupt_artifact_is_refused_naming_the_file(heart_ws, cli, command):
    heart_ws.transition("heart", 1, "staging", reason="test")
    heart_ws.transition("heart", 2, "staging", reason="test")
    heart_ws.deployments.deploy("heart", 1, "staging", reason="before")
    broken = 1 if command[0] == "deploy" and command[3] == "1" else 2
    path = _artifact(heart_ws, broken)
    expected = path.name
    _flip_one_byte(path)
    actual = hashlib.sha256(path.read_bytes()).hexdigest()
    before = _state(heart_ws)
    ran = cli(*command)
    assert ran.exit_code == 3, ran.stdout  # storage failed, not the input
    assert ran.stderr.count("\n") == 1
    assert f"heart:{broken}" in ran.stderr and str(path) in ran.stderr
    assert expected[:12] in ran.stderr and actual[:12] in ran.stderr
    assert _state(heart_ws) == before


def test_rollback_to_a_corrupt_artifact_is_refused(heart_ws):
    from modelward import ArtifactDamaged

    deps = heart_ws.deployments
    deps.deploy("heart", 1, "production", reason="first")
    deps.deploy("heart", 2, "production", reason="second")
    _flip_one_byte(_artifact(heart_ws, 1))
    before = _state(heart_ws)
    with pytest.raises(ArtifactDamaged, match="heart:1: artifact .* is corrupted"):
        deps.rollback("heart", "production", reason="v2 misbehaves")
    assert _state(heart_ws) == before


def test_versions_show_says_whether_the_artifact_is_intact(heart_ws, cli):
    assert cli("versions", "show", "heart", "1", "--json").json["integrity"]["status"] == "ok"
    assert "integrity ok" in cli("versions", "show", "heart", "1").stdout
    path = _artifact(heart_ws, 1)
    _flip_one_byte(path)
    shown = cli("versions", "show", "heart", "1", "--json")
    assert shown.exit_code == 0
    integrity = shown.json["integrity"]
    assert integrity["status"] == "corrupt" and str(path) in integrity["detail"]
    text = cli("versions", "show", "heart", "1").stdout
    assert "integrity corrupt" in text and path.name[:12] in text
    path.unlink()
    assert cli("versions", "show", "heart", "1", "--json").json["integrity"]["status"] == "missing"


def _tampered(onnx_path: Path) -> bytes:
    """The cached graph with one weight changed: still a valid ONNX model that loads."""
    import onnx

    model = onnx.load_from_string(onnx_path.read_bytes())
    for node in model.graph.node:
        for attribute in node.attribute:
            if node.op_type == "LinearClassifier" and attribute.name == "intercepts":
                attribute.floats[0] += 1000.0  # every row now gets the same label
                return model.SerializeToString()
    raise AssertionError("no LinearClassifier in the graph")


def test_a_cached_onnx_graph_that_fails_its_checksum_is_rebuilt_not_loaded(
    heart_ws, cleveland, caplog
):
    from modelward.flavors.convert import feeds_from_frame
    from modelward.serving.models import load_model

    heart_ws.deployments.deploy("heart", 1, "production", reason="proves the conversion")
    sha = heart_ws.registry.get_version("heart", 1).sha256
    cached = Path(heart_ws.root) / "cache" / "onnx" / f"{sha}.onnx"
    assert cached.exists()
    good = cached.read_bytes()
    bad = _tampered(cached)
    cached.write_bytes(bad)
    with caplog.at_level(logging.WARNING, logger="modelward.serving"):
        loaded = load_model(heart_ws, "heart", 1)
    assert loaded.path == "onnx"
    assert f"discarding the ONNX cache {cached}" in caplog.text
    assert cached.read_bytes() != bad and cached.read_bytes() == good
    pipeline = heart_ws.load_model("heart", 1)
    frame = cleveland[FEATURES].fillna(0).iloc[:20].astype(float)
    feeds = feeds_from_frame(loaded.session.get_inputs(), frame)  # one input per column
    labels = loaded.session.run(None, feeds)[0].ravel()
    np.testing.assert_array_equal(labels, pipeline.predict(frame))
