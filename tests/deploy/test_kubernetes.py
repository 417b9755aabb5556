"""The Kubernetes manifests and the Dockerfile, which cannot run here (no cluster, no
container engine): well-formed, agreeing with each other and with the CLI, and the
ConfigMap's policy.yml both passes modelward's loader and serves as a pod's whole
workspace folder (an emptyDir holding only that file, everything else elsewhere)."""

from __future__ import annotations

import json
import re
import signal
import tomllib
from pathlib import Path

import pytest
import yaml

from conftest import FEATURES, ROOT
from deploy.kit import DOCKERFILE, KUBERNETES, README, _containers, dockerfile_instructions
from modelward.workspace.layout import Layout
from serving.conftest import send_predictions


def manifests() -> dict[str, dict]:
    found = {}
    for path in sorted(KUBERNETES.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text(encoding="utf-8")):
            assert doc["kind"] not in found, f"two {doc['kind']} manifests"
            found[doc["kind"]] = doc
    return found


def container(kind: str) -> dict:
    (only,) = _containers(manifests()[kind])
    return only


def policy_text() -> str:
    return manifests()["ConfigMap"]["data"][Layout.POLICY]


def flag(args: list[str], name: str) -> str:
    return args[args.index(name) + 1]


def test_the_set_is_a_deployment_a_service_a_cronjob_and_the_policy():
    assert set(manifests()) == {"ConfigMap", "Deployment", "Service", "CronJob"}


def test_the_service_sends_to_the_deployments_pods_on_the_served_port():
    found = manifests()
    labels = found["Deployment"]["spec"]["template"]["metadata"]["labels"]
    assert found["Deployment"]["spec"]["selector"]["matchLabels"].items() <= labels.items()
    assert found["Service"]["spec"]["selector"].items() <= labels.items()
    server = container("Deployment")
    ports = {port["name"]: port["containerPort"] for port in server["ports"]}
    (service_port,) = found["Service"]["spec"]["ports"]
    assert ports[service_port["targetPort"]] == int(flag(server["args"], "--port"))
    assert flag(server["args"], "--host") == "0.0.0.0"


def test_the_probes_ask_the_servers_health_routes():
    server = container("Deployment")
    assert server["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert server["livenessProbe"]["httpGet"]["path"] == "/healthz"
    for probe in ("readinessProbe", "livenessProbe", "startupProbe"):
        assert server[probe]["httpGet"]["port"] == "http"


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_policy_yml_is_mounted_where_the_workspace_reads_it(kind):
    found = manifests()
    spec = container(kind)
    home = {e["name"]: e.get("value") for e in spec["env"]}["MODELWARD_HOME"]
    mounts = {m["mountPath"]: m for m in spec["volumeMounts"]}
    mount = mounts[str(Layout.of(Path(home)).policy)]
    assert mount["subPath"] == Layout.POLICY and mount["readOnly"] is True
    assert home in mounts, "the workspace folder itself must be writable (wal/, reports/)"
    pod = found[kind]["spec"]
    pod = pod["jobTemplate"]["spec"] if kind == "CronJob" else pod
    volumes = {v["name"]: v for v in pod["template"]["spec"]["volumes"]}
    assert volumes[mount["name"]]["configMap"]["name"] == found["ConfigMap"]["metadata"]["name"]
    assert spec["envFrom"] == [{"secretRef": {"name": "modelward-env"}}]


@pytest.mark.parametrize("kind", ["Deployment", "CronJob"])
def test_pods_run_as_the_images_user_without_privileges(kind):
    found = manifests()[kind]["spec"]
    pod = (found["jobTemplate"]["spec"] if kind == "CronJob" else found)["template"]["spec"]
    uid = dockerfile_instructions()["USER"][0].split(":")[0]
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert str(pod["securityContext"]["runAsUser"]) == uid
    spec = container(kind)
    assert spec["securityContext"]["allowPrivilegeEscalation"] is False
    assert spec["securityContext"]["readOnlyRootFilesystem"] is True
    assert spec["securityContext"]["capabilities"]["drop"] == ["ALL"]


def test_the_image_serves_on_the_port_it_exposes_and_names_one_workspace():
    found = dockerfile_instructions()
    cmd = json.loads(found["CMD"][0])
    assert found["EXPOSE"] == [flag(cmd, "--port")]
    assert json.loads(found["ENTRYPOINT"][0]) == ["modelward"]
    home = {e["name"]: e.get("value") for e in container("Deployment")["env"]}["MODELWARD_HOME"]
    assert f"MODELWARD_HOME={home}" in " ".join(found["ENV"])
    for copied in ("pyproject.toml", "README.md", "src"):
        assert (ROOT / copied).exists()


def test_one_image_tag_everywhere_and_it_is_the_packages_version():
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    tag = f"modelward:{version}"
    assert container("Deployment")["image"] == tag
    assert container("CronJob")["image"] == tag
    assert f"-t {tag} ." in README.read_text(encoding="utf-8")
    assert f"-t {tag} ." in DOCKERFILE.read_text(encoding="utf-8")


def test_the_configmaps_policy_passes_modelwards_loader():
    from modelward.policy.io import parse_policy

    policy = parse_policy(policy_text(), source="configmap.yaml")
    assert policy.rollout.max_error_rate == 0.05
    assert policy.serving.predict_timeout_s == 30
    bad = policy_text().replace("max_error_rate:", "max_eror_rate:")
    with pytest.raises(Exception, match="max_eror_rate"):
        parse_policy(bad, source="configmap.yaml")


def test_a_pod_shaped_workspace_serves_and_runs_the_daily_runbook(
    tmp_path, monkeypatch, start_server, cli, cleveland, fitted
):
    """The pod's workspace is an empty folder plus the ConfigMap's policy.yml; the
    metadata, artifacts and log live elsewhere (the Secret's variables)."""
    from modelward import Workspace

    pod, shared = tmp_path / "pod", tmp_path / "shared"
    pod.mkdir()
    shared.mkdir()
    (pod / Layout.POLICY).write_text(policy_text(), encoding="utf-8")
    (pod / Layout.POLICY).chmod(0o444)
    monkeypatch.setenv("MODELWARD_HOME", str(pod))
    monkeypatch.setenv("MODELWARD_DB_URL", f"sqlite:///{shared / 'meta.db'}")
    monkeypatch.setenv("MODELWARD_ARTIFACTS", str(shared / "artifacts"))
    monkeypatch.setenv("MODELWARD_LOGS", str(shared / "logs"))
    with Workspace.open() as ws:  # as the registry would be filled from anywhere
        data = cleveland[[*FEATURES, "target"]]
        ws.register("heart", fitted, data=data, target="target")
        ws.transition("heart", 1, "testing", reason="pod test")
        ws.deployments.deploy("heart", 1, "production", reason="pod test", force=True)

    server = start_server("--host", "127.0.0.1")
    assert server.url, server.output()
    ids = send_predictions(server.url, cleveland, 12)
    assert server.stop(signal.SIGTERM) == 0, server.output()
    assert "prediction log flushed" in server.output()

    ran = cli("runbook", "daily", "--all-envs", "--no-plots", "--json")
    # exit 1: the metrics check ran and failed, as it must with no labels yet
    assert ran.exit_code == 1, ran.stderr
    assert "too few labels" in ran.stderr
    (report,) = ran.json
    assert report["model"] == "heart"
    served = re.findall(r'"v1": \{"predictions": (\d+)', json.dumps(report))
    assert served and set(served) == {str(len(ids))}  # every row the pod logged
    written = sorted(p.suffix for p in (pod / "reports").glob("heart-daily-*"))
    assert written == [".html", ".json"]
