"""The lifecycle's human criteria (section 5.1) for both kinds of model: approvals before
production, the deprecation notice to the clients, and retirement only after the clients
migrated and the version's log rows were archived (verified)."""

from __future__ import annotations

from datetime import timedelta

import pyarrow.parquet as pq
import pytest
from tests.ops.conftest import add_versions, to_stage, validated
from tests.ops.endpoints import call, endpoint, evaluated, set_policy, write_log
from tests.receiver import Hook


@pytest.fixture
def hook(workspace):
    receiver = Hook()
    set_policy(workspace, alerts={"sinks": [{"kind": "webhook", "url": receiver.url,
                                            "sources": ["lifecycle"]}]})  # fmt: skip
    yield receiver
    receiver.close()


# -- approvals ----------------------------------------------------------------------------


def test_production_waits_for_approvals_by_distinct_people(
    workspace, cleveland, fitted, cli, monkeypatch
):
    add_versions(workspace, cleveland, fitted, 1)
    to_stage(workspace, "heart", 1, "staging")
    set_policy(workspace, lifecycle={"approvals_required": 2})

    ran = cli("transition", "heart", "1", "--to", "production", "--reason", "ship")
    assert ran.exit_code == 2
    assert "gate approvals failed" in ran.stderr and "0 of the 2 approvals" in ran.stderr
    assert "modelward approve heart 1 --for production" in ran.stderr

    monkeypatch.setenv("MODELWARD_ACTOR", "alice")
    for _ in range(2):  # the same person twice counts once
        ran = cli("approve", "heart", "1", "--for", "production", "--reason", "read the card")
        assert ran.exit_code == 0, ran.stderr
    assert "1 of 2 required approvals (alice)" in ran.stdout
    ran = cli("transition", "heart", "1", "--to", "production", "--reason", "ship")
    assert ran.exit_code == 2 and "1 of the 2 approvals" in ran.stderr
    assert "(approved by alice)" in ran.stderr
    assert workspace.registry.get_version("heart", 1).stage == "staging"

    monkeypatch.setenv("MODELWARD_ACTOR", "bob")
    assert cli("approve", "heart", "1", "--reason", "checked fairness").exit_code == 0
    ran = cli("transition", "heart", "1", "--to", "production", "--reason", "ship")
    assert ran.exit_code == 0, ran.stderr
    assert "gate approvals: pass — approved by alice, bob" in ran.stdout

    shown = cli("versions", "show", "heart", "1", "--json").json["approvals"]
    assert shown["required"] == 2 and shown["approvers"] == ["alice", "bob"]
    assert [(a["actor"], a["reason"]) for a in shown["approvals"]] == [
        ("alice", "read the card"), ("alice", "read the card"), ("bob", "checked fairness"),
    ]  # fmt: skip
    text = cli("versions", "show", "heart", "1").stdout
    assert "approvals for production: 2 of 2 required (alice, bob)" in text


def test_an_endpoint_needs_its_models_approvals_and_forcing_is_recorded(workspace, cli):
    endpoint(workspace, "chat", 2)
    for version in (1, 2):
        evaluated(workspace, "chat", version)
        for stage in ("testing", "staging"):
            workspace.transition("chat", version, stage, reason="t")
    set_policy(workspace, models={"chat": {"lifecycle": {"approvals_required": 1}}})
    shown = cli("policy", "show", "--model", "chat", "--json").json["settings"]
    assert shown["lifecycle.approvals_required"] == {"value": 1, "source": "models.chat"}

    ran = cli("transition", "chat", "1", "--to", "production", "--reason", "go")
    assert ran.exit_code == 2 and "0 of the 1 approvals" in ran.stderr
    assert cli("approve", "chat", "1", "--reason", "answers look right").exit_code == 0
    assert cli("transition", "chat", "1", "--to", "production", "--reason", "go").exit_code == 0

    ran = cli("transition", "chat", "2", "--to", "production", "--replace", "--force",
              "--reason", "incident fix, approval after")  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    event = workspace.registry.history("chat", version=2)[-1]
    assert event.details["forced"] is True
    assert [g["name"] for g in event.details["gates"] if not g["passed"]] == ["approvals"]


def test_approve_bad_input_is_one_line_and_changes_nothing(workspace, cli):
    endpoint(workspace, "chat")
    before = len(workspace.registry.history("chat"))
    for args, expected in (
        (("chat", "7", "--reason", "x"), "has no version '7'"),
        (("chat", "1"), "an approval needs a reason"),
        (("chat", "1", "--reason", "  "), "an approval needs a reason"),
        (("chat", "1", "--for", "staging", "--reason", "x"), "approvals are for production"),
        (("nosuch", "1", "--reason", "x"), "no model named 'nosuch'"),
    ):
        ran = cli("approve", *args)
        assert ran.exit_code == 2, args
        assert expected in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
    assert len(workspace.registry.history("chat")) == before


# -- deprecation notice -------------------------------------------------------------------


def test_deprecation_by_review_notifies_the_clients_of_the_last_30_days(workspace, hook, cli):
    endpoint(workspace, "chat", 2)
    for version in (1, 2):
        validated(workspace, "chat", version)
    to_stage(workspace, "chat", 1, "production")
    to_stage(workspace, "chat", 2, "production", replace=True)  # 1 -> maintenance
    rows = (
        [call(1, timedelta(minutes=i % 50), client="mobile-app") for i in range(80)]
        + [call(1, timedelta(minutes=i % 50), client="batch-job", status="error")
           for i in range(30)]
        + [call(1, timedelta(minutes=5), client="-") for _ in range(3)]
        + [call(1, timedelta(days=45), client="old-portal")]  # before the notice window
        + [call(2, timedelta(minutes=5), client="new-only")]
    )  # fmt: skip
    write_log(workspace, "chat", rows)

    ran = cli("lifecycle", "review", "chat", "--apply", "--json")
    assert ran.exit_code == 0, ran.stderr
    (moved,) = [p for p in ran.json if p["version"] == 1]
    assert moved["to"] == "deprecated" and moved["applied"]
    (notice,) = [b for b in hook.bodies if b["event"] == "deprecation-notice"]
    assert notice["model"] == "chat" and notice["version"] == 1
    assert notice["details"]["clients"] == ["batch-job", "mobile-app"]
    assert notice["details"]["requests"] == {"-": 3, "batch-job": 30, "mobile-app": 80}
    assert "batch-job (30 requests)" in notice["message"]
    assert "mobile-app (80 requests)" in notice["message"]
    assert "anonymous (3 requests)" in notice["message"]
    assert "old-portal" not in str(notice) and "new-only" not in str(notice)
    event = workspace.registry.history("chat", version=1)[-1]
    assert event.to_stage == "deprecated" and event.details["notice"]["clients"]["mobile-app"] == 80


def test_deprecation_by_hand_of_a_tabular_version_sends_the_notice(
    workspace, cleveland, fitted, hook, cli
):
    add_versions(workspace, cleveland, fitted, 1)
    to_stage(workspace, "heart", 1, "production")
    write_log(workspace, "heart", [call(1, timedelta(days=2), client="ward-7")])
    ran = cli("transition", "heart", "1", "--to", "deprecated", "--reason", "superseded")
    assert ran.exit_code == 0, ran.stderr
    (notice,) = hook.bodies
    assert notice["event"] == "deprecation-notice" and notice["details"]["clients"] == ["ward-7"]
    assert "heart:1 is deprecated (superseded)" in notice["message"]


# -- retirement: migration and archive -----------------------------------------------------


@pytest.fixture
def deprecated(workspace):
    """chat:1 deprecated with 3 predictions (one labelled) 40 days ago, chat:2 serving."""
    endpoint(workspace, "chat", 2)
    for version in (1, 2):
        validated(workspace, "chat", version)
    to_stage(workspace, "chat", 1, "production")
    to_stage(workspace, "chat", 2, "production", replace=True)
    workspace.transition("chat", 1, "deprecated", reason="old")
    old = [call(1, timedelta(days=40, minutes=i)) for i in range(3)]
    label = {"request_id": old[0]["request_id"], "ts": old[0]["ts"] + timedelta(seconds=1),
             "label": "4"}  # fmt: skip
    write_log(workspace, "chat", [*old, call(2, timedelta(days=40))], [label])
    return workspace


def test_retirement_waits_for_migration_then_for_the_archive(deprecated, cli, tmp_path):
    ws = deprecated
    write_log(ws, "chat", [call(1, timedelta(days=3), client="late-app")])
    ran = cli("transition", "chat", "1", "--to", "retired", "--reason", "done")
    assert ran.exit_code == 2 and "gate migration failed" in ran.stderr
    assert "served 1 predictions in the last 30 days" in ran.stderr
    assert "lifecycle.migration_days" in ran.stderr

    set_policy(ws, lifecycle={"migration_days": 2})  # the late client moved 3 days ago
    ran = cli("transition", "chat", "1", "--to", "retired", "--reason", "done")
    assert ran.exit_code == 2 and "gate archive failed" in ran.stderr
    assert "4 prediction-log rows are not archived" in ran.stderr
    assert "modelward logs archive chat 1 --to URL" in ran.stderr
    assert ws.registry.get_version("chat", 1).stage == "deprecated"

    target = tmp_path / "archive"
    ran = cli("logs", "archive", "chat", "1", "--to", f"file://{target}", "--json")
    assert ran.exit_code == 0, ran.stderr
    files = {f["kind"]: f for f in ran.json["files"]}
    predictions = pq.read_table(files["predictions"]["path"])
    assert predictions.num_rows == 4 == files["predictions"]["rows"]
    assert set(predictions.column("version").to_pylist()) == {1}  # not version 2's row
    assert pq.read_table(files["feedback"]["path"]).num_rows == 1
    (run,) = ws.registry.list_runs(model="chat", kinds=["log-archive"])
    assert run.verdict == "pass" and run.id == ran.json["run"]

    ran = cli("transition", "chat", "1", "--to", "retired", "--reason", "done")
    assert ran.exit_code == 0, ran.stderr
    assert "gate migration: pass" in ran.stdout and "gate archive: pass" in ran.stdout
    assert ws.registry.get_version("chat", 1).stage == "retired"


def test_review_names_the_retirement_gate_and_apply_leaves_the_version(deprecated, cli):
    write_log(deprecated, "chat", [call(1, timedelta(hours=2))])
    ran = cli("lifecycle", "review", "chat", "--apply", "--json")
    assert ran.exit_code == 0, ran.stderr
    (proposal,) = [p for p in ran.json if p["version"] == 1]
    assert proposal["to"] == "retired" and not proposal["applied"]
    assert proposal["blocked"].startswith("gate migration: chat:1 served 1 predictions")
    assert deprecated.registry.get_version("chat", 1).stage == "deprecated"


def test_a_version_that_never_served_retires_without_an_archive(workspace):
    endpoint(workspace, "chat")
    workspace.transition("chat", 1, "retired", reason="never used")
    gates = workspace.registry.history("chat", version=1)[-1].details["gates"]
    assert all(g["passed"] for g in gates) and len(gates) == 2


def test_forced_retirement_is_recorded(deprecated, cli):
    write_log(deprecated, "chat", [call(1, timedelta(hours=1))])
    ran = cli("transition", "chat", "1", "--to", "retired", "--force", "--reason", "vendor gone")
    assert ran.exit_code == 0, ran.stderr
    assert "gate migration: FAIL (forced)" in ran.stdout
    event = deprecated.registry.history("chat", version=1)[-1]
    assert event.details["forced"] is True and event.reason == "vendor gone"


def test_an_archive_that_reads_back_differently_is_detected(deprecated, cli):
    import fsspec
    from fsspec.implementations.memory import MemoryFileSystem

    class Flipping(MemoryFileSystem):
        """Storage that hands back other bytes than it was given (one bit flipped)."""

        protocol = "flipping"
        store: dict = {}
        pseudo_dirs = [""]

        def cat_file(self, path, start=None, end=None, **kwargs):
            data = bytearray(super().cat_file(path, start, end, **kwargs))
            data[len(data) // 2] ^= 1
            return bytes(data)

        def _open(self, path, mode="rb", **kwargs):
            handle = super()._open(path, mode, **kwargs)
            if "r" in mode:
                import io

                data = bytearray(handle.read())
                data[len(data) // 2] ^= 1
                return io.BytesIO(bytes(data))
            return handle

    fsspec.register_implementation("flipping", Flipping, clobber=True)
    set_policy(deprecated, lifecycle={"migration_days": 1})
    ran = cli("logs", "archive", "chat", "1", "--to", "flipping://archive")
    assert ran.exit_code == 3
    assert "reads back differently" in ran.stderr and "archive to another place" in ran.stderr
    (run,) = deprecated.registry.list_runs(model="chat", kinds=["log-archive"])
    assert run.verdict == "fail"
    ran = cli("transition", "chat", "1", "--to", "retired", "--reason", "done")
    assert ran.exit_code == 2 and "gate archive failed" in ran.stderr


def test_archive_bad_input_is_one_line_and_records_nothing(deprecated, cli, tmp_path):
    a_file = tmp_path / "file.txt"
    a_file.write_text("x")
    for args, expected in (
        (("chat", "9", "--to", str(tmp_path)), "has no version '9'"),
        (("chat", "1", "--to", "nope://bucket/x"), "is not a folder or a URL modelward"),
        (("chat", "1"), "--to needs a folder or URL"),
        (("chat", "1", "--to", str(a_file)), "is (or is under) a file"),
    ):
        ran = cli("logs", "archive", *args)
        assert ran.exit_code == 2, (args, ran.stderr)
        assert expected in ran.stderr and len(ran.stderr.strip().splitlines()) == 1
    assert deprecated.registry.list_runs(kinds=["log-archive"]) == []


def test_a_log_in_s3_is_archived_to_s3_and_the_version_retires(deprecated, cli, s3, monkeypatch):
    """The log and the archive in S3-compatible storage (moto's server, over HTTP): the
    retirement gates read the log there, the archive is written there and read back."""
    import s3fs

    fs = s3fs.S3FileSystem()
    fs.put(str(deprecated.root / "logs"), f"{s3.bucket}/logs", recursive=True)
    monkeypatch.setenv("MODELWARD_LOGS", f"s3://{s3.bucket}/logs")
    set_policy(deprecated, lifecycle={"migration_days": 2})
    ran = cli("transition", "chat", "1", "--to", "retired", "--reason", "done")
    assert ran.exit_code == 2 and "3 prediction-log rows are not archived" in ran.stderr

    bad = cli("logs", "archive", "chat", "1", "--to", "s3://Not_A_Bucket/x")
    assert bad.exit_code == 2 and "is not an S3 bucket name" in bad.stderr
    ran = cli("logs", "archive", "chat", "1", "--to", f"s3://{s3.bucket}/archive", "--json")
    assert ran.exit_code == 0, ran.stderr
    files = {f["kind"]: f for f in ran.json["files"]}
    assert files["predictions"]["path"].startswith(f"s3://{s3.bucket}/archive/")
    with fs.open(files["predictions"]["path"], "rb") as handle:
        assert pq.read_table(handle).num_rows == 3
    ran = cli("transition", "chat", "1", "--to", "retired", "--reason", "done")
    assert ran.exit_code == 0, ran.stderr
    assert deprecated.registry.get_version("chat", 1).stage == "retired"
