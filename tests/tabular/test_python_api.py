"""The preparation runbook from Python does what the commands do: the same functions take
what ``--data`` names (a file or a dataset spec), write the same reports, store the same
runs, and refuse the same mistakes before anything is stored."""

from __future__ import annotations

import hashlib

import pytest

import modelward
from conftest import HEART_SPEC
from modelward.errors import ConfigError
from tabular.helpers import write_config

pytestmark = pytest.mark.sqlite_only

HUNGARIAN = f"{HEART_SPEC}#hungarian"
CASES = HEART_SPEC.parent / "cases.yml"


def _runs(workspace) -> int:
    return len(workspace.registry.list_runs())


def test_evaluate_and_validate_read_a_spec_and_write_their_reports(trained, workspace, tmp_path):
    evaluation = modelward.evaluate_version(
        workspace, "heart-disease", 1, HUNGARIAN, report=tmp_path / "evaluation.html"
    )
    assert evaluation.results["data"] == HUNGARIAN and evaluation.results["rows"] > 200
    assert "Evaluation of heart-disease:1" in (tmp_path / "evaluation.html").read_text()
    report = modelward.validate_version(
        workspace, "heart-disease", 1, HUNGARIAN, checks=("bias",), report=tmp_path / "v.html"
    )
    assert [c["group"] for c in report.results["checks"]] == ["bias"] * len(report.checks)
    assert "Validation of heart-disease:1" in (tmp_path / "v.html").read_text()
    stored = workspace.registry.get_run(report.run_id)
    assert stored.inputs["data"] == HUNGARIAN and stored.inputs["checks"] == ["bias"]


def test_mistakes_are_refused_before_anything_is_stored(trained, workspace, tmp_path):
    before = _runs(workspace)
    with pytest.raises(ConfigError, match="unknown check 'perfomance'"):
        modelward.validate_version(
            workspace, "heart-disease", 1, HUNGARIAN, checks=("bias", "perfomance")
        )
    with pytest.raises(ConfigError, match="the report is HTML"):
        modelward.evaluate_version(workspace, "heart-disease", 1, HUNGARIAN, report="r.txt")
    with pytest.raises(ConfigError, match="unknown data check 'missng'"):
        modelward.validate_data(HUNGARIAN, checks=("missng",))
    with pytest.raises(ConfigError, match="open a workspace"):
        modelward.validate_data(HUNGARIAN, against="heart-disease:1")
    assert _runs(workspace) == before


def test_data_profile_and_validation_from_python(trained, workspace, tmp_path):
    profile = modelward.profile_data(HUNGARIAN)
    assert profile["target"] == "target" and profile["rows"] > 200
    result = modelward.validate_data(
        HUNGARIAN, workspace=workspace, against="heart-disease:1", report=tmp_path / "d.html"
    )
    assert result["against"] == "heart-disease:1" and result["data"] == HUNGARIAN
    assert {f["check"] for f in result["findings"]} >= {"range", "missing", "balance"}
    assert "Data validation of" in (tmp_path / "d.html").read_text()


def test_cases_and_training_take_their_files(trained, workspace, tmp_path):
    result = modelward.run_cases(workspace, "heart-disease", 1, CASES)
    assert result["source"] == str(CASES) and not result["failed"]
    assert workspace.registry.get_run(result["run"]).kind == "prediction-tests"
    config = write_config(tmp_path)
    again = modelward.train_model(workspace, config)
    assert again.version.source["config"] == str(config.resolve())
    text = config.read_text(encoding="utf-8")
    assert again.version.source["config_sha256"] == hashlib.sha256(text.encode()).hexdigest()
