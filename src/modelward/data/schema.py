"""Input schemas inferred from data, and data fingerprints.

A schema lists each input column with its kind (integer, float, boolean, string), whether
it had missing values, its observed range (numbers) or categories (strings, booleans).
The server validates requests against it; monitoring compares traffic with it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["MAX_CATEGORIES", "fingerprint", "infer_schema"]

MAX_CATEGORIES = 100


def _kind(series: pd.Series) -> str:
    import pandas as pd

    if pd.api.types.is_bool_dtype(series):
        return "boolean"
    if pd.api.types.is_integer_dtype(series):
        return "integer"
    if pd.api.types.is_float_dtype(series):
        values = series.dropna()
        if len(values) and (values == values.round()).all():
            return "integer"  # ints with missing values arrive as floats
        return "float"
    return "string"


def infer_schema(frame: pd.DataFrame) -> dict[str, Any]:
    columns = []
    for name in frame.columns:
        series = frame[name]
        kind = _kind(series)
        column: dict[str, Any] = {
            "name": str(name),
            "kind": kind,
            "dtype": str(series.dtype),
            "nullable": bool(series.isna().any()),
        }
        values = series.dropna()
        if kind in ("integer", "float") and len(values):
            column["min"] = _plain(values.min())
            column["max"] = _plain(values.max())
        elif kind in ("string", "boolean"):
            uniques = sorted(map(_plain, values.unique()), key=str)
            if len(uniques) <= MAX_CATEGORIES:
                column["categories"] = uniques
        columns.append(column)
    return {"columns": columns}


def fingerprint(frame: pd.DataFrame) -> str:
    """sha256 over column names, dtypes and row hashes: same data, same fingerprint."""
    import pandas as pd

    digest = hashlib.sha256()
    for name in frame.columns:
        digest.update(f"{name}:{frame[name].dtype};".encode())
    digest.update(pd.util.hash_pandas_object(frame, index=False).to_numpy().tobytes())
    return digest.hexdigest()


def _plain(value: Any) -> Any:
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value
