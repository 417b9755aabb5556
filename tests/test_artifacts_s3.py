"""Artifacts in S3-compatible object storage (``MODELWARD_ARTIFACTS=s3://bucket/artifacts``),
on a real S3-protocol server (moto's standalone server on 127.0.0.1, reached over HTTP
through ``AWS_ENDPOINT_URL`` as MinIO is): a model registers, deploys and loads from the
bucket, and an object changed in the bucket is refused by name, as a local file is."""

from __future__ import annotations

import pytest

from conftest import FEATURES


@pytest.fixture
def db_url(tmp_path) -> str:
    """SQLite: these tests are about the artifact store, not the metadata DB."""
    return f"sqlite:///{tmp_path / 'ws' / 'modelward.db'}"


@pytest.fixture
def in_s3(s3, monkeypatch):
    """The workspace's artifacts in the test's bucket (set before the workspace opens)."""
    monkeypatch.setenv("MODELWARD_ARTIFACTS", f"s3://{s3.bucket}/artifacts")
    return s3


def _validated(ws, version: int) -> None:
    ws.registry.record_run(
        "validation", model="heart", version=version, inputs={}, results={}, verdict="pass"
    )
    ws.transition("heart", version, "testing", reason="test")


def _key(ws, version: int) -> str:
    sha = ws.registry.get_version("heart", version).sha256
    return f"artifacts/sha256/{sha[:2]}/{sha}"


def test_a_model_registers_deploys_and_loads_from_s3(in_s3, workspace, cli, fitted, cleveland):
    data = cleveland[[*FEATURES, "target"]]
    info = workspace.register("heart", fitted, data=data, target="target")
    assert workspace.artifacts_url == f"s3://{in_s3.bucket}/artifacts"
    listed = in_s3.client().list_objects_v2(Bucket=in_s3.bucket)["Contents"]
    assert _key(workspace, 1) in {item["Key"] for item in listed}
    assert not list((workspace.root / "artifacts").rglob("*"))  # nothing kept locally
    _validated(workspace, 1)
    ran = cli("deploy", "heart", "--version", "1", "--env", "staging")
    assert ran.exit_code == 0, ran.stderr
    shown = cli("versions", "show", "heart", "1", "--json").json
    assert shown["integrity"]["status"] == "ok"
    loaded = workspace.load_model("heart", info.version)
    assert (loaded.predict(cleveland[FEATURES]) == fitted.predict(cleveland[FEATURES])).all()


def test_an_object_changed_in_the_bucket_is_refused_by_name(
    in_s3, workspace, cli, fitted, cleveland
):
    from modelward import ArtifactDamaged

    workspace.register("heart", fitted, data=cleveland[[*FEATURES, "target"]], target="target")
    _validated(workspace, 1)
    key = _key(workspace, 1)
    client = in_s3.client()
    data = bytearray(client.get_object(Bucket=in_s3.bucket, Key=key)["Body"].read())
    data[len(data) // 2] ^= 0x01
    client.put_object(Bucket=in_s3.bucket, Key=key, Body=bytes(data))
    where = f"s3://{in_s3.bucket}/{key}"

    ran = cli("deploy", "heart", "--version", "1", "--env", "staging")
    assert ran.exit_code == 3, ran.stdout  # storage failed, not the input
    assert ran.stderr.count("\n") == 1 and where in ran.stderr and "corrupted" in ran.stderr
    assert workspace.deployments.list() == []
    integrity = cli("versions", "show", "heart", "1", "--json").json["integrity"]
    assert integrity["status"] == "corrupt" and where in integrity["detail"]
    with pytest.raises(ArtifactDamaged, match="corrupted"):
        workspace.load_model("heart", 1)
    client.delete_object(Bucket=in_s3.bucket, Key=key)
    assert cli("versions", "show", "heart", "1", "--json").json["integrity"]["status"] == "missing"
