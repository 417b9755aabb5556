"""The catalog: the registry's reads in plain SQL (sqlite3 / psycopg), on both backends.

Every read of the registry goes through it, so the rest of the suite checks what it
returns after each kind of write; these are the cases that suite does not reach: the
filters no command uses yet, a version with no reference profile, reads from many threads
while another process writes, and errors that name what is missing.
"""

from __future__ import annotations

import threading
from datetime import timedelta

import pytest

from modelward.errors import NotFound
from modelward.registry.catalog import Catalog
from modelward.store.plain import PlainDB
from modelward.timeutil import utcnow


@pytest.fixture
def registered(workspace, fitted, cleveland):
    workspace.register("heart", fitted, data=cleveland, target="target")
    workspace.register("heart", fitted, data=cleveland, target="target")
    return workspace


def test_history_filters_by_time_kind_and_version(registered):
    registry = registered.registry
    cut = utcnow()
    registry.set_alias("heart", "champion", 2, reason="best")
    later = registry.history("heart", since=cut)
    assert [e.kind for e in later] == ["alias-set"]
    assert registry.history("heart", since=cut + timedelta(hours=1)) == []
    everything = registry.history("heart")
    assert len(everything) > len(later) and everything[-1] == later[-1]
    registered = registry.history("heart", version=1, kinds=["registered"])
    assert [(e.kind, e.version) for e in registered] == [("registered", 1)]
    assert registry.history("heart", kinds=["no-such-kind"]) == []


def test_versions_resolve_by_number_alias_and_latest(registered):
    catalog = registered.catalog
    registered.registry.set_alias("heart", "champion", 1, reason="first")
    assert catalog.get_version("heart", "latest").version == 2
    assert catalog.get_version("heart", "champion").version == 1
    assert catalog.get_version("heart", 1).aliases == ("champion",)
    assert catalog.get_model("heart").aliases == {"champion": 1}
    assert [v.version for v in catalog.list_versions("heart", stage="development")] == [1, 2]
    assert catalog.list_versions("heart", stage="production") == []
    with pytest.raises(NotFound, match=r"has no version '7' \(versions 1-2\)"):
        catalog.get_version("heart", 7)
    with pytest.raises(NotFound, match=r"no model named 'hart' \(known models: heart\)"):
        catalog.get_model("hart")


def test_a_version_without_reference_profile_says_so(registered):
    registry = registered.registry
    registry.create_model("chat", task="text-generation")
    registry.add_version("chat", kind="endpoint", flavor="openai", spec={"model": "m"})
    chat = registered.catalog.get_version("chat", 1)
    assert chat.has_reference_profile is False and chat.spec == {"model": "m"}
    assert registered.catalog.reference_profile("chat", 1) is None
    assert registered.catalog.get_version("heart", 1).has_reference_profile is True
    profile = registered.catalog.reference_profile("heart", 1)
    assert profile is not None and profile["rows"] == 303


def test_runs_filter_and_order_newest_first(registered):
    registry = registered.registry
    ids = [
        registry.record_run(kind, model=model, version=1, inputs={}, results={"n": i},
                            verdict="pass").id
        for i, (kind, model) in enumerate([("evaluation", "heart"), ("backup", None),
                                           ("evaluation", "heart")])
    ]  # fmt: skip
    catalog = registered.catalog
    assert [r.id for r in catalog.list_runs()][:3] == ids[::-1]
    assert [r.id for r in catalog.list_runs(kinds=["backup"])] == [ids[1]]
    assert catalog.list_runs(kinds=[]) == []
    assert [r.id for r in catalog.list_runs(model="heart", kinds=["evaluation"], limit=1)] == [
        ids[2]
    ]
    assert catalog.get_run(ids[1]).model is None and catalog.get_run(ids[2]).results == {"n": 2}
    with pytest.raises(NotFound, match=r"no run #999999"):
        catalog.get_run(999999)


def test_reads_from_many_threads_while_versions_are_added(registered):
    """A server reads from several threads; each gets its own connection."""
    catalog = Catalog(PlainDB(registered.db_url), registered.artifacts)
    seen: list[int] = []
    errors: list[BaseException] = []

    def read() -> None:
        try:
            for _ in range(20):
                seen.append(len(catalog.list_versions("heart")))
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=read) for _ in range(6)]
    for thread in threads:
        thread.start()
    for _ in range(3):
        registered.registry.add_version("heart", kind="artifact", flavor="sklearn")
    for thread in threads:
        thread.join()
    catalog.sql.close()
    assert errors == []
    assert len(seen) == 120 and set(seen) <= {2, 3, 4, 5}
    assert registered.catalog.get_model("heart").latest_version == 5


def test_an_unreachable_database_is_a_storage_error_naming_it():
    from modelward.errors import StorageError

    plain = PlainDB("postgresql+psycopg://mw:s3cret-pw@127.0.0.1:1/nowhere")
    with pytest.raises(StorageError) as raised:
        plain.rows("SELECT 1")
    assert "metadata DB" in raised.value.message and "s3cret-pw" not in raised.value.message


@pytest.mark.postgres
def test_many_threads_share_a_few_connections_and_a_lost_one_is_replaced(pg_url):
    """A server reading from many threads must not open a PostgreSQL connection per
    thread; a connection the server dropped fails one read, and the next reconnects."""
    from modelward.errors import StorageError

    plain = PlainDB(pg_url, pool_size=3)
    plain.rows("SELECT 1")
    barrier = threading.Barrier(12)

    def read() -> None:
        barrier.wait()
        for _ in range(5):
            plain.rows("SELECT pg_sleep(0.01)")

    threads = [threading.Thread(target=read) for _ in range(12)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    mine = (
        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
        "AND pid <> pg_backend_pid()"
    )
    with PlainDB(pg_url).snapshot() as run:
        assert 1 <= run(mine)[0][0] <= 3
        run("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE datname = current_database() AND pid <> pg_backend_pid()")  # fmt: skip
    failed = 0
    for _ in range(4):
        try:
            assert plain.rows("SELECT 41 + 1") == [(42,)]
        except StorageError as exc:
            assert "metadata DB" in exc.message
            failed += 1
    assert failed <= 3  # each dropped connection fails once, then is replaced
    assert plain.rows("SELECT 41 + 1") == [(42,)]
    plain.close()
