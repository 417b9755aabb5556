"""The whole runbook for every task, on real data: the Palmer penguins' species
(multiclass, string categories, missing values) and body mass (regression), and the
Wisconsin breast-cancer diagnosis (binary, string labels, positive class ``malignant``).

Train from the example configs, validate the data, evaluate against a baseline, validate,
test-predictions, optimize, card, the lifecycle gates without ``--force``, deploy, serve
over HTTP (nulls in imputed inputs, an unseen category), feedback, every monitor check, a
canary rollout, backup and restore. Before issue 15 only the binary 0/1 path got through.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pandas as pd
import pytest
import yaml
from sklearn import metrics as skm

from conftest import ROOT


@dataclass(frozen=True)
class Runbook:
    name: str
    task: str
    config: Path
    target: str
    data: Path

    def frame(self) -> pd.DataFrame:
        return pd.read_csv(self.data)


PENGUINS = ROOT / "examples" / "penguins"
BREAST = ROOT / "examples" / "breast-cancer"
CASES = [
    Runbook("penguins", "multiclass-classification", PENGUINS / "configs" / "species.yml",
            "species", PENGUINS / "data" / "penguins.csv"),
    Runbook("penguin-mass", "regression", PENGUINS / "configs" / "mass.yml", "body_mass_g",
            PENGUINS / "data" / "penguins.csv"),
    Runbook("breast-cancer", "binary-classification", BREAST / "configs" / "diagnosis.yml",
            "diagnosis", BREAST / "data" / "breast-cancer.csv"),
]  # fmt: skip


#: Per-model policy sections: the penguins' fairness is judged over island and sex; a
#: missing measurement moves body-mass predictions by more
#: than the workspace's robustness limits (MAE +11 %), which this model's team accepts up
#: to 20 %; the breast-cancer data has no protected attribute, so its bias check cannot
#: run and is not required for it (left required, the gate would refuse: tested in
#: test_validate_tasks).
SECTIONS = {
    "penguins": {"bias": {"protected": ["island", "sex"]}},
    "penguin-mass": {
        "bias": {"protected": ["sex"]},
        "robustness": {"max_error_increase": 0.2, "max_moved_share": 0.2},
    },
    "breast-cancer": {"bias": {"required": False}},
}


@pytest.fixture
def sqlite_ws(tmp_path, monkeypatch):
    from modelward import Workspace

    monkeypatch.delenv("MODELWARD_DB_URL", raising=False)
    root = tmp_path / "ws"
    ws = Workspace.init(root)
    monkeypatch.setenv("MODELWARD_HOME", str(root))
    return ws


def _second_config(case: Runbook, folder: Path) -> Path:
    """The same config with another regularisation: a second version to compare with."""
    raw = yaml.safe_load(case.config.read_text())
    raw["data"] = str(case.data)
    params = raw["estimator"]["params"]
    key = "alpha" if "alpha" in params else "C"
    params[key] = params[key] * 4
    path = folder / "second.yml"
    path.write_text(yaml.safe_dump(raw))
    return path


def _cases_file(ws, case: Runbook, rows: pd.DataFrame, folder: Path) -> Path:
    """Prediction cases from what version 1 gives on two rows (a value with a tolerance for
    a regressor, the label otherwise)."""
    model = ws.load_model(case.name, 1)
    features = model.input_names
    predicted = model.predict(rows[features])
    cases = []
    for i, (_, row) in enumerate(rows.iterrows()):
        inputs = {f: (None if pd.isna(row[f]) else row[f]) for f in features}
        inputs = {k: (v.item() if hasattr(v, "item") else v) for k, v in inputs.items()}
        want = predicted[i]
        if case.task == "regression":
            expect = {"value": float(want) + 0.2, "tolerance": 0.5}
        else:
            expect = want.item() if hasattr(want, "item") else want
        cases.append({"name": f"row {i}", "input": inputs, "expect": expect})
    path = folder / "cases.yml"
    path.write_text(yaml.safe_dump({"cases": cases}))
    return path


def _ok(ran, *allowed: int) -> None:
    assert ran.exit_code in (allowed or (0,)), ran.stderr + ran.stdout
    assert "Traceback" not in ran.stderr


@pytest.mark.parametrize("case", CASES, ids=[c.task for c in CASES])
def test_the_runbook_end_to_end(case: Runbook, sqlite_ws, cli, tmp_path):
    from tests.serving.conftest import start_live, stop_live

    ws, data = sqlite_ws, case.frame()
    _ok(cli("data", "validate", case.data, "--target", case.target), 0, 1)
    _ok(cli("train", "--config", case.config))
    _ok(cli("train", "--config", _second_config(case, tmp_path)))
    shown = cli("versions", "show", case.name, "1", "--json").json
    assert shown["task"] == case.task
    if case.task == "binary-classification":
        assert shown["tags"]["positive_class"] == "malignant"  # declared in the config
        assert "positive class malignant" in cli("versions", "show", case.name, "1").stdout

    compared = cli("evaluate", case.name, "2", "--data", case.data, "--compare-baseline", "1",
                   "--json")  # fmt: skip
    _ok(compared)
    out = compared.json
    labelled = data.dropna(subset=[case.target])
    truth = labelled[case.target].to_numpy()
    pred = ws.load_model(case.name, 2).predict(labelled[ws.load_model(case.name, 2).input_names])
    if case.task == "regression":
        assert out["metrics"]["mae"]["value"] == pytest.approx(skm.mean_absolute_error(truth, pred))
    elif case.task == "multiclass-classification":
        assert out["metrics"]["f1_macro"]["value"] == pytest.approx(
            skm.f1_score(truth, pred, average="macro")
        )
    else:
        assert out["metrics"]["recall"]["value"] == pytest.approx(
            skm.recall_score(truth, pred, pos_label="malignant")
        )
    assert out["comparison"]["differences"]

    if case.name in SECTIONS:  # the model's own policy, as its team would write it
        policy = yaml.safe_load(ws.layout.policy.read_text())
        policy["models"] = {case.name: SECTIONS[case.name]}
        ws.layout.policy.write_text(yaml.safe_dump(policy))
        _ok(cli("policy", "check"))
    for version in ("1", "2"):
        _ok(cli("validate", case.name, version, "--data", case.data))
    _ok(cli("test-predictions", case.name, "1", "--cases",
            _cases_file(ws, case, data.head(3), tmp_path)))  # fmt: skip
    _ok(cli("optimize", case.name, "1", "--data", case.data))
    card = cli("card", case.name, "1", "--out", tmp_path / "cards")
    _ok(card)
    text = (tmp_path / "cards" / f"{case.name}-v1.md").read_text()
    assert "clinician" not in text.lower() and case.task in text

    for version in ("1", "2"):
        for stage in ("testing", "staging"):
            _ok(cli("transition", case.name, version, "--to", stage, "--reason", "checks pass"))
    _ok(cli("deploy", case.name, "--version", "1", "--env", "production", "--reason", "first"))

    server = start_live(ws)
    try:
        rows = data[ws.load_model(case.name, 1).input_names].head(40).copy()
        rows.iloc[0, 0] = None  # a null in an input the pipeline imputes
        if "island" in rows:
            rows.loc[rows.index[1], "island"] = "Atlantis"  # a category never seen
        with server.client() as http:
            answers = []
            for _, row in rows.iterrows():
                inputs = {f: (None if pd.isna(v) else v) for f, v in row.items()}
                inputs = {k: (v.item() if hasattr(v, "item") else v) for k, v in inputs.items()}
                reply = http.post(f"/v1/models/{case.name}/predict", json={"inputs": inputs})
                assert reply.status_code == 200, reply.text
                answers.append(reply.json())
            first = answers[0]
            if case.task == "regression":
                assert isinstance(first["prediction"], float) and first["probabilities"] is None
            else:
                assert set(first["probabilities"]) == {
                    str(c) for c in labelled[case.target].unique()
                }
            labels = data[case.target].head(40)
            body = [{"request_id": a["request_id"], "label": str(v)}
                    for a, v in zip(answers, labels, strict=True) if pd.notna(v)]  # fmt: skip
            assert http.post("/v1/feedback", json=body).status_code == 200
        server.flush()
        ws.deployments.get(case.name, "production")
        for check in ("metrics", "predictions", "quality", "drift", "degradation", "review"):
            ran = cli("monitor", check, case.name, "--last", "1h", "--json")
            _ok(ran, 0, 1)  # a finding is exit 1; never a refusal (2) or a crash
            assert ran.json["check"] == check
        metrics = cli("monitor", "metrics", case.name, "--last", "1h", "--json").json
        assert metrics["results"]["versions"]["v1"]["labelled"] == len(body)

        _ok(cli("rollout", "start", case.name, "--version", "2", "--stages", "50:1m,100",
                "--reason", "canary"))  # fmt: skip
        _ok(cli("rollout", "run", "--once"))
    finally:
        stop_live(server)

    archive = tmp_path / "backup.tar.gz"
    _ok(cli("backup", "--out", archive, "--include-weights"))
    restored = tmp_path / "restored"
    _ok(cli("restore", archive, "--workspace", restored))
    assert (restored / "policy.yml").exists()
    shutil.rmtree(restored)
