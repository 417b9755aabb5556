"""Retention: ``modelward clean`` keeps what it must and really removes the rest."""

from __future__ import annotations

import pytest
from sqlalchemy import select
from tests.ops.conftest import add_versions, to_stage

from modelward.lifecycle import apply_clean, plan_clean
from modelward.store.tables import DeploymentRow, ModelRow
from modelward.timeutil import utcnow

AUCS = [0.70, 0.95, 0.72, 0.93, 0.71, 0.74, 0.73, 0.75, 0.76]


def _deploy(ws, name: str, env: str, targets, previous=None) -> None:
    with ws.db.session() as session:
        model_id = session.scalar(select(ModelRow.id).where(ModelRow.name == name))
        session.add(
            DeploymentRow(
                model_id=model_id, environment=env,
                targets=[{"version": v, "weight": w} for v, w in targets],
                previous=[{"version": v, "weight": w} for v, w in previous or []],
                revision=1, updated_at=utcnow(), updated_by="tester",
            )
        )  # fmt: skip


@pytest.fixture
def nine(workspace, cleveland, fitted):
    add_versions(workspace, cleveland, fitted, 9, aucs=AUCS)
    to_stage(workspace, "heart", 1, "production")
    to_stage(workspace, "heart", 3, "staging")
    workspace.registry.set_alias("heart", "challenger", 5)
    _deploy(workspace, "heart", "production", [(1, 100)], previous=[(7, 100)])
    return workspace


def test_dry_run_by_default_then_delete_with_yes(nine, cli):
    ws = nine
    ran = cli("clean", "--keep-last", "1", "--keep-best", "2", "--metric", "auc", "--json")
    assert ran.exit_code == 0, ran.stderr
    doomed = sorted(d["version"] for d in ran.json["delete"])
    # 1 production, 2/4 best by AUC, 3 staging, 5 aliased, 7 rollback target, 9 newest.
    assert doomed == [6, 8]
    assert len(ws.registry.list_versions("heart")) == 9  # dry run: nothing changed
    blobs = {v.version: v.sha256 for v in ws.registry.list_versions("heart")}

    ran = cli("clean", "--keep-last", "1", "--keep-best", "2", "--metric", "auc", "--yes")
    assert ran.exit_code == 0, ran.stderr
    assert "Deleted 2 versions and 2 artifacts" in ran.stdout
    left = [v.version for v in ws.registry.list_versions("heart")]
    assert left == [1, 2, 3, 4, 5, 7, 9]
    for version in (6, 8):
        assert not ws.artifacts.exists(blobs[version])  # really gone from the store
    for version in left:
        assert ws.artifacts.exists(blobs[version])
    deleted = ws.registry.history("heart", kinds=["version-deleted"])
    assert sorted(e.version for e in deleted) == [6, 8]
    assert "keep the last 1" in deleted[0].reason
    assert ws.registry.list_runs(kinds=["clean"])[0].results["deleted_versions"] == [6, 8]


def test_policy_defaults_keep_last_five_best_two(nine):
    plan = plan_clean(nine)
    assert (plan.keep_last, plan.keep_best, plan.metric) == (5, 2, "roc_auc")
    assert sorted(d.version for d in plan.to_delete) == []  # 5..9 last, 1,3 stage, 2,4 best
    plan = plan_clean(nine, keep_last=2)
    assert sorted(d.version for d in plan.to_delete) == [6]


def test_shared_artifact_survives_until_unreferenced(workspace, cleveland, fitted):
    for _ in range(3):  # three versions of the very same bytes
        workspace.register("heart", fitted, data=cleveland, target="target")
    digest = workspace.registry.get_version("heart", 1).sha256
    plan = apply_clean(workspace, keep_last=1, keep_best=0)
    assert sorted(d.version for d in plan.to_delete) == [1, 2]
    assert plan.deleted_artifacts == []
    assert workspace.artifacts.exists(digest)
    workspace.load_model("heart", 3)


def test_orphans_sweep(nine):
    orphan = nine.artifacts.put(b"left behind by a crashed registration")
    plan = apply_clean(nine, keep_last=9, orphans=True)
    assert plan.deleted_artifacts == [orphan]
    assert not nine.artifacts.exists(orphan)


def test_unknown_metric_and_bad_counts(nine, cli):
    ran = cli("clean", "--metric", "f2", "--yes")
    assert ran.exit_code == 2
    assert "no version has metric 'f2'" in ran.stderr and "roc_auc" in ran.stderr
    ran = cli("clean", "--keep-last", "-1")
    assert ran.exit_code == 2 and "0 or more" in ran.stderr
    ran = cli("clean", "nosuch")
    assert ran.exit_code == 2 and "no model named 'nosuch'" in ran.stderr
    assert len(nine.registry.list_versions("heart")) == 9


def test_keep_best_ranks_trained_versions_by_their_held_out_metric(workspace, cleveland, fitted):
    """`modelward train` records metrics nested ({"test": …, "cv": …}); they rank too."""
    from sklearn.base import clone
    from tests.conftest import FEATURES

    held_out = [0.80, 0.91, 0.85, 0.70]
    for i, auc in enumerate(held_out):
        model = (
            clone(fitted).set_params(model__C=1.0 + i).fit(cleveland[FEATURES], cleveland["target"])
        )
        workspace.register(
            "heart", model, data=cleveland, target="target",
            metrics={"test": {"roc_auc": auc}, "cv": {"roc_auc": {"mean": 0.5}}},
        )  # fmt: skip
    plan = plan_clean(workspace, "heart", keep_last=1, keep_best=2, metric="roc_auc")
    kept = {d.version for d in plan.decisions if d.action == "keep"}
    assert kept == {4, 2, 3}  # the newest, and the two best held-out AUCs (0.91, 0.85)
    assert {d.version: d.metric for d in plan.decisions} == {1: 0.80, 2: 0.91, 3: 0.85, 4: 0.70}
