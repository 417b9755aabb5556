"""Metadata storage: SQLAlchemy tables, Alembic migrations, transactions; plain-SQL reads."""

from modelward.lazy import lazy_exports

__all__ = ["HEAD_REVISION", "Database", "PlainDB"]

__getattr__ = lazy_exports(
    __name__,
    {
        "HEAD_REVISION": "modelward.store.revision",
        "Database": "modelward.store.db",
        "PlainDB": "modelward.store.plain",
    },
)
