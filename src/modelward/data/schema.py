"""Input schemas inferred from data, and data fingerprints.

A schema lists each input column with its kind (integer, float, boolean, string), whether
it may be missing, its observed range (numbers, and whether they were all whole) or
categories (strings, booleans).
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
        return "integer"  # the data's own type says integer: only whole numbers
    if pd.api.types.is_float_dtype(series):
        return "float"  # whole numbers in a float column are a pattern, not a rule
    return "string"


def infer_schema(frame: pd.DataFrame) -> dict[str, Any]:
    """The input schema of ``frame``. A float column holding only whole numbers (a CSV's
    ``63.0``, or integers with gaps) stays ``float`` with ``integral: true``: any number
    is accepted, and one with a fraction is flagged, not refused. Only a column of an
    integer type is ``integer``, refusing fractions."""
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
            if kind == "float" and bool((values == values.round()).all()):
                column["integral"] = True
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
