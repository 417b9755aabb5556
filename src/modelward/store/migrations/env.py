"""Alembic environment: modelward passes the open connection in ``config.attributes``."""

from typing import Any

from alembic import context

from modelward.store.tables import PARTIAL_INDEXES, Base


def _compared(obj: Any, name: str | None, type_: str, reflected: bool, compare_to: Any) -> bool:
    """Autogenerate leaves alone the partial indexes migration 0001 made (not on Base)."""
    return not (type_ == "index" and reflected and compare_to is None and name in PARTIAL_INDEXES)


connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
    include_object=_compared,
)
with context.begin_transaction():
    context.run_migrations()
