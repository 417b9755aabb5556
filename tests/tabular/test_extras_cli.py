"""``env check``, ``test-predictions``, ``optimize`` and ``card``."""

from __future__ import annotations

from importlib import metadata

import pytest
import yaml
from sklearn.metrics import accuracy_score

from conftest import FEATURES, HEART_SPEC

pytestmark = pytest.mark.sqlite_only

CASES = HEART_SPEC.parent / "cases.yml"
CLEVELAND = f"{HEART_SPEC}#cleveland"


def test_env_check_reports_the_machine(cli):
    ran = cli("env", "check", "--memory", "--json")
    assert ran.exit_code == 0, ran.stderr
    out = ran.json
    assert out["cpu"]["logical"] >= 1 and out["memory"]["total_gb"] > 0
    assert out["packages"]["scikit-learn"] == metadata.version("scikit-learn")
    assert "swap_total_gb" in out["memory"]
    if not out["gpu"]["devices"]:
        assert out["gpu"]["summary"].startswith("no GPU found")
        ran = cli("env", "check", "--gpu")
        assert ran.exit_code == 1 and "no GPU found" in ran.stderr
        assert "no GPU found" in ran.stdout


def test_the_example_cases_pass_and_a_wrong_expectation_shows_a_diff(trained, cli, tmp_path):
    ran = cli("test-predictions", "heart-disease", "1", "--cases", CASES, "--json")
    assert ran.exit_code == 0, ran.stdout
    assert ran.json["failed"] == []
    raw = yaml.safe_load(CASES.read_text())
    raw["cases"][0]["expect"] = {"label": 1, "probability": {"min": 0.5}}
    wrong = tmp_path / "wrong.yml"
    wrong.write_text(yaml.safe_dump(raw))
    ran = cli("test-predictions", "heart-disease", "1", "--cases", wrong)
    assert ran.exit_code == 1
    assert "-label: 1" in ran.stdout and "+label: 0" in ran.stdout
    assert "1 of 5 prediction case(s) failed" in ran.stderr


def test_cases_mistakes(trained, cli, tmp_path, workspace):
    raw = yaml.safe_load(CASES.read_text())
    before = len(workspace.registry.list_runs())
    del raw["cases"][0]["input"]["chol"]
    lacking = tmp_path / "lacking.yml"
    lacking.write_text(yaml.safe_dump(raw))
    typo = tmp_path / "typo.yml"
    typo.write_text(yaml.safe_dump({"cases": [{"name": "x", "inputs": {}, "expect": 1}]}))
    for path, message in [
        (lacking, "lacks input 'chol'"),
        (typo, "unknown key 'cases.0.inputs'"),
        (tmp_path / "none.yml", "does not exist"),
    ]:
        ran = cli("test-predictions", "heart-disease", "1", "--cases", path)
        assert ran.exit_code == 2, ran.stderr
        assert message in ran.stderr
    assert len(workspace.registry.list_runs()) == before


def test_optimize_registers_an_onnx_version_that_predicts_the_same(
    trained, cli, workspace, cleveland
):
    ran = cli(
        "optimize",
        "heart-disease",
        "1",
        "--data",
        CLEVELAND,
        "--target",
        "latency",
        "--max-loss",
        "0.01",
        "--json",
    )
    assert ran.exit_code == 0, ran.stderr
    out = ran.json
    assert out["registered"] == 2 and out["agreement"] == 1.0
    onnx = workspace.load_model("heart-disease", 2)
    sk = workspace.load_model("heart-disease", 1)
    assert workspace.registry.get_version("heart-disease", 2).flavor == "onnx"
    x = cleveland[FEATURES]
    assert accuracy_score(sk.predict(x), onnx.predict(x)) == 1.0
    assert out["metrics_after"]["accuracy"] == pytest.approx(
        accuracy_score(cleveland["target"], onnx.predict(x))
    )
    assert out["latency_before"]["per_row_ms"] > 0 and out["latency_after"]["batch_ms"] > 0
    ran = cli("optimize", "heart-disease", "2", "--data", CLEVELAND)
    assert ran.exit_code == 2 and "already onnx" in ran.stderr


def test_optimize_refuses_bad_options_and_registers_nothing(trained, cli, workspace):
    for extra, message in [
        (("--target", "size"), "supports latency"),
        (("--max-loss", "2"), "between 0 and 1"),
    ]:
        ran = cli("optimize", "heart-disease", "1", "--data", CLEVELAND, *extra)
        assert ran.exit_code == 2 and message in ran.stderr
    assert len(workspace.registry.list_versions("heart-disease")) == 1


def test_the_card_holds_what_was_recorded(trained, cli, tmp_path):
    cli(
        "evaluate",
        "heart-disease",
        "1",
        "--data",
        f"{HEART_SPEC}#hungarian,va,switzerland",
        "--by",
        "site",
    )
    cli("validate", "heart-disease", "1", "--data", CLEVELAND)
    ran = cli("card", "heart-disease", "1", "--out", tmp_path / "cards", "--json")
    assert ran.exit_code == 0, ran.stderr
    md = (tmp_path / "cards" / "heart-disease-v1.md").read_text()
    html = (tmp_path / "cards" / "heart-disease-v1.html").read_text()
    for heading in (
        "Intended use",
        "Data and provenance",
        "Metrics",
        "Per-group results",
        "Validation",
        "Limitations",
        "Version history",
    ):
        assert f"## {heading}" in md and heading in html
    assert "| switzerland |" in md and "Latest validation: run #" in md
    assert html.count('<img src="data:image/png;base64,') == 1  # per-site bars with CIs
    assert "held-out (95 % CI)" in md
    assert "below the policy's 0.80" in md  # the Swiss and VA accuracy


def test_card_errors(trained, cli, tmp_path):
    ran = cli("card", "nomodel")
    assert ran.exit_code == 2 and "nomodel" in ran.stderr
    file = tmp_path / "file"
    file.write_text("x")
    ran = cli("card", "heart-disease", "--out", file)
    assert ran.exit_code == 2 and "is a file" in ran.stderr


def test_a_lossy_conversion_is_refused_with_the_numbers(
    trained, cli, workspace, cleveland, monkeypatch
):
    """A conversion that changes predictions (here: a deliberately weaker model) is not
    registered; the command exits 1 and names the loss."""
    from sklearn.impute import SimpleImputer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    from modelward.training import optimize

    real = optimize.convert_to_onnx
    weak = make_pipeline(SimpleImputer(), LogisticRegression()).fit(
        cleveland[["age", "chol"]], cleveland["target"]
    )

    def lossy(model, sample):
        return _weak_onnx(real, weak, sample)

    monkeypatch.setattr(optimize, "convert_to_onnx", lossy)
    ran = cli("optimize", "heart-disease", "1", "--data", CLEVELAND, "--max-loss", "0.01")
    assert ran.exit_code == 1
    assert "ONNX conversion loses" in ran.stderr and "nothing was registered" in ran.stderr
    assert len(workspace.registry.list_versions("heart-disease")) == 1
    run = workspace.registry.list_runs(kinds=["optimization"])[0]
    assert run.verdict == "fail" and run.results["agreement"] < 1.0


def _weak_onnx(real, weak, sample):
    """ONNX of a model over two of the columns, with graph inputs for all of them."""
    import onnx

    blob = real(weak, sample[["age", "chol"]])
    graph = onnx.load_from_string(blob)
    have = {i.name for i in graph.graph.input}
    for column in sample.columns:
        if column not in have:
            graph.graph.input.append(
                onnx.helper.make_tensor_value_info(column, onnx.TensorProto.FLOAT, [None, 1])
            )
    return graph.SerializeToString()


def test_a_regressors_cases_expect_a_value_within_a_tolerance(cli, workspace, tmp_path):
    import pandas as pd
    from sklearn.linear_model import LinearRegression

    from conftest import ROOT

    features = ["bill_length_mm", "bill_depth_mm", "flipper_length_mm"]
    data = pd.read_csv(ROOT / "examples" / "penguins" / "data" / "penguins.csv")
    data = data.dropna(subset=[*features, "body_mass_g"]).reset_index(drop=True)
    model = LinearRegression().fit(data[features], data["body_mass_g"])
    workspace.register("mass", model, data=data[[*features, "body_mass_g"]], target="body_mass_g")
    row = {f: float(data[f][0]) for f in features}
    value = float(model.predict(pd.DataFrame([row]))[0])

    def run(expect):
        path = tmp_path / "cases.yml"
        path.write_text(
            yaml.safe_dump({"cases": [{"name": "first", "input": row, "expect": expect}]})
        )
        return cli("test-predictions", "mass", "1", "--cases", path, "--json")

    near = run({"value": value + 0.4, "tolerance": 0.5})
    assert near.exit_code == 0, near.stdout
    assert near.json["cases"][0]["got"] == pytest.approx(value)
    assert run(value).exit_code == 0  # a bare number: the value itself
    far = run({"value": value + 3, "tolerance": 0.5})
    assert far.exit_code == 1 and far.json["cases"][0]["diff"][-1].startswith("+value: ")
    both = run({"value": 1, "label": 1})
    assert both.exit_code == 2 and "either label" in both.stderr
    negative = run({"value": 1, "tolerance": -1})
    assert negative.exit_code == 2 and "tolerance" in negative.stderr
