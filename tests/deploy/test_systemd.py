"""The systemd units: systemd's own verifier accepts them (run against the real modelward
program), each is hardened the same way, and the environment file names the workspace the
units' state directory creates."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from deploy.kit import SYSTEMD, run, tool

UNITS = sorted(SYSTEMD.glob("*.service"))
PROGRAM = "/opt/modelward/bin/modelward"
HARDENING = {
    "NoNewPrivileges": "yes",
    "ProtectSystem": "strict",
    "ProtectHome": "yes",
    "PrivateTmp": "yes",
    "PrivateDevices": "yes",
    "CapabilityBoundingSet": "",
    "RestrictSUIDSGID": "yes",
    "SystemCallFilter": "@system-service",
    "User": "modelward",
    "EnvironmentFile": "/etc/modelward/modelward.env",
    "StateDirectory": "modelward",
}


def settings(path: Path) -> dict[str, str]:
    found = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        if "=" in line and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            found[key.strip()] = value.strip()
    return found


def test_the_kit_has_the_units_it_promises():
    names = {path.name for path in SYSTEMD.iterdir()}
    assert {
        "modelward-serve.service",
        "modelward-rollout.service",
        "modelward-gateway.service",
        "modelward-runbook-daily.service",
        "modelward-runbook-daily.timer",
        "modelward.env",
    } <= names


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_every_service_is_hardened_and_runs_modelward_from_its_environment(unit):
    found = settings(unit)
    missing = {k: v for k, v in HARDENING.items() if found.get(k) != v}
    assert not missing, f"{unit.name} lacks {missing}"
    assert found["ExecStart"].startswith(PROGRAM + " ")


def test_the_state_directory_is_the_workspace_the_environment_file_names():
    env = settings(SYSTEMD / "modelward.env")
    assert env["MODELWARD_HOME"] == "/var/lib/" + HARDENING["StateDirectory"]
    for unit in UNITS:
        assert settings(unit)["WorkingDirectory"] == env["MODELWARD_HOME"]


def test_the_controller_stopped_by_sigterm_counts_as_a_clean_stop():
    """`rollout run` exits 143 on SIGTERM (docs/ops.md) after releasing its leases."""
    assert settings(SYSTEMD / "modelward-rollout.service")["SuccessExitStatus"] == "143"


def test_the_timer_starts_the_runbook_service():
    timer = settings(SYSTEMD / "modelward-runbook-daily.timer")
    assert timer["Unit"] == "modelward-runbook-daily.service"
    assert settings(SYSTEMD / "modelward-runbook-daily.service")["Type"] == "oneshot"


def test_systemd_analyze_verify_accepts_every_unit(tmp_path):
    analyze = tool("systemd-analyze")
    if analyze is None:
        pytest.skip("needs systemd-analyze (Debian's systemd package) to verify the units")
    program = Path(sys.executable).with_name("modelward")
    assert program.is_file(), f"the modelward program is not installed beside {sys.executable}"
    for path in SYSTEMD.glob("*.*"):
        if path.suffix in (".service", ".timer"):
            text = path.read_text(encoding="utf-8").replace(PROGRAM, str(program))
            (tmp_path / path.name).write_text(text, encoding="utf-8")
    units = sorted(str(p) for p in tmp_path.iterdir())
    done = run(analyze, "verify", *units, cwd=tmp_path)
    assert done.returncode == 0 and not done.stderr.strip(), done.stderr
    # the verifier does report a mistake
    broken = tmp_path / "modelward-serve.service"
    broken.write_text(broken.read_text().replace("ProtectSystem=strict", "ProtectSystem=tight"))
    complaint = run(analyze, "verify", str(broken), cwd=tmp_path).stderr
    assert "modelward-serve.service:" in complaint and "tight" in complaint


def test_the_environment_file_reads_the_same_in_a_shell_as_in_systemd():
    """deploy/README.md loads it with `set -a; . modelward.env` to run `modelward init`."""
    env = settings(SYSTEMD / "modelward.env")
    shell = run("sh", "-c", f"set -a; . {SYSTEMD / 'modelward.env'}; env -0")
    assert shell.returncode == 0, shell.stderr
    loaded = dict(item.split("=", 1) for item in shell.stdout.split("\0") if "=" in item)
    assert {key: loaded.get(key) for key in env} == env
