"""deploy/nginx/modelward.conf: nginx's own `nginx -t` accepts it, its limits are the
server's, and nginx run from it (as root, in a temporary prefix, on 127.0.0.1) in front of
two real `modelward serve` replicas spreads predictions over both, skips a stopped one, and
refuses exactly the bodies the replicas refuse."""

from __future__ import annotations

import re
import signal
import time
from collections.abc import Iterator

import httpx
import pytest

from deploy.balancer import (
    Balancer,
    configure,
    nginx_test,
    served_ok,
    spawn_server,
    start_balancer,
    stop_balancer,
)
from deploy.kit import NGINX_CONF
from modelward.http.request import MAX_BODY
from serving.conftest import Server, send_predictions


def directive(name: str, text: str | None = None) -> str:
    """The value of the first ``name …;`` in the shipped configuration."""
    found = re.search(rf"^\s*{name}\s+([^;]+);", text or NGINX_CONF.read_text(), re.MULTILINE)
    assert found, f"no {name} in {NGINX_CONF}"
    return found.group(1).strip()


def seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)(ms|s|m)?", value).groups()
    return int(number) * {"ms": 0.001, "s": 1, "m": 60, None: 1}[unit]


def test_nginx_accepts_the_configuration_as_shipped(nginx, tmp_path):
    done = nginx_test(nginx, configure(tmp_path))
    assert done.returncode == 0, done.stderr
    assert "test is successful" in done.stderr
    # and nginx -t does refuse a broken one
    (tmp_path / "modelward.conf").write_text(
        NGINX_CONF.read_text().replace("proxy_read_timeout 35s;", "proxy_read_timeout;")
    )
    broken = nginx_test(nginx, tmp_path / "nginx.conf")
    assert broken.returncode != 0 and "proxy_read_timeout" in broken.stderr


def test_the_limits_follow_the_servers_own():
    from modelward.policy.model import Policy

    serving = Policy().serving
    size = directive("client_max_body_size")
    assert size.endswith("m") and int(size[:-1]) * 1024 * 1024 == MAX_BODY
    assert seconds(directive("client_header_timeout")) == serving.header_timeout_s
    # idle upstream connections close before a replica closes them under a request
    assert seconds(directive("keepalive_timeout")) < serving.keep_alive_s
    # a replica answers its own 504 model_timeout before nginx gives up on it
    assert seconds(directive("proxy_read_timeout")) > serving.predict_timeout_s
    # only what a replica says of itself takes it out (not a provider's 502, a model's
    # 504), and a prediction it refused goes to the next one
    retried = ["error", "timeout", "http_503", "non_idempotent"]
    assert directive("proxy_next_upstream").split() == retried


# -- nginx in front of two replicas -------------------------------------------------------


@pytest.fixture
def replicas(deployed, start_server):
    """Two `modelward serve` processes on one workspace (heart v1 in production)."""
    servers = [start_server(), start_server()]
    for server in servers:
        assert server.url, server.output()
    return servers


@pytest.fixture
def balancer(balancer_of, replicas) -> Balancer:
    return balancer_of(replicas)


def test_predictions_are_spread_over_both_replicas_and_a_stopped_one_is_skipped(
    balancer, replicas, cleveland
):
    first, second = replicas
    ids = send_predictions(balancer.url, cleveland, 20)
    counts = [served_ok(server.url) for server in replicas]
    assert sum(counts) == 20 and min(counts) >= 5, counts

    assert first.stop(signal.SIGTERM) == 0, first.output()
    before = served_ok(second.url)
    balancer.logged(20)
    ids += send_predictions(balancer.url, cleveland, 20, start=20)  # each answered 200
    assert served_ok(second.url) - before == 20
    assert len(set(ids)) == 40

    stopped = first.url.removeprefix("http://")
    lines = balancer.logged(40)[20:]
    assert len(lines) == 20
    tried_stopped = [line for line in lines if stopped in line]
    # a refused connection is retried on the other replica within the same request, and
    # after max_fails refusals nginx stops trying the stopped one for fail_timeout
    assert tried_stopped, "round robin sends the stopped replica a request first"
    assert all(re.search(r"upstream_status=502, 200 ", line) for line in tried_stopped)
    assert len(tried_stopped) < len(lines) / 2, tried_stopped


@pytest.fixture(scope="module")
def shared(nginx, tmp_path_factory, cleveland, fitted) -> Iterator[tuple[Balancer, list[Server]]]:
    """nginx in front of two replicas of heart v1, for the tests that change none of them
    (started once: two replicas take seconds)."""
    from conftest import FEATURES, heart_policy
    from modelward import Workspace

    base = tmp_path_factory.mktemp("shared")
    with Workspace.init(base / "ws", policy=heart_policy()) as ws:
        data = cleveland[[*FEATURES, "target"]].astype({"age": "int64"})
        ws.register("heart", fitted, data=data, target="target")
        ws.transition("heart", 1, "testing", reason="fixture")
        ws.deployments.deploy("heart", 1, "production", reason="fixture", force=True)
    servers: list[Server] = []
    balancer = None
    try:
        for n in range(2):
            servers.append(spawn_server(base / "ws", base / f"server-{n}.log"))
        balancer = start_balancer(nginx, base / "nginx", servers)
        yield balancer, servers
    finally:
        if balancer is not None:
            stop_balancer(balancer.proc)
        for server in servers:
            assert server.stop(signal.SIGTERM) == 0, server.output()


def test_request_ids_pass_through_and_nginx_gives_one_when_the_client_did_not(shared, cleveland):
    balancer, _ = shared
    row = cleveland.drop(columns="target").fillna(0).iloc[0].to_dict()
    with httpx.Client(base_url=balancer.url, timeout=30) as http:
        mine = http.post(
            "/v1/models/heart/predict", json={"inputs": row}, headers={"X-Request-Id": "lb-7"}
        )
        given = http.post("/v1/models/heart/predict", json={"inputs": row})
    assert mine.status_code == 200 and mine.json()["request_id"] == "lb-7"
    generated = given.json()["request_id"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated), generated
    assert balancer.line_with(f"id={generated} ")
    assert balancer.line_with("id=lb-7 ")


def test_metrics_are_scraped_from_replicas_not_through_the_balancer(shared):
    balancer, replicas = shared
    reply = httpx.get(balancer.url + "/metrics", timeout=10)
    assert reply.status_code == 404
    assert reply.json()["error"]["code"] == "not_found"
    assert "scrape each replica directly" in reply.json()["error"]["message"]
    assert httpx.get(replicas[0].url + "/metrics", timeout=10).status_code == 200


def test_nginx_refuses_exactly_the_bodies_a_replica_refuses(shared):
    balancer, replicas = shared
    replica = replicas[0].url
    headers = {"Content-Type": "application/json"}
    over, limit = b"x" * (MAX_BODY + 1), b"x" * MAX_BODY
    with httpx.Client(timeout=60, headers=headers) as http:
        direct = http.post(replica + "/v1/models/heart/predict", content=over)
        refused = http.post(balancer.url + "/v1/models/heart/predict", content=over)
        passed = http.post(balancer.url + "/v1/models/heart/predict", content=limit)
        passed_direct = http.post(replica + "/v1/models/heart/predict", content=limit)
    assert direct.status_code == refused.status_code == 413
    assert refused.json() == direct.json()  # the replica's own answer, given by nginx
    assert refused.headers["content-type"].startswith("application/json")
    # a body at the limit reaches a replica, which answers it as it would directly
    assert passed.status_code == passed_direct.status_code != 413
    assert passed.json()["error"]["code"] == passed_direct.json()["error"]["code"]


@pytest.fixture
def one_not_ready(deployed, start_server) -> list[Server]:
    """A ready replica, and one whose metadata database does not answer: it starts and
    answers 503 with the reason until the database does (docs/serving.md)."""
    ready = start_server()
    dead_db = "postgresql+psycopg://modelward@127.0.0.1:1/modelward"
    broken = start_server(env={"MODELWARD_DB_URL": dead_db}, wait_ready=False)
    assert ready.url and broken.url, ready.output() + broken.output()
    assert httpx.get(broken.url + "/readyz", timeout=10).status_code == 503
    return [broken, ready]


def test_a_replica_that_is_not_ready_is_taken_out_and_its_503s_retried(
    balancer_of, one_not_ready, cleveland
):
    broken, ready = one_not_ready
    balancer = balancer_of(one_not_ready)
    began = time.monotonic()
    ids = send_predictions(balancer.url, cleveland, 20)  # each answered 200
    took = time.monotonic() - began
    assert served_ok(ready.url) == 20 and len(set(ids)) == 20
    assert served_ok(broken.url) == 0

    lines = balancer.logged(20)
    met_broken = [line for line in lines if broken.url.removeprefix("http://") in line]
    # round robin sends it one of the first; its 503 is retried on the ready replica ...
    assert met_broken and all("upstream_status=503, 200 " in line for line in met_broken)
    # ... until max_fails (2) take it out for fail_timeout (10 s): at most 2 per 10 s
    assert len(met_broken) <= 2 * (1 + int(took // 10)), met_broken
    with httpx.Client(base_url=balancer.url, timeout=30) as http:
        assert http.get("/readyz").status_code == 200  # some replica is ready
