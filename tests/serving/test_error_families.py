"""The two error families at the edges (issue 14): a failure of something we depend on is
its own exit code (3), and the server keeps a 5xx's cause in its log, never in the answer."""

from __future__ import annotations

import json

import httpx
import pytest

from conftest import FEATURES

pytestmark = pytest.mark.sqlite_only


def test_a_storage_failure_exits_3_in_one_line(tmp_path, cli):
    """A metadata DB file that is not a database is storage failing, not the user's input."""
    from modelward.workspace import Workspace

    Workspace.init(tmp_path / "ws").close()
    (tmp_path / "ws" / "modelward.db").write_bytes(b"this is not a database" * 100)
    result = cli("--workspace", tmp_path / "ws", "models", "list")
    assert result.exit_code == 3, result.stderr
    assert result.stderr.count("\n") == 1 and "metadata DB" in result.stderr
    assert "Traceback" not in result.stderr


def test_an_unreachable_database_exits_3_and_debug_shows_the_cause(tmp_path, cli, monkeypatch):
    from modelward.workspace import Workspace

    Workspace.init(tmp_path / "ws").close()
    url = "postgresql+psycopg://postgres@127.0.0.1:9/none?connect_timeout=2"
    monkeypatch.setenv("MODELWARD_DB_URL", url)
    plain = cli("--workspace", tmp_path / "ws", "models", "list")
    assert plain.exit_code == 3 and plain.stderr.count("\n") == 1, plain.stderr
    debug = cli("--workspace", tmp_path / "ws", "--debug", "models", "list")
    assert debug.exit_code == 3
    # the chained cause: SQLAlchemy's error, then ours raised from it
    assert "OperationalError" in debug.stderr and "StorageError" in debug.stderr


def _failing_version(ws, cleveland) -> int:
    """A pipeline with no imputer whose ``ca`` is declared nullable (``--nullable ca``,
    which register trusts): its schema accepts a null, on which the model itself raises."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import StandardScaler

    complete = cleveland.dropna(subset=FEATURES)
    model = Pipeline([("scale", StandardScaler()), ("model", LogisticRegression(max_iter=1000))])
    model.fit(complete[FEATURES], complete["target"])
    data = cleveland[[*FEATURES, "target"]]
    version = ws.register(
        "heart", model, data=data, target="target", accepts_missing=["ca"]
    ).version
    ws.transition("heart", version, "testing", reason="test")
    ws.deployments.deploy("heart", version, "staging", reason="test", force=True)
    return version


def test_the_server_logs_a_5xx_cause_and_answers_one_line(workspace, cleveland, start_server):
    _failing_version(workspace, cleveland)
    server = start_server("--env", "staging")
    row = {**cleveland[FEATURES].fillna(0).iloc[0].to_dict(), "ca": None}
    reply = httpx.post(f"{server.url}/v1/models/heart/predict", json={"inputs": row}, timeout=30)
    assert reply.status_code == 500
    error = reply.json()["error"]
    assert error["code"] == "model_failed" and "\n" not in error["message"]
    assert "Traceback" not in reply.text
    server.stop()
    lines = [json.loads(x) for x in server.output().splitlines() if x.startswith("{")]
    logged = [x for x in lines if x.get("exception") and "failed on these inputs" in x["message"]]
    assert logged, server.output()
    # the model's own error, chained under ours
    assert "ValueError" in logged[0]["exception"] and "ModelFailed" in logged[0]["exception"]
