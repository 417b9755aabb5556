"""``modelward validate`` and the staging gate that reads its result."""

from __future__ import annotations

import socket

import pytest

from conftest import HEART_SPEC
from tabular.helpers import relax_policy

pytestmark = pytest.mark.sqlite_only

CLEVELAND = f"{HEART_SPEC}#cleveland"
SWISS = f"{HEART_SPEC}#switzerland"


def test_validation_is_stored_and_gates_staging(trained, cli, workspace):
    ran = cli("transition", "heart-disease", "1", "--to", "testing", "--reason", "tests")
    assert ran.exit_code == 0
    ran = cli("transition", "heart-disease", "1", "--to", "staging", "--reason", "go")
    assert ran.exit_code == 2 and "has no validation" in ran.stderr
    ran = cli("validate", "heart-disease", "1", "--data", SWISS, "--json")
    assert ran.exit_code == 1  # Swiss data: accuracy far below 0.80
    assert "accuracy" in ran.json["failed"]
    assert "check failed" in ran.stderr and "accuracy = " in ran.stderr
    ran = cli("transition", "heart-disease", "1", "--to", "staging", "--reason", "go")
    assert ran.exit_code == 2 and "validation" in ran.stderr and "fail" in ran.stderr
    relax_policy(
        workspace,
        bias={"max_demographic_parity_difference": 1.0, "max_equalized_odds_difference": 1.0},
    )
    ran = cli("validate", "heart-disease", "1", "--data", CLEVELAND, "--json")
    assert ran.exit_code == 0, ran.json["failed"]
    groups = {c["group"] for c in ran.json["checks"]}
    assert groups == {"performance", "bias", "robustness", "security"}
    ran = cli("transition", "heart-disease", "1", "--to", "staging", "--reason", "validated")
    assert ran.exit_code == 0, ran.stderr
    runs = workspace.registry.list_runs(model="heart-disease", kinds=["validation"])
    assert [r.verdict for r in runs] == ["pass", "fail"]
    kinds = [e.kind for e in workspace.registry.history("heart-disease")]
    assert kinds.count("validated") == 2


def test_forced_staging_is_recorded(trained, cli, workspace):
    cli("transition", "heart-disease", "1", "--to", "testing", "--reason", "tests")
    ran = cli(
        "transition",
        "heart-disease",
        "1",
        "--to",
        "staging",
        "--force",
        "--reason",
        "clinical sign-off",
    )
    assert ran.exit_code == 0
    event = workspace.registry.history("heart-disease")[-1]
    assert event.details["forced"] is True and event.reason == "clinical sign-off"


def test_lower_ci_is_stricter(trained, cli, workspace):
    relax_policy(workspace, thresholds={"accuracy": 0.80})
    point = cli(
        "validate", "heart-disease", "1", "--data", CLEVELAND, "--check-performance", "--json"
    ).json
    lower = cli(
        "validate",
        "heart-disease",
        "1",
        "--data",
        CLEVELAND,
        "--check-performance",
        "--lower-ci",
        "--json",
    ).json
    acc = {c["name"]: c for c in point["checks"]}["accuracy"]
    acc_low = {c["name"]: c for c in lower["checks"]}["accuracy"]
    assert acc_low["value"] < acc["value"]
    metrics = lower["details"]["performance"]["metrics"]
    assert acc_low["value"] == metrics["accuracy"]["low"]


def test_a_tampered_artifact_fails_security(trained, cli, workspace):
    info = trained.version
    path = workspace.artifacts._path(info.sha256)
    path.write_bytes(path.read_bytes()[:-10] + b"0123456789")
    ran = cli("validate", "heart-disease", "1", "--data", CLEVELAND, "--json")
    assert ran.exit_code == 1
    assert ran.json["failed"] == ["checksum"]
    assert "not loaded" in ran.json["details"]["skipped"]
    run = workspace.registry.list_runs(kinds=["validation"])[0]
    assert run.verdict == "fail"


def test_no_network_blocks_connections():
    from modelward.validation.security import NetworkBlocked, no_network

    with no_network() as attempts, pytest.raises(NetworkBlocked):
        socket.create_connection(("127.0.0.1", 9))
    assert attempts
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen()
    client = socket.create_connection(server.getsockname())  # restored afterwards
    client.close()
    server.close()


def test_robustness_reports_noise_missing_and_out_of_range(trained, cli):
    ran = cli("validate", "heart-disease", "1", "--data", CLEVELAND, "--check-robustness", "--json")
    details = ran.json["details"]["robustness"]
    assert set(details) >= {"gaussian noise", "missing values", "out-of-range values"}
    names = [c["name"] for c in ran.json["checks"]]
    assert "missing values: flip rate" in names and "out-of-range values: valid outputs" in names


def test_bad_validate_inputs(trained, cli, workspace, tmp_path):
    before = len(workspace.registry.list_runs())
    for extra, message in [
        (("--data", tmp_path / "none.csv"), "does not exist"),
        (("--data", CLEVELAND, "--target", "nope"), "no target column 'nope'"),
        (("--data", CLEVELAND, "--report", tmp_path / "r.md"), "report is HTML"),
    ]:
        ran = cli("validate", "heart-disease", "1", *extra)
        assert ran.exit_code == 2, ran.stderr
        assert message in ran.stderr
    assert len(workspace.registry.list_runs()) == before


def test_a_partial_validation_cannot_open_the_gate(trained, cli, workspace):
    """A passing subset of checks must not hide a failing full validation."""
    cli("transition", "heart-disease", "1", "--to", "testing", "--reason", "tests")
    ran = cli("validate", "heart-disease", "1", "--data", SWISS)
    assert ran.exit_code == 1
    ran = cli(
        "validate", "heart-disease", "1", "--data", CLEVELAND,
        "--check-security", "--check-robustness",
    )  # fmt: skip
    assert ran.exit_code == 0
    ran = cli("transition", "heart-disease", "1", "--to", "staging", "--reason", "go")
    assert ran.exit_code == 2 and "fail" in ran.stderr
    assert workspace.registry.get_version("heart-disease", 1).stage == "testing"
