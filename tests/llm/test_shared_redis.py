"""The LLM gateway's budgets and response cache shared through a real Redis: two real
`modelward serve` replicas (each mounting the gateway) on one workspace, fake providers
speaking the OpenAI protocol, the official openai SDK as the client.

Redis is the one at 127.0.0.1:6379 (each test's keys under a prefix of its own, deleted
after it), or a `redis-server` the test starts and kills itself (the outage)."""

from __future__ import annotations

import subprocess
import threading
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import yaml

from conftest import REDIS_URL
from deploy.balancer import counted
from deploy.kit import free_port
from llm.conftest import fake, fleet, llm_ws
from modelward.llm.routing import save_routes
from serving.conftest import start_server, wait_for

__all__ = ["fake", "fleet", "llm_ws", "start_server"]

SHARED = REDIS_URL


@pytest.fixture
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """SQLite (the replicas share its file), or PostgreSQL where a test asks for both
    (``ENGINES``): the budget's record of truth on the team's engine."""
    if getattr(request, "param", "sqlite") == "postgresql":
        return str(request.getfixturevalue("pg_url"))
    return f"sqlite:///{tmp_path / 'ws' / 'modelward.db'}"


ENGINES = pytest.mark.parametrize(
    "db_url", ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)], indirect=True
)


def configure(ws, *, budget: float | None = None, **gateway: object) -> None:
    """Route factual questions to ``good``; llm.yml's gateway section; the monthly budget."""
    save_routes(ws, {"factual": {"models": ["good"]}}, reason="test")
    path = ws.root / "llm.yml"
    config = yaml.safe_load(path.read_text())
    config["gateway"] = gateway
    path.write_text(yaml.safe_dump(config))
    if budget is not None:
        policy_path = ws.root / "policy.yml"
        policy = yaml.safe_load(policy_path.read_text())
        policy.setdefault("llm", {})["monthly_budget"] = budget
        policy_path.write_text(yaml.safe_dump(policy))


def ask(url: str, text: str) -> tuple[int, str, dict]:
    """(status, x-modelward-cache, body) of one chat call through the openai SDK."""
    from openai import APIStatusError, OpenAI

    with OpenAI(base_url=url + "/v1", api_key="unused", max_retries=0) as client:
        try:
            raw = client.chat.completions.with_raw_response.create(
                model="route:factual", messages=[{"role": "user", "content": text}]
            )
        except APIStatusError as exc:
            return exc.status_code, "", exc.response.json()
        return raw.status_code, raw.headers["x-modelward-cache"], raw.parse().model_dump()


def month_counter(prefix: str, url: str = SHARED) -> float | None:
    import redis

    from modelward.timeutil import utcnow

    with redis.Redis.from_url(url) as client:
        value = client.get(f"{prefix}:llm:spend:{utcnow():%Y-%m}")
    return None if value is None else float(value)


def stopped(*replicas) -> None:
    for replica in replicas:
        assert replica.stop() == 0, replica.output()


@ENGINES
def test_the_monthly_budget_holds_across_two_replicas(fleet, start_server, redis_prefix):
    """Each replica alone re-reads the DB's spend only once a minute here (flush_ms), so
    without the shared counter each would spend the whole budget: twice it in all."""
    from modelward.llm.usage import month_spend

    budget = 0.005  # about 21 answers of good at its price in the fake llm.yml
    configure(
        fleet, budget=budget, redis_url=SHARED, redis_prefix=redis_prefix,
        flush_ms=60_000, cache_ttl_s=0,
    )  # fmt: skip
    replicas = [start_server(), start_server()]
    outcomes: list[tuple[int, int, str]] = []  # (replica, status, error code)
    lock = threading.Lock()
    in_flight = 4
    numbers = iter(range(80))

    def worker() -> None:
        for n in numbers:  # shared: each number once, over all threads
            status, _, body = ask(replicas[n % 2].url, f"Question {n:04d}: what is spent?")
            code = body["error"]["code"] if status != 200 else ""
            with lock:
                outcomes.append((n % 2, status, code))

    threads = [threading.Thread(target=worker) for _ in range(in_flight)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert {(s, c) for _, s, c in outcomes} == {(200, ""), (429, "budget_exceeded")}
    for replica in (0, 1):  # both answered, and both refused once the budget was spent
        assert {s for r, s, _ in outcomes if r == replica} == {200, 429}
    answered = sum(1 for _, s, _ in outcomes if s == 200)
    stopped(*replicas)  # their usage rows flushed: the record of truth
    spent = month_spend(fleet.db)
    per_call = spent / answered
    assert budget <= spent <= budget + in_flight * per_call * 1.01, (spent, answered)
    assert month_counter(redis_prefix) == pytest.approx(spent, rel=1e-9)


def test_an_answer_cached_by_one_replica_is_served_by_the_other(
    fleet, fake, start_server, redis_prefix
):
    configure(fleet, redis_url=SHARED, redis_prefix=redis_prefix, cache_ttl_s=300)
    first, second = start_server(), start_server()
    before = fake.behaviour._calls.get("good", 0)
    question = f"What is the capital of France? ({redis_prefix})"
    status, cache, body = ask(first.url, question)
    assert (status, cache) == (200, "miss")
    status, cache, again = ask(second.url, question)
    assert (status, cache) == (200, "hit")
    assert again["choices"][0]["message"]["content"] == body["choices"][0]["message"]["content"]
    assert fake.behaviour._calls["good"] == before + 1  # the provider was asked once
    assert counted(second.url, "modelward_llm_cache_hits_total") == 1
    from openai import OpenAI

    with OpenAI(base_url=second.url + "/v1", api_key="unused", max_retries=0) as client:
        stream = client.chat.completions.create(
            model="route:factual", stream=True, messages=[{"role": "user", "content": question}]
        )
        streamed = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    assert streamed == body["choices"][0]["message"]["content"]  # from the cache as well
    assert fake.behaviour._calls["good"] == before + 1
    stopped(first, second)


def test_a_replica_that_alone_cannot_reach_redis_is_counted_through_the_db(
    fleet, start_server, redis_prefix
):
    """A network partition: B's Redis does not answer, A's does. B's calls reach the
    shared counter through the usage table and A's ticks, once each."""
    from modelward.llm.usage import month_spend

    configure(fleet, redis_url=SHARED, redis_prefix=redis_prefix, flush_ms=100, cache_ttl_s=0)
    cut_off = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    a = start_server()
    b = start_server(env={"MODELWARD_REDIS_URL": cut_off})
    assert ready(a.url)["redis"]["ok"] is True and ready(b.url)["redis"]["ok"] is False
    assert ask(a.url, "From A?")[0] == 200
    for n in range(3):
        assert ask(b.url, f"From B, {n}?")[0] == 200
    spent = month_spend(fleet.db)  # B's rows flushed, when this holds all four calls

    def all_counted() -> bool:
        nonlocal spent
        spent = month_spend(fleet.db)
        with fleet.db.session(readonly=True) as session:
            from sqlalchemy import func, select

            from modelward.store.tables import UsageRow

            calls = session.scalar(select(func.sum(UsageRow.requests)))
        return calls == 4 and month_counter(redis_prefix) == pytest.approx(spent, rel=1e-9)

    wait_for(all_counted, 30, "B's calls in the shared counter")
    stopped(a, b)
    assert month_counter(redis_prefix) == pytest.approx(month_spend(fleet.db), rel=1e-9)


class OwnRedis:
    """A `redis-server` of the test's own on 127.0.0.1:``port``, with a password and no
    persistence (a restart comes back empty, as a Redis without a disk does)."""

    def __init__(self, port: int, password: str, folder: Path) -> None:
        self.port, self.password, self.folder = port, password, folder
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://:{self.password}@127.0.0.1:{self.port}/0"

    def start(self) -> None:
        import redis

        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--requirepass", self.password, "--dir", str(self.folder)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip

        def answers() -> bool:
            try:
                with redis.Redis.from_url(self.url, socket_connect_timeout=1) as client:
                    return bool(client.ping())
            except (redis.RedisError, OSError):
                return False

        wait_for(answers, 20, "redis-server answering")

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    import shutil

    if shutil.which("redis-server") is None:
        pytest.skip("needs Debian's redis-server (apt-get install redis-server)")
    server = OwnRedis(free_port(), "pw-" + uuid.uuid4().hex, tmp_path)
    yield server
    server.kill()


def ready(url: str) -> dict:
    reply = httpx.get(url + "/readyz", timeout=10)
    assert reply.status_code == 200, reply.text  # Redis down is no reason to stop serving
    return reply.json()


def lines(server, text: str) -> list[str]:
    return [line for line in server.output().splitlines() if text in line]


@ENGINES
def test_answers_go_on_while_redis_is_down_and_sharing_resumes(
    fleet, start_server, own_redis, tmp_path
):
    """Started with Redis unreachable, then Redis up, killed mid-traffic, and back empty:
    every call answered, one log line per outage and one per return, the password nowhere,
    and the month's counter right again after Redis came back empty."""
    from modelward.llm.usage import month_spend

    configure(fleet, redis_prefix="mw", flush_ms=100, cache_ttl_s=300)
    replica = start_server(env={"MODELWARD_REDIS_URL": own_redis.url})
    assert ready(replica.url)["redis"]["ok"] is False  # not started yet: served without it
    assert ask(replica.url, "Before Redis?")[:2] == (200, "miss")

    own_redis.start()
    wait_for(lambda: ready(replica.url)["redis"]["ok"], 30, "the gateway finding Redis")
    assert ask(replica.url, "Shared?")[:2] == (200, "miss")
    assert ask(replica.url, "Shared?")[:2] == (200, "hit")

    own_redis.kill()  # mid-traffic
    for n in range(6):
        assert ask(replica.url, "During the outage?")[:2] == (200, "miss"), n
    assert ask(replica.url, "Shared?")[:2] == (200, "miss")
    status = ready(replica.url)["redis"]
    assert status["ok"] is False and "does not answer" in status["problem"]
    assert counted(replica.url, "modelward_llm_redis_up") == 0
    assert counted(replica.url, "modelward_llm_redis_fallbacks_total") >= 7

    own_redis.start()  # back, empty
    wait_for(lambda: ready(replica.url)["redis"]["ok"], 30, "the gateway finding Redis again")
    assert ask(replica.url, "After?")[:2] == (200, "miss")
    assert ask(replica.url, "After?")[:2] == (200, "hit")
    assert counted(replica.url, "modelward_llm_redis_up") == 1
    assert counted(replica.url, "modelward_llm_redis_outages_total") == 2
    texts = [httpx.get(replica.url + p, timeout=10).text for p in ("/readyz", "/metrics")]

    stopped(replica)
    counter = month_counter("mw", own_redis.url)
    assert counter == pytest.approx(month_spend(fleet.db), rel=1e-9)
    assert len(lines(replica, "does not answer")) == 2  # at start, and when killed
    assert len(lines(replica, "answers again")) == 2
    for text in [replica.output(), *texts]:
        assert own_redis.password not in text
    assert "redis://:***@127.0.0.1" in lines(replica, "does not answer")[0]


HOSTILE = [
    ("http://127.0.0.1:6379/0", "scheme must be redis:// or rediss://"),
    ("redis://:secretpass1@127.0.0.1:99999/0", "port that is not a number from 1 to 65535"),
    ("redis://:secretpass1@127.0.0.1:0/0", "port 0"),
    ("redis://127.0.0.1:6379/abc", "names database 'abc'"),
    ("redis://:secretpass1@127.0.0.1:6379/0?socket_timeout=999", "query parameters"),
    ("redis://:secretpass1@/0", "names no host"),
    ("redis://127.0.0.1:6379/0 --flag", "a space, a control code"),
]


@pytest.mark.parametrize(("url", "needle"), HOSTILE)
def test_a_hostile_redis_url_is_one_line_naming_the_key(fleet, cli, monkeypatch, url, needle):
    configure(fleet)
    monkeypatch.setenv("MODELWARD_REDIS_URL", url)
    ran = cli("llm", "gateway", "--port", str(free_port()))
    assert ran.exit_code == 2, ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert "MODELWARD_REDIS_URL" in ran.stderr and needle in ran.stderr
    assert "secretpass1" not in ran.stderr + ran.stdout

    monkeypatch.delenv("MODELWARD_REDIS_URL")
    configure(fleet, redis_url=url)
    ran = cli("llm", "gateway", "--port", str(free_port()))
    assert ran.exit_code == 2, ran.stderr
    assert len(ran.stderr.strip().splitlines()) == 1, ran.stderr
    assert "gateway.redis_url" in ran.stderr and needle in ran.stderr
    assert "secretpass1" not in ran.stderr + ran.stdout


def test_a_bad_key_prefix_is_refused(fleet, cli):
    configure(fleet, redis_url=SHARED, redis_prefix="a b*")
    ran = cli("llm", "gateway", "--port", str(free_port()))
    assert ran.exit_code == 2 and "gateway.redis_prefix" in ran.stderr, ran.stderr


def test_without_a_redis_url_the_gateway_never_imports_redis(fleet, monkeypatch):
    """The per-process state stays the default, and redis-py is not even loaded."""
    import os
    import sys

    from conftest import ROOT

    configure(fleet)
    monkeypatch.delenv("MODELWARD_REDIS_URL", raising=False)
    code = (
        "import sys\nfrom modelward import Workspace\n"
        "from modelward.llm.gateway import create_gateway_app\n"
        f"app = create_gateway_app(Workspace.open({str(fleet.root)!r}))\n"
        "print(type(app.state.gateway.cache).__name__, 'redis' in sys.modules)\n"
        "app.state.gateway.close()"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT / "src")}
    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, env=env
    )
    assert done.stdout.split() == ["MemoryCache", "False"]


def test_config_show_says_where_state_is_shared_without_the_password(fleet, cli, monkeypatch):
    configure(fleet)
    assert "gateway state: in each process" in cli("llm", "config", "show").stdout
    configure(fleet, redis_url="redis://:filepass-123@10.0.0.9:6379/2", redis_prefix="team-a")
    shown = cli("llm", "config", "show", "--json").json["shared_state"]
    assert shown == {
        "redis_url": "redis://:***@10.0.0.9:6379/2",
        "source": "llm.yml",
        "prefix": "team-a",
    }
    monkeypatch.setenv("MODELWARD_REDIS_URL", "rediss://ops:envpass-456@redis.internal:6380/0")
    table = cli("llm", "config", "show").stdout
    assert "shared through rediss://ops:***@redis.internal:6380/0 (from MODELWARD_REDIS_URL" in (
        " ".join(table.split())
    )
    assert "envpass-456" not in table and "filepass-123" not in table


def test_the_standalone_gateway_says_on_healthz_that_redis_is_down(routed_ws_closed_redis):
    """`modelward llm gateway` (no /readyz): /healthz stays ok and says it; answers go on."""
    from llm.helpers import Served
    from modelward.llm.gateway import create_gateway_app

    served = Served(create_gateway_app(routed_ws_closed_redis))
    try:
        assert ask(served.url, "Anyone there?")[:2] == (200, "miss")
        assert ask(served.url, "Anyone there?")[:2] == (200, "miss")  # no cache without it
        health = httpx.get(served.url + "/healthz", timeout=10)
        assert health.status_code == 200 and health.json()["status"] == "ok"
        assert health.json()["redis"]["ok"] is False
        assert "secretpass9" not in health.text
        assert counted(served.url, "modelward_llm_redis_up") == 0
    finally:
        served.stop()  # its shutdown closes the gateway's state


@pytest.fixture
def routed_ws_closed_redis(fleet):
    configure(fleet, redis_url=f"redis://:secretpass9@127.0.0.1:{free_port()}/0")
    return fleet


def test_a_foreign_value_under_a_key_is_not_an_outage(fleet, redis_prefix, caplog):
    """Redis answers but refuses a command (someone put a list where the month's spend
    goes): calls are answered, the cache still shares, one warning, the link stays up."""
    import logging

    import redis

    from llm.helpers import Served
    from modelward.llm.gateway import create_gateway_app
    from modelward.timeutil import utcnow

    configure(fleet, redis_url=SHARED, redis_prefix=redis_prefix)
    with redis.Redis.from_url(SHARED) as client:
        client.lpush(f"{redis_prefix}:llm:spend:{utcnow():%Y-%m}", "not a number")
    served = Served(create_gateway_app(fleet))
    try:
        with caplog.at_level(logging.WARNING, logger="modelward.llm.gateway"):
            assert ask(served.url, "Spend where?")[:2] == (200, "miss")
            assert ask(served.url, "Spend where?")[:2] == (200, "hit")
            assert ask(served.url, "And again?")[:2] == (200, "miss")
        refused = [r for r in caplog.records if "refused a command" in r.getMessage()]
        assert len(refused) == 1, caplog.text
        assert "WRONGTYPE" in refused[0].getMessage()
        assert served.app.state.gateway.redis.up is True
        assert "does not answer" not in caplog.text
    finally:
        served.stop()
