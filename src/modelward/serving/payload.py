"""Request bodies: our ``inputs`` shape and MLflow's ``dataframe_split`` /
``dataframe_records`` / ``instances``, all turned into a list of row objects."""

from __future__ import annotations

from typing import Any

from modelward.errors import SchemaError

__all__ = ["MAX_ROWS", "feedback_items", "rows_of"]

MAX_ROWS = 10_000
_SHAPES = ("inputs", "dataframe_records", "dataframe_split", "instances")
_HINT = (
    'send {"inputs": {feature: value, ...}} or {"inputs": [{...}, ...]} '
    "(or MLflow's dataframe_split / dataframe_records)"
)


def rows_of(payload: Any) -> tuple[list[Any], bool]:
    """The rows of a predict body, and whether it was a single row."""
    if not isinstance(payload, dict):
        raise SchemaError(f"the body must be a JSON object; {_HINT}", field="body")
    shapes = [key for key in payload if key in _SHAPES]
    unknown = [key for key in payload if key not in _SHAPES and key != "params"]
    if unknown:
        raise SchemaError(f"unknown body field {unknown[0]!r}; {_HINT}", field=unknown[0])
    if len(shapes) != 1:
        raise SchemaError(
            f"the body must have exactly one of {', '.join(_SHAPES)}; {_HINT}", field="body"
        )
    shape = shapes[0]
    value = payload[shape]
    if shape == "inputs" and isinstance(value, dict):
        return [value], True
    if shape == "dataframe_split":
        rows = _split(value)
    elif isinstance(value, list):
        rows = value
    else:
        raise SchemaError(f"{shape} must be a list of row objects; {_HINT}", field=shape)
    if not rows:
        raise SchemaError(f"{shape} is empty; send at least one row", field=shape)
    if len(rows) > MAX_ROWS:
        raise SchemaError(
            f"{shape} has {len(rows)} rows; send at most {MAX_ROWS} per request", field=shape
        )
    return rows, False


def _split(value: Any) -> list[Any]:
    if not isinstance(value, dict) or set(value) - {"columns", "data", "index"}:
        raise SchemaError(
            'dataframe_split must be {"columns": [...], "data": [[...], ...]}',
            field="dataframe_split",
        )
    columns, data = value.get("columns"), value.get("data")
    if not isinstance(columns, list) or not all(isinstance(c, str) for c in columns):
        raise SchemaError(
            "dataframe_split.columns must be a list of column names",
            field="dataframe_split.columns",
        )
    if not isinstance(data, list):
        raise SchemaError(
            "dataframe_split.data must be a list of rows", field="dataframe_split.data"
        )
    rows = []
    for i, row in enumerate(data):
        if not isinstance(row, list) or len(row) != len(columns):
            raise SchemaError(
                f"dataframe_split.data[{i}] must be a list of {len(columns)} values, one per "
                "column",
                field=f"dataframe_split.data[{i}]",
            )
        rows.append(dict(zip(columns, row, strict=True)))
    return rows


def feedback_items(payload: Any) -> tuple[list[tuple[str, Any, str | None]], bool]:
    """``(request_id, label, model or None)`` items of a feedback body, and single-ness."""
    single = isinstance(payload, dict)
    items = [payload] if single else payload
    hint = 'send {"request_id": "...", "label": ...} or a list of them'
    if not isinstance(items, list):  # an empty list is a no-op, as the OpenAPI schema allows
        raise SchemaError(f"the feedback body must be an object or a list; {hint}")
    if len(items) > MAX_ROWS:
        raise SchemaError(f"send at most {MAX_ROWS} feedback items per request", field="body")
    out = []
    for i, item in enumerate(items):
        where = "" if single else f"[{i}]."
        if not isinstance(item, dict):
            raise SchemaError(f"feedback item {i} must be an object; {hint}", field=f"[{i}]")
        extra = set(item) - {"request_id", "label", "model"}
        if extra:
            key = sorted(extra)[0]
            raise SchemaError(
                f"unknown feedback field {key!r}; the fields are request_id, label and model",
                field=f"{where}{key}",
            )
        rid = item.get("request_id")
        if not isinstance(rid, str) or not rid or len(rid) > 128:
            raise SchemaError(
                "request_id must be the non-empty string the prediction returned",
                field=f"{where}request_id",
            )
        label = item.get("label")
        if label is None or not isinstance(label, str | int | float):
            raise SchemaError(
                "label must be the true class or value (a string or number)",
                field=f"{where}label",
            )
        model = item.get("model")
        if model is not None and not isinstance(model, str):
            raise SchemaError("model must be a model name", field=f"{where}model")
        out.append((rid, label, model))
    return out, single
