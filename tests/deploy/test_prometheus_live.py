"""Debian's Prometheus, run from deploy/prometheus/prometheus.yml (targets, token file and
intervals replaced), scrapes a real `modelward serve` replica through its admin token and
evaluates every alert rule on what it scraped without an error."""

from __future__ import annotations

import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from conftest import FEATURES
from deploy.kit import PROMETHEUS, dashboard_exprs, free_port, rule_exprs, tool
from serving.conftest import wait_for


@pytest.fixture
def prometheus_bin() -> str:
    found = tool("prometheus", "/usr/bin/prometheus")
    if found is None:
        pytest.skip(
            "needs Debian's prometheus (apt-get install prometheus; `make test` installs it "
            "when run as root)"
        )
    return found


def configure(tmp_path: Path, target: str, token: str) -> Path:
    config = yaml.safe_load((PROMETHEUS / "prometheus.yml").read_text(encoding="utf-8"))
    config["global"] = {"scrape_interval": "1s", "evaluation_interval": "1s"}
    config["rule_files"] = [str(PROMETHEUS / name) for name in config["rule_files"]]
    (job,) = config["scrape_configs"]
    job["static_configs"] = [{"targets": [target]}]
    token_file = tmp_path / "modelward-token"
    token_file.write_text(token, encoding="utf-8")
    job["authorization"]["credentials_file"] = str(token_file)
    path = tmp_path / "prometheus.yml"
    path.write_text(yaml.safe_dump(config), encoding="utf-8")
    return path


@pytest.fixture
def prometheus(prometheus_bin, tmp_path) -> Iterator[Callable[[str, str], str]]:
    procs: list[subprocess.Popen[bytes]] = []

    def start(target: str, token: str) -> str:
        port = free_port()
        with (tmp_path / "prometheus.log").open("wb") as log:
            procs.append(
                subprocess.Popen(
                    [
                        prometheus_bin,
                        f"--config.file={configure(tmp_path, target, token)}",
                        f"--storage.tsdb.path={tmp_path / 'tsdb'}",
                        f"--web.listen-address=127.0.0.1:{port}",
                    ],
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
        return f"http://127.0.0.1:{port}"

    yield start
    for proc in procs:
        proc.terminate()
        proc.wait(timeout=30)


def query(url: str, expr: str) -> list[dict]:
    reply = httpx.get(url + "/api/v1/query", params={"query": expr}, timeout=10).json()
    assert reply["status"] == "success", reply
    return reply["data"]["result"]


def test_prometheus_scrapes_a_replica_with_its_token_and_every_rule_evaluates(
    deployed, start_server, prometheus, cleveland
):
    _, admin = deployed.tokens.create("prometheus", ["admin"])
    _, client = deployed.tokens.create("app", ["predict"])
    replica = start_server()
    assert replica.url, replica.output()
    assert httpx.get(replica.url + "/metrics", timeout=10).status_code == 401
    url = prometheus(replica.url.removeprefix("http://"), admin)

    rows = cleveland[FEATURES].fillna(0).iloc[:15].to_dict(orient="records")
    with httpx.Client(base_url=replica.url, timeout=30) as http:
        for row in rows:
            reply = http.post(
                "/v1/models/heart/predict",
                json={"inputs": row},
                headers={"Authorization": f"Bearer {client}"},
            )
            assert reply.status_code == 200, reply.text

    def scraped() -> bool:
        try:
            found = query(url, 'sum(modelward_requests_total{model="heart",status="ok"})')
        except (httpx.TransportError, ValueError):  # not listening, or still starting
            return False
        return bool(found) and float(found[0]["value"][1]) == len(rows)

    wait_for(scraped, 60, "Prometheus scraped the replica's 15 predictions")
    assert [float(r["value"][1]) for r in query(url, 'up{job="modelward"}')] == [1.0]

    def evaluated() -> list[dict]:
        reply = httpx.get(url + "/api/v1/rules", timeout=10).json()
        return [r for g in reply["data"]["groups"] for r in g["rules"]]

    def every_rule_evaluated() -> bool:
        return all(not r["lastEvaluation"].startswith("0001") for r in evaluated())

    wait_for(every_rule_evaluated, 60, "Prometheus evaluated every rule")
    rules = evaluated()
    assert sorted(r["name"] for r in rules) == sorted(name for name, _ in rule_exprs())
    broken = [(r["name"], r.get("lastError")) for r in rules if r["health"] != "ok"]
    assert not broken, broken
    # nothing is wrong with a healthy replica: no alert fires
    assert not [r["name"] for r in rules if r["state"] == "firing"]

    # and every query of the dashboard runs on what it scraped
    for title, expr in dashboard_exprs():
        concrete = expr.replace("$__rate_interval", "1m").replace('"$job"', '"modelward"')
        concrete = concrete.replace('=~"$model"', '=~".*"')
        assert "$" not in concrete, f"{title}: a variable left in {concrete}"
        query(url, concrete)  # asserts the query succeeded
    # a rate needs two scrapes of the counter: the first one above may be its only one yet
    rate = 'sum(rate(modelward_requests_total{job="modelward"}[1m]))'
    wait_for(lambda: bool(query(url, rate)), 30, "a request rate from two scrapes")
