"""A version's input schema and reference profile per feature, as its version page shows
them (the profile summarized in SQL: it holds up to 5,000 sampled values per column)."""

from __future__ import annotations

from typing import Any

from modelward.store.plain import json_value

__all__ = ["reference_profile", "schema_rows"]


MAX_ROWS = 500  # a version's schema / profile rows shown at most


def schema_rows(schema: dict[str, Any]) -> list[dict[str, Any]]:
    columns = schema.get("columns") or []
    return [
        {
            "name": c.get("name"),
            "kind": c.get("kind"),
            "dtype": c.get("dtype"),
            "nullable": bool(c.get("nullable")),
            "observed": _observed(c),
        }
        for c in columns[:MAX_ROWS]
        if isinstance(c, dict)
    ]


def _observed(column: dict[str, Any]) -> str:
    if "min" in column:
        return f"{column['min']} … {column['max']}"
    if "categories" in column:
        return ", ".join(map(str, column["categories"][:8]))
    return ""


#: A profile's per-column fields the page shows, read by the database from the JSON.
PROFILE_FIELDS = ("kind", "count", "missing_rate", "mean", "std", "min", "max", "distinct")


def reference_profile(run: Any, dialect: str, version_id: int) -> list[dict[str, Any]]:
    """A version's reference profile summarized per feature (kind, rows, missing share,
    centre and spread, the most frequent categories), its fields picked out by the
    database so the sampled values never reach Python."""
    if dialect == "sqlite":
        fields = ", ".join(f"json_extract(c.value, '$.{f}')" for f in PROFILE_FIELDS)
        sql = (
            f"SELECT c.key, {fields}, json_extract(c.value, '$.categories') FROM "
            "model_versions v, json_each(v.reference_profile, '$.columns') c "
            f"WHERE v.id = :id AND json_valid(v.reference_profile) LIMIT {MAX_ROWS}"
        )
    else:
        fields = ", ".join(f"c.value ->> '{f}'" for f in PROFILE_FIELDS)
        sql = (
            f"SELECT c.key, {fields}, c.value -> 'categories' FROM model_versions v, "
            "json_each(v.reference_profile -> 'columns') c WHERE v.id = :id "
            f"LIMIT {MAX_ROWS}"
        )
    out = []
    for name, *values, categories in run(sql, {"id": version_id}):
        stats = dict(zip(PROFILE_FIELDS, values, strict=True))
        stats = {k: _number(v) if k != "kind" else v for k, v in stats.items()}
        stats["categories"] = json_value(categories) if categories is not None else None
        out.append(
            {
                "name": name,
                "kind": stats.get("kind") or "",
                "count": stats.get("count"),
                "missing": stats.get("missing_rate"),
                "summary": _summary(stats),
            }
        )
    return out


def _number(value: Any) -> Any:
    """A JSON number as Python's (PostgreSQL's ``->>`` gives text)."""
    if isinstance(value, str):
        try:
            return int(value) if value.lstrip("-").isdigit() else float(value)
        except ValueError:
            return value
    return value


def _summary(stats: dict[str, Any]) -> str:
    parts = []
    for key in ("mean", "std", "min", "median", "max", "distinct"):
        if isinstance(stats.get(key), int | float):
            value = stats[key]
            parts.append(f"{key} {value:.4g}" if isinstance(value, float) else f"{key} {value}")
    frequencies = stats.get("frequencies") or stats.get("categories")
    if isinstance(frequencies, dict) and frequencies:
        top = sorted(frequencies.items(), key=lambda kv: -_as_float(kv[1]))[:5]
        parts.append("top " + ", ".join(f"{k} ({_as_float(v):.3g})" for k, v in top))
    return " · ".join(parts)


def _as_float(value: Any) -> float:
    return float(value) if isinstance(value, int | float) else 0.0
