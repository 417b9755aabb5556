"""`modelward serve` needs no web framework: with FastAPI and Starlette not importable, the
server starts, predicts, answers the gateway, and serves its docs."""

from __future__ import annotations

import os
import subprocess
import sys

import httpx
import pytest

from conftest import FEATURES, ROOT
from llm.helpers import deploy_heart
from modelward.llm.routing import save_routes
from serving.conftest import start_server  # noqa: F401 - the fixture

pytestmark = pytest.mark.sqlite_only

REFUSE = """
import sys


class _NotInstalled:
    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in ("fastapi", "starlette"):
            raise ModuleNotFoundError(f"No module named {name!r} (refused by the test)")
        return None


sys.meta_path.insert(0, _NotInstalled())
"""


def test_serve_runs_without_fastapi_or_starlette(fleet, cleveland, fitted, start_server, tmp_path):  # noqa: F811
    deploy_heart(fleet, cleveland, fitted)
    save_routes(fleet, {"factual": {"models": ["good"]}}, reason="test")
    site = tmp_path / "site"
    site.mkdir()
    (site / "sitecustomize.py").write_text(REFUSE, encoding="utf-8")
    path = {"PYTHONPATH": f"{site}:{ROOT / 'src'}"}
    refused = subprocess.run(
        [sys.executable, "-c", "import starlette"], env={**os.environ, **path}, capture_output=True
    )
    assert b"refused by the test" in refused.stderr  # the harness works
    server = start_server(env=path)
    row = cleveland[FEATURES].fillna(0).iloc[0].to_dict()
    chat = {"model": "route:factual", "messages": [{"role": "user", "content": "Hi"}]}
    with httpx.Client(base_url=server.url, timeout=30) as http:
        predicted = http.post("/v1/models/heart/predict", json={"inputs": row})
        answered = http.post("/v1/chat/completions", json=chat)
        docs = http.get("/docs")
        bundle = http.get("/docs/static/swagger-ui-bundle.js")
    server.stop()
    assert predicted.status_code == 200, predicted.text
    assert answered.status_code == 200, answered.text
    assert docs.status_code == 200 and bundle.status_code == 200
    assert "refused by the test" not in server.output()
