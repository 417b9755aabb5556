"""Metadata storage: SQLAlchemy tables, Alembic migrations, transactions."""

from modelward.store.db import HEAD_REVISION, Database

__all__ = ["HEAD_REVISION", "Database"]
