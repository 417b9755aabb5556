"""A routing table per gateway environment: staging changes without touching production,
a gateway follows its own environment's table, and a workspace from before keeps its
table as production's."""

from __future__ import annotations

import sqlalchemy as sa
from openai import OpenAI

from llm.helpers import Served
from modelward.llm.gateway import create_gateway_app
from modelward.llm.routing import current_routes, routing_history, save_routes, set_route
from modelward.store import Database


def _ask(served: Served) -> str:
    client = OpenAI(base_url=f"{served.url}/v1", api_key="-", max_retries=0)
    reply = client.chat.completions.create(
        model="route:factual", messages=[{"role": "user", "content": "What is the capital?"}]
    )
    return reply.model


def test_staging_and_production_tables_are_separate_and_each_gateway_follows_its_own(fleet):
    save_routes(fleet, {"factual": {"models": ["good"]}}, reason="production")
    set_route(fleet, "factual", ["cheap"], reason="try cheap", environment="staging")
    set_route(fleet, "factual", ["slow"], reason="then slow", environment="staging")

    assert current_routes(fleet).models_for("factual") == ["good:1"]
    assert current_routes(fleet, "staging").models_for("factual") == ["slow:1"]
    assert [t.revision for t in routing_history(fleet, "staging")] == [1, 2]
    assert [t.revision for t in routing_history(fleet)] == [1]

    production = Served(create_gateway_app(fleet))
    staging = Served(create_gateway_app(fleet, environment="staging"))
    try:
        assert _ask(production) == "good:1"
        assert _ask(staging) == "slow:1"
    finally:
        production.stop()
        staging.stop()


def test_routing_commands_take_an_environment_and_refuse_an_unknown_one(cli, fleet):
    ran = cli("llm", "routes", "set", "factual", "--models", "cheap", "--reason", "r",
              "--env", "staging")  # fmt: skip
    assert ran.exit_code == 0, ran.stderr
    shown = cli("llm", "routes", "show", "--env", "staging", "--json")
    assert shown.json["environment"] == "staging"
    assert shown.json["routes"]["factual"]["models"] == ["cheap:1"]
    assert cli("llm", "routes", "show", "--json").json is None  # production has none yet

    bad = cli("llm", "routes", "set", "factual", "--models", "cheap", "--reason", "r",
              "--env", "staging-2")  # fmt: skip
    assert bad.exit_code == 2
    assert "unknown environment 'staging-2'" in bad.stderr
    assert len(cli("llm", "history", "--env", "staging", "--json").json) == 1


def test_a_workspace_from_before_keeps_its_table_as_productions(tmp_path):
    from alembic import command
    from alembic.config import Config

    from modelward.store import db as store_db

    url = f"sqlite:///{tmp_path / 'old.db'}"
    engine = sa.create_engine(url)
    config = Config()
    config.set_main_option("script_location", str(store_db._MIGRATIONS))
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.upgrade(config, "0001")
        conn.execute(
            sa.text(
                "INSERT INTO routing_tables (revision, routes, reason, created_at, created_by) "
                "VALUES (1, '{}', 'old', '2026-01-01 00:00:00', 'me')"
            )
        )
    engine.dispose()

    database = Database(url)
    with database.engine.connect() as conn:
        rows = conn.execute(sa.text("SELECT environment, revision FROM routing_tables")).all()
    database.engine.dispose()
    assert [tuple(r) for r in rows] == [("production", 1)]
