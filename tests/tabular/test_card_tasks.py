"""``card`` for every task: the task's metrics, no domain wording, a per-group section only
where the data had groups."""

from __future__ import annotations

import pytest
from sklearn import metrics as skm

from tabular.helpers import relax_policy
from tabular.tasks import register_breast, register_mass, register_species

pytestmark = pytest.mark.sqlite_only

DOMAIN_WORDS = ("clinician", "patient", "site", "hospital")


def _write(frame, tmp_path, name):
    path = tmp_path / f"{name}.csv"
    frame.to_csv(path, index=False)
    return path


def _card(cli, name, tmp_path):
    ran = cli("card", name, "1", "--out", tmp_path / "cards")
    assert ran.exit_code == 0, ran.stderr
    md = (tmp_path / "cards" / f"{name}-v1.md").read_text()
    html = (tmp_path / "cards" / f"{name}-v1.html").read_text()
    return md, html


def _no_domain_words(md: str) -> None:
    lowered = md.lower()
    for word in DOMAIN_WORDS:
        assert word not in lowered, word


def test_multiclass_card_with_groups(workspace, cli, tmp_path):
    relax_policy(workspace, bias={"protected": ["sex"], "min_group_size": 5})
    info, test, pipeline, cols = register_species(workspace)
    data = _write(test, tmp_path, "t")
    ran = cli("evaluate", info.model, "1", "--data", data, "--by", "island", "--resamples", 200)
    assert ran.exit_code == 0, ran.stderr
    cli("validate", info.model, "1", "--data", data)
    md, html = _card(cli, info.model, tmp_path)
    _no_domain_words(md)
    assert "multiclass-classification" in md
    y, pred = test["species"], pipeline.predict(test[cols])
    macro = skm.f1_score(y, pred, average="macro")
    assert f"| f1_macro | {macro:.3f} [" in md
    assert "## Per-group results" in md and "| Biscoe |" in md
    assert "| Adelie |" in md  # the per-class table
    assert "Groups by" not in md and "## Validation" in md
    assert html.count('<img src="data:image/png;base64,') == 1


def test_regression_card(workspace, cli, tmp_path):
    relax_policy(workspace, bias={"protected": ["island"], "min_group_size": 5})
    info, test, pipeline, cols = register_mass(workspace)
    test = test[test["body_mass_g"].notna()].reset_index(drop=True)
    data = _write(test, tmp_path, "t")
    assert cli("evaluate", info.model, "1", "--data", data, "--resamples", 200).exit_code == 0
    cli("validate", info.model, "1", "--data", data)
    md, _ = _card(cli, info.model, tmp_path)
    _no_domain_words(md)
    mae = skm.mean_absolute_error(test["body_mass_g"], pipeline.predict(test[cols]))
    assert f"| mae | {mae:.3f} [" in md
    assert "| island |" in md and "mae difference" in md  # the bias groups from validation


def test_a_card_without_groups_has_no_group_section(workspace, cli, tmp_path):
    relax_policy(
        workspace,
        thresholds={"accuracy": 0.5, "roc_auc": 0.5, "f1": 0.5, "precision": 0.5, "recall": 0.5},
    )
    info, test, _, _ = register_breast(workspace, tags={"positive_class": "malignant"})
    data = _write(test, tmp_path, "t")
    assert cli("evaluate", info.model, "1", "--data", data, "--resamples", 200).exit_code == 0
    cli("validate", info.model, "1", "--data", data)
    md, _ = _card(cli, info.model, tmp_path)
    _no_domain_words(md)
    assert "Per-group" not in md
    assert "| positive class | malignant |" in md
    assert "| bias | bias |" in md and "not run" in md
    assert "bias did not run (no protected column" in md


@pytest.mark.parametrize("task", ["multiclass", "regression"])
def test_card_straight_after_registration(workspace, cli, tmp_path, task):
    info = (register_species if task == "multiclass" else register_mass)(workspace)[0]
    md, _ = _card(cli, info.model, tmp_path)
    _no_domain_words(md)
    assert "## Limitations" in md


def test_card_of_a_trained_multiclass_model(workspace, cli, tmp_path):
    """What used to crash (a None formatted as a number) on a trained multiclass model."""
    import yaml

    from tabular.tasks import NUMERIC, PENGUINS

    config = {
        "name": "species",
        "data": str(PENGUINS),
        "target": "species",
        "features": {"numeric": NUMERIC, "categorical": ["island", "sex"]},
        "estimator": {"class": "sklearn.ensemble.RandomForestClassifier"},
        "cv": {"folds": 3},
    }
    path = tmp_path / "species.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    assert cli("train", "--config", path).exit_code == 0
    md, _ = _card(cli, "species", tmp_path)
    info = workspace.registry.get_version("species", 1)
    assert f"| roc_auc_ovr | {info.metrics['test']['roc_auc_ovr']:.3f} [" in md
    cv = info.metrics["cv"]["f1_macro"]
    assert f"{cv['mean']:.3f} ± {cv['std']:.3f}" in md
    _no_domain_words(md)
