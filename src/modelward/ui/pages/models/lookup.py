"""What the model pages share: a model's name and version number read from the path, and
the model (or a version of it) looked up, NotFound when there is none; nested params and
metrics flattened to dotted keys."""

from __future__ import annotations

import re
from typing import Any

from modelward.errors import NotFound, RequestError
from modelward.ui.view import View

__all__ = ["find_model", "flatten", "model_name", "no_version", "version_number"]


NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")


def model_name(view: View) -> str:
    name = view.params["name"]
    if not NAME.match(name):
        raise RequestError(
            f"{name[:40]!r} is not a model name (lowercase letters, digits, -_. and at most "
            "128 characters); see /ui/",
            field="name",
        )
    return name


def version_number(text: str | None, what: str) -> int:
    if text is None or not text.isdigit() or len(text) > 9 or int(text) < 1:
        raise RequestError(
            f"{what} must be a version number (1, 2, ...), not {(text or '')[:20]!r}", field=what
        )
    return int(text)


def find_model(run: Any, name: str) -> tuple[Any, ...]:
    rows = run(
        "SELECT id, name, task, description, tags, created_at, created_by FROM models "
        "WHERE name = :name",
        {"name": name},
    )
    if not rows:
        known = [row[0] for row in run("SELECT name FROM models ORDER BY name LIMIT 20")]
        have = ", ".join(known) if known else "none is registered yet"
        raise NotFound(f"no model named {name!r} (models: {have}); see /ui/", field="name")
    return tuple(rows[0])


def no_version(run: Any, name: str, model_id: int, version: int) -> NotFound:
    low, high, count = run(
        "SELECT MIN(version), MAX(version), COUNT(*) FROM model_versions WHERE model_id = :m",
        {"m": model_id},
    )[0]
    have = f"versions {low}-{high} ({count})" if count else "no version yet"
    return NotFound(
        f"model {name!r} has no version {version} ({have}); see /ui/models/{name}",
        field="version",
    )


def flatten(values: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested dicts as ``a.b`` keys (what `versions show` prints)."""
    out: dict[str, Any] = {}
    for key, value in values.items():
        if isinstance(value, dict) and value:
            out.update(flatten(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out
