"""SQL the pages share: reading parts of a JSON column in the database itself, so a page
never decodes a whole stored result to show one value of it."""

from __future__ import annotations

from typing import Any

__all__ = ["Json"]


class Json:
    """Dialect-specific reads of a JSON column's parts (SQLite: text; PostgreSQL: json)."""

    def __init__(self, dialect: str) -> None:
        self.sqlite = dialect == "sqlite"

    def part(self, column: str, *path: str) -> str:
        """``column``'s value at ``path`` as JSON (``path``: constants of this module)."""
        if self.sqlite:
            return f"{column} -> '$.{'.'.join(path)}'"
        return f"{column} #> '{{{','.join(path)}}}'"

    def text(self, column: str, key: str) -> str:
        """A top-level string of ``column`` as SQL text."""
        return f"{column} ->> '$.{key}'" if self.sqlite else f"{column} ->> '{key}'"

    def extract(self, column: str, key: str) -> str:
        """SQL for the object or array under ``key`` of ``column`` (``key`` is ours, never the
        request's)."""
        if self.sqlite:
            return f"json_extract({column}, '$.{key}')"
        return f"({column} -> '{key}')"

    def integer(self, column: str, key: str) -> str:
        """SQL for the integer at ``key`` of ``column`` (``key``: a constant)."""
        if self.sqlite:
            return f"CAST(json_extract({column}, '$.{key}') AS INTEGER)"
        return f"CAST(({column} ->> '{key}') AS INTEGER)"

    def length(self, column: str, key: str) -> str:
        """SQL for the length of the JSON array at ``key`` of ``column`` (``key``: a
        constant)."""
        if self.sqlite:
            return f"json_array_length({column}, '$.{key}')"
        return f"json_array_length({column} -> '{key}')"

    def value(self, found: Any) -> Any:
        if found is None:
            return None
        if self.sqlite and isinstance(found, str | bytes):
            import orjson  # several times faster than json on a history's objects

            return orjson.loads(found)
        return found

    def environment(self, env: str | None) -> tuple[str, dict[str, Any]]:
        """The condition of runs checked in ``env`` (None: over every environment)."""
        expr = self.text("inputs", "environment")
        if env is None:
            return f"{expr} IS NULL", {}
        return f"{expr} = :env", {"env": env}
