"""More validation behaviour: crashes under perturbation, too few labels, train --validate,
the validation report."""

from __future__ import annotations

import pytest

from conftest import FEATURES, HEART_SPEC
from tabular.helpers import write_config

pytestmark = pytest.mark.sqlite_only

CLEVELAND = f"{HEART_SPEC}#cleveland"


def test_a_model_that_crashes_on_missing_values_fails_robustness(workspace, cli, cleveland):
    from sklearn.linear_model import LogisticRegression

    complete = cleveland.dropna()
    model = LogisticRegression(max_iter=2000).fit(complete[FEATURES], complete["target"])
    workspace.register("no-imputer", model, data=complete, target="target")
    ran = cli("validate", "no-imputer", "1", "--data", CLEVELAND, "--check-robustness", "--json")
    assert ran.exit_code == 2  # the Cleveland file itself has missing ca/thal: cannot score
    ran = cli(
        "validate", "no-imputer", "1", "--data", _write(complete), "--check-robustness", "--json"
    )
    assert ran.exit_code == 1
    crashed = {c["name"]: c for c in ran.json["checks"] if not c["passed"]}
    assert "missing values: no crash" in crashed
    assert "NaN" in crashed["missing values: no crash"]["detail"]


def _write(frame):
    import tempfile
    from pathlib import Path

    path = Path(tempfile.mkdtemp()) / "complete.csv"
    frame.to_csv(path, index=False)
    return path


def test_too_few_labels_fail_performance(trained, cli, cleveland, tmp_path):
    few = tmp_path / "few.csv"
    cleveland.head(12).to_csv(few, index=False)
    ran = cli("validate", "heart-disease", "1", "--data", few, "--check-performance", "--json")
    assert ran.exit_code == 1
    assert "labelled rows" in ran.json["failed"]


def test_train_validate_stores_a_validation_of_the_held_out_split(workspace, cli, tmp_path):
    ran = cli("train", "--config", write_config(tmp_path), "--validate", "--json")
    runs = workspace.registry.list_runs(kinds=["validation"])
    assert len(runs) == 1 and runs[0].version == 1
    assert (
        runs[0].inputs["rows"]
        == workspace.registry.get_version("heart-disease", 1).source["test_rows"]
    )
    assert "held-out split" in runs[0].inputs["data"]
    assert ran.exit_code == (0 if runs[0].verdict == "pass" else 1)


def test_validation_report(trained, cli, tmp_path):
    report = tmp_path / "validation.html"
    cli("validate", "heart-disease", "1", "--data", CLEVELAND, "--report", report)
    html = report.read_text()
    assert "Validation of heart-disease:1" in html
    assert "Groups by sex" in html and "demographic parity difference" in html
