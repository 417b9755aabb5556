"""A team's deployment across hosts (network namespaces, PostgreSQL over each host's own
link, nginx in front of two replicas): what a user checks after each incident.

(1) traffic through nginx: every acknowledged request in the shared log exactly once and
seen by monitoring; (2) a replica SIGKILLed mid-traffic: the other keeps answering, the
killed one restarts and replays, nothing acknowledged lost, nothing duplicated but a
request nginx took from the killed replica after it had logged it (docs/scale.md, Known
limits); (4) a deployment change and a token revocation made on one host reach the other
host's replica within ``serving.follow_ms``; (6) a host loses PostgreSQL: its replica says
so in /readyz and keeps answering from what it read, its CLI fails with one line naming
the database;
(3) the object store (moto's S3 server; artifacts and log live there) stops for 20 s
under traffic: answers continue and every acknowledged row arrives once it returns.
"""

from __future__ import annotations

import json
import signal
import time
from collections import Counter

import httpx
import pyarrow.dataset as ds
import pytest

from scale.conftest import PG_PORT, REPLICA_PORT, Team, answered
from scale.hosts import wait_until

pytestmark = pytest.mark.postgres


def logged_ids(team: Team) -> Counter[str]:
    """How often each request id is in the shared log's published predictions (in S3)."""
    import s3fs

    store = s3fs.S3FileSystem()
    store.invalidate_cache()
    folder = team.ws.logs_url.removeprefix("s3://") + "/predictions"
    try:
        found = ds.dataset(folder, filesystem=store, format="parquet", partitioning="hive")
    except FileNotFoundError:  # nothing published yet (a writer backing off after an outage)
        return Counter()
    table = found.to_table(columns=["request_id"])
    return Counter(table.column("request_id").to_pylist())


def stop_gracefully(team: Team) -> None:
    """SIGTERM every replica: each publishes what it holds before it exits."""
    for server in team.replicas.values():
        assert server.stop(signal.SIGTERM, timeout=60) == 0, server.output()


def test_traffic_through_the_balancer_is_logged_once_and_monitored(team, tmp_path):
    out = tmp_path / "answers.jsonl"
    assert team.traffic(300, out).wait(timeout=300) == 0
    got = answered(out)
    acknowledged = {a["id"] for a in got if a["status"] == 200}
    assert len(acknowledged) == 300, Counter(a["status"] for a in got)
    lines = team.balancer.logged(300)
    per_replica = [sum(f"upstream={h.address}:" in line for line in lines) for h in team.hosts[:2]]
    assert min(per_replica) >= 50, per_replica  # both hosts served
    stop_gracefully(team)
    counts = logged_ids(team)
    assert set(counts) == acknowledged and set(counts.values()) == {1}
    host_a = team.hosts[0]
    ran = team.cli(host_a, "monitor", "predictions", "heart", "--last", "1h", "--json")
    assert ran.returncode == 0, ran.stderr
    seen = json.loads(ran.stdout)["results"]
    assert (seen["predictions"], seen["errors"]) == (300, 0)
    print(f"scenario 1: 300 answered, per replica {per_replica}, {len(counts)} logged once")


def test_a_replica_killed_mid_traffic_loses_and_duplicates_nothing(team, tmp_path):
    out = tmp_path / "answers.jsonl"
    client = team.traffic(0, out, threads=4)
    a, b = team.hosts[:2]
    time.sleep(3)
    team.replicas[a.name].proc.send_signal(signal.SIGKILL)
    team.replicas[a.name].proc.wait(timeout=20)
    time.sleep(3)  # the other replica answers everything meanwhile
    restarted = team.start_replica(a)  # replays what the killed one had not published
    time.sleep(2)
    (tmp_path / "answers.jsonl.stop").write_text("")
    assert client.wait(timeout=120) == 0
    got = answered(out)
    acknowledged = {x["id"] for x in got if x["status"] == 200}
    failed = [x for x in got if x["status"] != 200]
    assert len(acknowledged) > 100 and restarted.proc.poll() is None
    # nginx sent each one the killed replica lost elsewhere
    assert not failed, (failed[:5], _access_lines(team, failed[:5]))
    stop_gracefully(team)
    counts = logged_ids(team)
    assert acknowledged <= set(counts), sorted(acknowledged - set(counts))[:5]
    twice = {rid: n for rid, n in counts.items() if n > 1}
    # docs/scale.md, Known limits: a request the killed replica had logged, not yet
    # answered, and nginx then sent to the other replica is in the log twice (until
    # `logs compact`); any other id twice is a bug.
    retried = _retried_away_from(team, a)
    assert set(twice) <= retried and set(twice.values()) <= {2}, (twice, sorted(retried))
    took = f"{len(twice)} twice of the {len(retried)} nginx took from the killed replica"
    print(f"scenario 2: {len(acknowledged)} acknowledged, all logged, {took}")


def test_the_object_store_stopped_under_traffic(team, s3, tmp_path):
    """S3 stops answering for 20 s while the client sends: every request is still
    answered, the replicas keep their rows in their own write-ahead folders, and once the
    store is back every acknowledged id arrives in the bucket, once."""
    out = tmp_path / "answers.jsonl"
    client = team.traffic(0, out, threads=2)
    time.sleep(3)
    s3.stop()
    try:
        time.sleep(20)
        for server in team.replicas.values():  # still ready: the outage costs no answers
            assert httpx.get(server.url + "/readyz", timeout=5).status_code == 200
    finally:
        s3.start()
    time.sleep(3)
    (tmp_path / "answers.jsonl.stop").write_text("")
    assert client.wait(timeout=120) == 0
    got = answered(out)
    acknowledged = {a["id"] for a in got if a["status"] == 200}
    assert len(acknowledged) == len(got) > 200, Counter(a["status"] for a in got)

    def arrived() -> bool:
        return acknowledged <= set(logged_ids(team))

    wait_until(arrived, 60, "every acknowledged row in the bucket")  # published, not flushed
    stop_gracefully(team)
    counts = logged_ids(team)
    assert set(counts) == acknowledged and set(counts.values()) == {1}
    print(f"scenario 3: {len(acknowledged)} acknowledged across a 20 s outage, all in S3 once")


def _version_on(url: str, token: str) -> int | None:
    row = {"age": 60, "sex": 1, "cp": 4, "trestbps": 140, "chol": 250, "fbs": 0,
           "restecg": 0, "thalach": 140, "exang": 1, "oldpeak": 1.5, "slope": 2, "ca": 1,
           "thal": 7}  # fmt: skip
    answer = httpx.post(url + "/v1/models/heart/predict", json={"inputs": row},
                        headers={"Authorization": f"Bearer {token}"}, timeout=10)  # fmt: skip
    return answer.json().get("version") if answer.status_code == 200 else answer.status_code


def test_changes_made_on_one_host_reach_the_other_within_the_stated_delay(team):
    a, b = team.hosts[:2]
    replica_b = team.replicas[b.name].url
    follow_s = team.ws.policy.serving.follow_ms / 1000
    assert _version_on(replica_b, team.token) == 1

    deployed = team.cli(a, "deploy", "heart", "--version", "2", "--force", "--reason", "team")
    assert deployed.returncode == 0, deployed.stderr
    took = wait_until(lambda: _version_on(replica_b, team.token) == 2, 30, "v2 on host b")
    assert took <= follow_s + 2.0, took  # the poll, then loading v2's model
    print(f"scenario 4: v2 served on host b {took:.2f} s after the deploy on host a")

    revoked = team.cli(a, "tokens", "revoke", "client")
    assert revoked.returncode == 0, revoked.stderr
    took = wait_until(lambda: _version_on(replica_b, team.token) == 401, 30, "401 on host b")
    assert took <= follow_s + 0.5, took


def test_a_host_without_postgresql_keeps_answering_and_says_why(team):
    a, b = team.hosts[:2]
    replica_b = team.replicas[b.name].url
    b.cut(PG_PORT)  # host b loses the database; host a keeps it

    def unready() -> bool:
        return httpx.get(replica_b + "/readyz", timeout=5).status_code == 503

    wait_until(unready, 30, "host b's replica says it is not ready")
    ready = httpx.get(replica_b + "/readyz", timeout=5).json()
    assert "metadata database unreachable" in ready["reason"]
    assert ready["db"] is False
    assert _version_on(replica_b, team.token) == 1  # from what it last read
    assert httpx.get(team.replicas[a.name].url + "/readyz", timeout=5).status_code == 200

    for args in (("models", "list"), ("deployments", "list")):
        ran = team.cli(b, *args)
        assert ran.returncode == 3, (args, ran.stdout, ran.stderr)
        lines = ran.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in ran.stderr, ran.stderr
        assert "metadata DB" in lines[0] and f"{b.gateway}:{PG_PORT}" in lines[0], lines[0]

    b.reach(PG_PORT)  # back
    wait_until(lambda: not unready(), 30, "host b's replica is ready again")
    assert team.cli(b, "models", "list").returncode == 0


def _access_lines(team, failed: list[dict]) -> list[str]:
    """nginx's access-log lines of the failed requests (what the balancer saw of them)."""
    ids = {f"id={x['id']} " for x in failed}
    log = team.balancer.access_log.read_text(encoding="utf-8").splitlines()
    return [line for line in log if any(i in line for i in ids)]


def _retried_away_from(team, host) -> set[str]:
    """The request ids nginx sent to ``host``'s replica first and, that one failing (the
    replica killed under them), to another (the access log's ``upstream=A, B``)."""
    first = f"upstream={host.address}:{REPLICA_PORT}, "
    log = team.balancer.access_log.read_text(encoding="utf-8").splitlines()
    return {line.split(" id=", 1)[1].split(" ", 1)[0] for line in log if first in line}
