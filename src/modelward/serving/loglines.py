"""A request's log rows as JSON lines, built column by column.

The prediction log takes one JSON object line per row (:func:`modelward.predlog.convert.
json_line`). Building a dict per row and encoding each costs microseconds a row in
Python; here each column is encoded by one ``orjson`` call and cut at its separators, and
the lines are joined from the columns' pieces with no Python per row. Cutting is exact:
numbers, ``true``/``false`` and ``null`` hold no comma, and inside a JSON string every
quote is escaped, so ``","`` only ever separates two strings of a list. A column mixing
text and nulls is encoded value by value. A value JSON cannot carry as it is (an integer
beyond 64 bits) gives None: the caller logs row by row, which sets such a row aside.
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import repeat
from typing import Any

import orjson

__all__ = ["Encoded", "json_lines", "json_texts"]

_PLAIN = frozenset({int, float, bool, type(None)})  # JSON with no comma inside


class Encoded(list[bytes]):
    """A column already encoded: each row's JSON, as bytes."""


def json_lines(head: dict[str, Any], columns: Sequence[tuple[str, Sequence[Any]]]) -> bytes | None:
    """One JSON object line per row: ``head``'s fields (the same on every row; at least
    one), then each column's value for the row; None when a value cannot be encoded as it
    is (or there is no row)."""
    rows = len(columns[0][1]) if columns else 0
    if not rows or not head:
        return None
    if rows == 1:  # one row: one dict, one orjson call
        row = dict(head)
        for name, values in columns:
            row[name] = orjson.loads(values[0]) if isinstance(values, Encoded) else values[0]
        try:
            return orjson.dumps(row) + b"\n"
        except TypeError:  # orjson.JSONEncodeError
            return None
    try:
        first = orjson.dumps(head)[:-1]  # '{"k":…' without its closing brace
        parts: list[Any] = []
        joint = first
        for name, values in columns:
            quote, pieces = _pieces(values)
            if len(values) != rows or len(pieces) != rows:
                return None
            parts += [repeat(joint + b"," + orjson.dumps(name) + b":" + quote), pieces]
            joint = quote
    except TypeError:  # orjson.JSONEncodeError: a value JSON cannot carry as it is
        return None
    parts.append(repeat(joint + b"}\n"))
    return b"".join(map(b"".join, zip(*parts, strict=False)))  # repeat() never ends


def json_texts(keys: Sequence[str], matrix: Any) -> Encoded:
    """Each row of ``matrix`` as the JSON text of ``{key: value}`` in a JSON string (what
    ``orjson.dumps(orjson.dumps(dict(zip(keys, row))).decode())`` gives), column by column."""
    parts: list[Any] = []
    joint = b'"{'
    for j, key in enumerate(keys):
        field = orjson.dumps(orjson.dumps(key).decode() + ":")[1:-1]  # escaped for a string
        parts += [repeat(joint + field), orjson.dumps(matrix[:, j].tolist())[1:-1].split(b",")]
        joint = b","
    parts.append(repeat(b'}"'))
    return Encoded(map(b"".join, zip(*parts, strict=False)))  # repeat() never ends


def _pieces(values: Sequence[Any]) -> tuple[bytes, list[bytes]]:
    """A column's values encoded: the quote around each piece, and the pieces."""
    if isinstance(values, Encoded):
        return b"", values
    kinds = set(map(type, values))
    if kinds <= _PLAIN:
        return b"", orjson.dumps(values)[1:-1].split(b",")
    if kinds == {str}:
        return b'"', orjson.dumps(values)[2:-2].split(b'","')
    return b"", [orjson.dumps(v) for v in values]
