"""The LLM gateway as a team runs it across hosts: `modelward serve` replicas on hosts a
and b (each mounting the gateway, with its own llm.yml), PostgreSQL, Redis and the fake
providers reached over each host's own link, nginx in front for the client host, the
official openai SDK as the client.

(5) The month's budget holds across both replicas through Redis: the spend never passes
it by more than the calls in flight, and once it is spent both replicas refuse.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator

import pytest
import yaml

from llm.conftest import fake, fleet, llm_ws
from modelward.llm.routing import save_routes
from scale.conftest import Team, answered, assembled

__all__ = ["fake", "fleet", "llm_ws"]

pytestmark = pytest.mark.postgres

REDIS_PORT = 6379


BUDGET = 0.005  # about 21 answers of `good` at its price in the fake llm.yml


@pytest.fixture
def llm_team(hosts, fleet, fake, s3, nginx, tmp_path, redis_prefix) -> Iterator[Team]:
    save_routes(fleet, {"factual": {"models": ["good"]}}, reason="team")
    config = yaml.safe_load((fleet.root / "llm.yml").read_text())
    config["gateway"] = {
        "redis_url": f"redis://127.0.0.1:{REDIS_PORT}/0",  # each host: its gateway address
        "redis_prefix": redis_prefix,
        "flush_ms": 60_000,  # the DB's spend alone would reach the other replica a minute late
        "cache_ttl_s": 0,
    }
    (fleet.root / "llm.yml").write_text(yaml.safe_dump(config))
    policy = yaml.safe_load((fleet.root / "policy.yml").read_text())
    policy.setdefault("llm", {})["monthly_budget"] = BUDGET
    (fleet.root / "policy.yml").write_text(yaml.safe_dump(policy))
    rows = tmp_path / "rows.json"
    rows.write_text("[]")
    with assembled(
        hosts, fleet, nginx, tmp_path, rows=rows, ports=(fake.port, REDIS_PORT, s3.port)
    ) as team:
        yield team


def test_the_monthly_budget_holds_across_hosts_through_redis(llm_team, tmp_path):
    from modelward.llm.usage import month_spend

    threads = 4
    out = tmp_path / "chat.jsonl"
    assert llm_team.traffic(80, out, threads, kind="chat").wait(timeout=300) == 0
    got = answered(out)
    assert Counter((a["status"], a.get("code")) for a in got).keys() == {
        (200, None), (429, "budget_exceeded")
    }  # fmt: skip
    upstreams = llm_team.balancer.logged(80, path="/v1/chat/completions")
    for host in llm_team.hosts[:2]:  # both replicas answered, and both refused
        statuses = {line.split('" ', 1)[1].split()[0] for line in upstreams
                    if f"upstream={host.address}:" in line}  # fmt: skip
        assert statuses == {"200", "429"}, (host.name, statuses)
    ok = sum(a["status"] == 200 for a in got)
    for server in llm_team.replicas.values():
        assert server.stop(timeout=60) == 0, server.output()  # usage rows flushed
    spent = month_spend(llm_team.ws.db)
    per_call = spent / ok
    assert BUDGET <= spent <= BUDGET + threads * per_call * 1.01, (spent, ok)
    print(f"scenario 5: {ok} answered, spent ${spent:.5f} of ${BUDGET} ({threads} in flight)")
