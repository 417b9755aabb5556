"""Which path each deployed version serves on, and why not ONNX when it is not: in
``modelward deployments show`` (text and --json) and in ``GET /v1/models/NAME``."""

from __future__ import annotations

import shutil

import pytest

from serving.conftest import start_live, stop_live

pytestmark = pytest.mark.sqlite_only

DIFFERS = "the ONNX graph's outputs differ from the pipeline's"


def _canary(heart_ws) -> None:
    """v1 (logistic regression: converts) 75 %, v2 (the forest, whose graph's
    probabilities are not within 1e-4 of the pipeline's) 25 % in production."""
    heart_ws.deployments.deploy("heart", 1, "production", reason="first")
    heart_ws.transition("heart", 2, "staging", reason="canary")
    heart_ws.deployments.set_targets("heart", "production", [(1, 75), (2, 25)])


def test_deployments_show_says_each_versions_path_and_why(heart_ws, cli):
    _canary(heart_ws)
    shown = cli("deployments", "show", "heart", "--json")
    assert shown.exit_code == 0, shown.stderr
    paths = {p["version"]: p for p in shown.json["serving"]}
    assert paths[1] == {"version": 1, "path": "onnx", "reason": None}
    assert paths[2]["path"] == "sklearn"
    assert DIFFERS in paths[2]["reason"]
    text = cli("deployments", "show", "heart").stdout
    assert "v1 serves on: onnx\n" in text
    assert f"v2 serves on: sklearn ({DIFFERS}" in text


def test_without_a_proven_conversion_the_path_is_unproven_until_a_server_starts(heart_ws, cli):
    _canary(heart_ws)
    shutil.rmtree(heart_ws.layout.onnx_cache)  # as the docs say, to prove them again
    paths = {p["version"]: p for p in cli("deployments", "show", "heart", "--json").json["serving"]}
    assert paths[1]["path"] == paths[2]["path"] == "unproven"
    live = start_live(heart_ws)  # the start proves them again
    stop_live(live)
    paths = {p["version"]: p for p in cli("deployments", "show", "heart", "--json").json["serving"]}
    assert paths[1]["path"] == "onnx" and paths[2]["path"] == "sklearn"


def test_the_model_endpoint_says_each_versions_path_and_why(heart_ws):
    _canary(heart_ws)
    live = start_live(heart_ws)
    try:
        with live.client() as http:
            reply = http.get("/v1/models/heart")
    finally:
        stop_live(live)
    assert reply.status_code == 200, reply.text
    (deployment,) = reply.json()["deployments"]
    versions = deployment["versions"]
    assert versions["1"]["path"] == "onnx" and versions["1"]["path_reason"] is None
    assert versions["2"]["path"] == "sklearn"
    assert DIFFERS in versions["2"]["path_reason"]
