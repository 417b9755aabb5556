"""Per-model sections: a model's effective policy, and where each of its values came from.

A ``models: {NAME: {...}}`` section of ``policy.yml`` overrides any key of the file by a
deep merge: mappings are merged key by key, any other value (a number, a list) replaced.
"""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

__all__ = [
    "WORKSPACE_WIDE",
    "SectionError",
    "deep_merge",
    "flatten",
    "refuse_workspace_wide",
    "section_error",
]


class SectionError(ValueError):
    """A ``models.NAME`` section that makes an invalid policy; ``path`` is the key's."""

    def __init__(self, path: str, reason: str, *, fix: str = "fix the value", value: Any = None):
        self.path, self.reason, self.fix, self.value = path, reason, fix, value
        super().__init__(self.line())

    def line(self) -> str:
        """``models.a.thresholds.f1 = 2: must be a fraction …; fix the value``."""
        shown = "" if self.value is None or isinstance(self.value, dict) else f" = {self.value!r}"
        return f"{self.path}{shown}: {self.reason}; {self.fix}"


def deep_merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``override`` on top: mappings merged key by key, the rest replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def flatten(mapping: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """``{"a": {"b": 1}}`` -> ``{"a.b": 1}``; lists and empty mappings are values."""
    out: dict[str, Any] = {}
    for key, value in mapping.items():
        path = f"{prefix}{key}"
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{path}."))
        else:
            out[path] = value
    return out


#: keys a ``models:`` section cannot set: one value serves every model
WORKSPACE_WIDE = (
    "version",
    "models",
    "alerts",
    "llm",
    "serving.flush_rows",
    "serving.flush_ms",
    "serving.predict_timeout_s",
    "serving.header_timeout_s",
    "serving.keep_alive_s",
    "serving.max_connections",
    # one reader of the log serves every model's checks
    "monitoring.engine",
    "monitoring.spark_master",
)


def refuse_workspace_wide(name: str, section: dict[str, Any]) -> None:
    """Raise :class:`SectionError` if model ``name``'s section sets a workspace-wide key."""
    for path in flatten(section):
        for wide in WORKSPACE_WIDE:
            if path == wide or path.startswith(f"{wide}."):
                raise SectionError(
                    f"models.{name}.{wide}",
                    "workspace-wide, one value serves every model",
                    fix="set it at the top level of policy.yml",
                )


def section_error(name: str, exc: ValidationError) -> SectionError:
    """The first problem of the policy model ``name``'s section made, at its key path."""
    first = exc.errors()[0]
    path = ".".join(["models", name, *(str(part) for part in first["loc"])])
    if first["type"] == "extra_forbidden":
        fix = "check its spelling against `modelward policy show`"
        return SectionError(path, "unknown key", fix=fix)
    message = first["msg"].removeprefix("Value error, ")
    return SectionError(path, message, value=first.get("input"))
