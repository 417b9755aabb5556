"""Secrets are masked in everything that leaves the process: one function, many exits."""

from __future__ import annotations

import pytest
import yaml

from modelward.redact import redact, remember

pytestmark = pytest.mark.sqlite_only

SECRET = "S3cretPw-value-x9"


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("postgresql://u:pw123456@h/db", "postgresql://u:***@h/db"),
        ("postgresql://u@h/db?password=pw123456", "postgresql://u@h/db?password=***"),
        (
            "postgresql://h/db?sslmode=require&password=a&x=1",
            "postgresql://h/db?sslmode=require&password=***&x=1",
        ),
        ("https://h/v1?api_key=abc&alt=json", "https://h/v1?api_key=***&alt=json"),
        ("https://h/x?client_secret=abc#top", "https://h/x?client_secret=***#top"),
        (
            "Incorrect API key provided: Bearer sk-abc123def456",
            "Incorrect API key provided: Bearer ***",
        ),
        ("got sk-ant-api03-abcdefgh1234 here", "got sk-ant-*** here"),
        ("key sk-proj-abcdefgh1234 was wrong", "key sk-*** was wrong"),
        ("token hf_abcdefghijklmnop is invalid", "token hf_*** is invalid"),
        ("x-api-key: abc123def", "x-api-key: ***"),
        ('{"api_key": "abc123def"}', '{"api_key": "***"}'),
        ("send mw_abcdefghijklmnopqrstuvwxyz0", "send mw_***"),
        ("scikit-learn's sk-learn, a risk-score", "scikit-learn's sk-learn, a risk-score"),
    ],
)
def test_what_redact_masks(text, masked):
    assert redact(text) == masked


def test_remembered_values_are_masked_whatever_their_shape():
    remember("correct-Horse-battery-staple")
    remember("abc")  # too short to mask without garbling text: ignored
    assert redact("the key correct-Horse-battery-staple failed") == "the key *** failed"
    assert redact("abc stays") == "abc stays"


def test_the_db_password_stays_out_of_workspace_yml_and_output(pg_url, tmp_path, cli, monkeypatch):
    from modelward import Workspace

    url = f"{pg_url}?password={SECRET}"
    monkeypatch.setenv("MODELWARD_DB_URL", url)
    ran = cli("init", tmp_path / "ws")
    assert ran.exit_code == 0, ran.stderr
    assert SECRET not in ran.stdout
    meta = (tmp_path / "ws" / "workspace.yml").read_text(encoding="utf-8")
    assert SECRET not in meta and "password=***" in meta
    with Workspace.open(tmp_path / "ws") as ws:  # opens with the URL from the environment
        assert ws.registry.list_models() == []
    monkeypatch.delenv("MODELWARD_DB_URL")
    refused = cli("--workspace", tmp_path / "ws", "models", "list")
    assert refused.exit_code == 2 and "set MODELWARD_DB_URL" in refused.stderr
    assert SECRET not in refused.stderr


def test_a_workspace_yml_written_before_masking_is_masked_on_open(pg_url, tmp_path, monkeypatch):
    from modelward import Workspace

    url = f"{pg_url}?password={SECRET}"
    Workspace.init(tmp_path / "ws", db_url=url).close()
    path = tmp_path / "ws" / "workspace.yml"
    path.write_text(yaml.safe_dump({"format": 1, "metadata": url}), encoding="utf-8")
    Workspace.open(tmp_path / "ws", db_url=url).close()
    assert SECRET not in path.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    "url",
    [
        f"postgresql+psycopg://postgres@127.0.0.1:1/nodb?password={SECRET}",
        f"postgresql+psycopg://postgres:{SECRET}@127.0.0.1:1/nodb",
        f"postgresql+psycopg://postgres@127.0.0.1:1/nodb?sslpassword={SECRET}&connect_timeout=2",
    ],
)
def test_a_database_error_never_prints_the_password(tmp_path, cli, monkeypatch, url):
    monkeypatch.setenv("MODELWARD_DB_URL", url)
    ran = cli("init", tmp_path / "ws")
    # an unreachable database is a failure of something we depend on: exit 3, one line
    assert ran.exit_code == 3 and ran.stderr.count("\n") == 1
    assert "127.0.0.1:1/nodb" in ran.stderr and SECRET not in ran.stderr
