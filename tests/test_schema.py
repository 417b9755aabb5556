"""The schema the migrations make is the one tables.py declares, on SQLite and PostgreSQL:
an index declared in one and not the other (a page's query planned on an index that a
user's upgraded workspace lacks) fails here, and HEAD_REVISION is Alembic's head."""

from __future__ import annotations

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.config import Config
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from modelward.store import db as store_db
from modelward.store.revision import HEAD_REVISION
from modelward.store.tables import PARTIAL_INDEXES, Base


def _compared(obj, name, type_, reflected, compare_to) -> bool:
    """As migrations/env.py: the partial indexes live in migration 0001 only."""
    return not (type_ == "index" and reflected and compare_to is None and name in PARTIAL_INDEXES)


def test_the_migrations_make_what_tables_py_declares(workspace, db_url):
    engine = sa.create_engine(db_url)
    try:
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"include_object": _compared})
            assert compare_metadata(context, Base.metadata) == []
            assert context.get_current_revision() == HEAD_REVISION
    finally:
        engine.dispose()


def test_head_revision_is_alembics_head():
    config = Config()
    config.set_main_option("script_location", str(store_db._MIGRATIONS))
    assert ScriptDirectory.from_config(config).get_current_head() == HEAD_REVISION
