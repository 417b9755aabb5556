"""``ws.deployments`` and the deploy / rollback / deployments commands."""

from __future__ import annotations

import pytest

from modelward import ConfigError, ConflictError, NotFound, TransitionError
from modelward.deploy import pick_version


def test_deploy_moves_the_version_into_the_stage_and_records_it(heart_ws):
    info = heart_ws.deployments.deploy("heart", 1, "production", reason="first")
    assert [(t.version, t.weight) for t in info.targets] == [(1, 100.0)]
    assert info.previous is None and info.revision == 1
    assert heart_ws.registry.get_version("heart", 1).stage == "production"
    kinds = [e.kind for e in heart_ws.registry.history("heart")]
    assert kinds[-1] == "deployed" and "transition" in kinds


def test_redeploy_keeps_a_backup_and_rollback_restores_it(heart_ws):
    deps = heart_ws.deployments
    deps.deploy("heart", 1, "production", reason="first")
    second = deps.deploy("heart", 2, "production", reason="better")
    assert second.previous is not None and second.previous[0].version == 1
    # v1 left production for maintenance (still able to serve), v2 is in production
    assert heart_ws.registry.get_version("heart", 1).stage == "maintenance"
    back = deps.rollback("heart", "production", reason="v2 misbehaves")
    assert back.primary == 1 and back.revision == 3
    assert back.previous is not None and back.previous[0].version == 2
    assert heart_ws.registry.get_version("heart", 1).stage == "production"
    assert heart_ws.registry.get_version("heart", 2).stage == "maintenance"
    kinds = [e.kind for e in deps.revisions("heart", "production")]
    assert kinds == ["deployed", "deployed", "rolled-back"]


def test_set_targets_checks_revision_and_keeps_the_rollback_target(heart_ws):
    deps = heart_ws.deployments
    deps.deploy("heart", 1, "production", reason="first")
    heart_ws.transition("heart", 2, "staging", reason="canary")
    canary = deps.set_targets(
        "heart", "production", [(1, 95), (2, 5)], reason="canary 5%", expected_revision=1
    )
    assert canary.revision == 2 and canary.primary == 1
    with pytest.raises(ConflictError, match="revision 2, not 1"):
        deps.set_targets("heart", "production", [(1, 50), (2, 50)], expected_revision=1)
    assert deps.get("heart", "production").revision == 2
    assert deps.get("heart", "production").previous is None  # backup not replaced


@pytest.mark.parametrize(
    ("targets", "error", "text"),
    [
        ([], ConfigError, "at least one version"),
        ([(1, -1)], ConfigError, "must be a number >= 0"),
        ([(1, float("nan"))], ConfigError, "must be a number >= 0"),
        ([(1, 0)], ConfigError, "must not all be 0"),
        ([(1, 50), (1, 50)], ConfigError, "listed twice"),
        ([(9, 1)], NotFound, "no version '9'"),
        ([(2, 10)], TransitionError, "cannot receive traffic"),
    ],
)
def test_bad_targets_change_nothing(heart_ws, targets, error, text):
    heart_ws.deployments.deploy("heart", 1, "production", reason="first")
    before = heart_ws.deployments.get("heart", "production")
    with pytest.raises(error, match=text):
        heart_ws.deployments.set_targets("heart", "production", targets)
    assert heart_ws.deployments.get("heart", "production") == before


def test_deploy_refuses_bad_environment_failing_gates_and_rollback_without_backup(heart_ws):
    deps = heart_ws.deployments
    with pytest.raises(ConfigError, match="unknown environment 'prod'"):
        deps.deploy("heart", 1, "prod")
    heart_ws.register("heart", heart_ws.load_model("heart", 1).model, data=_data(heart_ws))
    heart_ws.transition("heart", 3, "testing", reason="x")
    with pytest.raises(TransitionError, match="gate validation failed"):
        deps.deploy("heart", 3, "staging")
    with pytest.raises(ConfigError, match="forced deploy needs a reason"):
        deps.deploy("heart", 3, "staging", force=True)
    assert deps.list() == []
    forced = deps.deploy("heart", 3, "staging", force=True, reason="hotfix")
    assert forced.primary == 3
    assert deps.revisions("heart", "staging")[-1].details["forced"] is True
    with pytest.raises(NotFound, match="no earlier deployment"):
        deps.rollback("heart", "staging")


def _data(ws):
    import pandas as pd

    from conftest import FEATURES, HEART_SPEC
    from modelward.data import read_data

    frame = read_data(HEART_SPEC)
    frame = frame[frame.site == "cleveland"]
    return pd.DataFrame(frame[FEATURES])


def test_routing_is_deterministic_and_follows_weights():
    targets = [(1, 90.0), (2, 10.0)]
    picks = [pick_version(targets, f"req-{i}") for i in range(20000)]
    assert picks == [pick_version(targets, f"req-{i}") for i in range(20000)]
    share = picks.count(2) / len(picks)
    assert 0.08 < share < 0.12
    assert {pick_version([(3, 1.0)], f"r{i}") for i in range(50)} == {3}


def test_cli_deploy_show_set_rollback(heart_ws, cli):
    ran = cli("deploy", "heart", "--version", "1", "--env", "production", "--reason", "go")
    assert ran.exit_code == 0, ran.stderr
    assert "v1 100%" in ran.stdout
    cli("transition", "heart", "2", "--to", "staging", "--reason", "canary")
    ran = cli("deployments", "set", "heart", "--target", "1=75", "--target", "2=25")
    assert ran.exit_code == 0, ran.stderr
    assert "v1 75%, v2 25%" in ran.stdout
    listed = cli("deployments", "list", "--json").json
    assert listed[0]["targets"][1] == {"version": 2, "weight": 25.0, "share": 0.25}
    shown = cli("deployments", "show", "heart", "--env", "production", "--json").json
    assert [h["kind"] for h in shown["history"]] == ["deployed", "deployment-targets"]
    ran = cli("deploy", "heart", "--version", "2", "--reason", "full")
    assert ran.exit_code == 0, ran.stderr
    ran = cli("rollback", "heart", "--env", "production", "--reason", "bad")
    assert ran.exit_code == 0, ran.stderr
    assert "v1 75%, v2 25%" in ran.stdout


@pytest.mark.parametrize(
    ("args", "text"),
    [
        (["deploy", "heart", "--version", "1", "--env", "qa"], "unknown environment 'qa'"),
        (["deploy", "nope", "--version", "1"], "no model named 'nope'"),
        (["deploy", "heart", "--version", "7"], "no version '7'"),
        (["deploy", "heart", "--version", "1", "--expected-revision", "4"], "not 4"),
        (["deployments", "set", "heart", "--target", "1:5"], "is not VERSION=WEIGHT"),
        (["deployments", "set", "heart", "--target", "1=x"], "is not a number"),
        (["deployments", "set", "heart", "--target", "1=-2"], ">= 0"),
        (["deployments", "show", "heart", "--env", "staging"], "not deployed to staging"),
        (["rollback", "heart"], "no earlier deployment"),
    ],
)
def test_cli_mistakes_exit_2_with_one_line_and_change_nothing(deployed, cli, args, text):
    before = deployed.deployments.list()
    events = len(deployed.registry.history("heart"))
    ran = cli(*args)
    assert ran.exit_code == 2
    assert text in ran.stderr and ran.stderr.count("\n") == 1
    assert deployed.deployments.list() == before
    assert len(deployed.registry.history("heart")) == events


def test_deploying_prepares_the_servers_fast_path(heart_ws, caplog):
    """The ONNX conversion is proven at deploy time, so no server start pays for it."""
    from modelward.serving.models import load_model

    cache = heart_ws.root / "cache" / "onnx"
    heart_ws.deployments.deploy("heart", 1, "production", reason="first")
    sha1 = heart_ws.registry.get_version("heart", 1).sha256
    assert (cache / f"{sha1}.onnx").exists() and (cache / f"{sha1}.json").exists()
    started = load_model(heart_ws, "heart", 1)
    assert started.path == "onnx" and started.flavor is None  # from the cache, no artifact

    # The forest's ONNX graph does not reproduce its probabilities within 1e-4: the
    # canary step finds that out (and says so) when it is deployed, not at server start.
    heart_ws.transition("heart", 2, "staging", reason="canary")
    with caplog.at_level("WARNING", logger="modelward.serving"):
        heart_ws.deployments.set_targets("heart", "production", [(1, 95), (2, 5)])
    assert "ONNX conversion differs from the pipeline" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING", logger="modelward.serving"):
        heart_ws.deployments.set_targets("heart", "production", [(1, 50), (2, 50)])
        assert load_model(heart_ws, "heart", 2).path == "sklearn"
    assert "ONNX conversion" not in caplog.text  # proven once, not at every step
