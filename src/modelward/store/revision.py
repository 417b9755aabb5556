"""The schema revision this modelward writes and reads."""

__all__ = ["HEAD_REVISION"]

#: The newest migration this modelward knows. A test checks it is Alembic's head.
HEAD_REVISION = "0003"
