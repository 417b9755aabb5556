"""Rows to Arrow tables, one per ``(kind, model, date)`` partition, and the rows that cannot
be converted (quarantined with the reason, so one bad row never holds the others back).

A write-ahead segment is converted with Arrow's JSON reader (C++, without holding the
GIL); when that refuses the segment (a torn line, a value its column cannot hold) the
segment is converted row by row and only the rows that fail are set aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson

from modelward.errors import first_line
from modelward.predlog.buffers import floats
from modelward.predlog.layout import (
    FEEDBACK,
    FEEDBACK_COLUMNS,
    PREDICTION_COLUMNS,
    PREDICTIONS,
    REQUEST_COLUMNS,
    arrow_schema,
)
from modelward.predlog.segment import TYPE_LINE

__all__ = [
    "Converted",
    "Key",
    "convert_rows",
    "convert_segment",
    "day_of",
    "guess_type",
    "json_line",
    "merged_types",
]

Key = tuple[str, str, str | None]  # kind, model, date (YYYY-MM-DD; None: no valid ts)
Partition = tuple[str, str, str]  # kind, model, date


@dataclass
class Converted:
    tables: dict[Partition, Any] = field(default_factory=dict)  # pyarrow Tables
    quarantined: list[dict[str, Any]] = field(default_factory=list)  # {"reason", "row"}
    types: dict[str, dict[str, str]] = field(default_factory=dict)  # model -> column types

    def set_aside(self, row: Any, reason: str) -> None:
        self.quarantined.append({"reason": reason, "row": row})


def json_line(row: dict[str, Any]) -> bytes:
    """``row`` as one JSON line. A value JSON cannot carry as is (an integer beyond 64 bits,
    an odd type) is written as text: the row then fails its column's type at conversion
    and is quarantined, instead of failing the request that logged it."""
    try:
        return orjson.dumps(row) + b"\n"
    except TypeError:  # orjson.JSONEncodeError
        return orjson.dumps({k: _plain(v) for k, v in row.items()}, default=str) + b"\n"


def _plain(value: Any) -> Any:
    if isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64:
        return str(value)
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    return value


def guess_type(rows: list[dict[str, Any]], column: str) -> str:
    for row in rows:
        value = row.get(column)
        if value is None:
            continue
        if isinstance(value, bool) or isinstance(value, str):
            return "string"
        if isinstance(value, int):
            return "int64"
        return "float64"
    return "string"


# -- a segment ------------------------------------------------------------------------------


def convert_segment(
    data: bytes, declared: dict[str, dict[str, str]] | None = None, *, threads: bool = False
) -> Converted:
    """The tables of one write-ahead segment (its ``{"k":"t"}`` lines give the types, which
    the result keeps; ``declared``: the types of a part of it read before, for its later
    lines). ``threads``: Arrow parses on every core (a reader; a server's publisher leaves
    them to requests)."""
    types = merged_types(declared or {}, data)
    try:
        return _read_whole(data, types, threads)
    except Exception:  # noqa: BLE001 - any refusal: convert row by row, set aside the bad
        pass
    batches: dict[Key, list[dict[str, Any]]] = {}
    out = Converted(types=types)
    for line in data.splitlines():
        if not line.strip():
            continue
        try:
            row = orjson.loads(line)
        except orjson.JSONDecodeError:
            out.set_aside(line.decode("utf-8", "replace"), "not a JSON line (torn by a crash?)")
            continue
        if not isinstance(row, dict) or row.get("k") == "t":
            continue
        kind, model = row.pop("k", None), row.pop("m", None)
        if kind not in (PREDICTIONS, FEEDBACK) or not isinstance(model, str):
            out.set_aside(row, "not a prediction or feedback row")
            continue
        batches.setdefault((kind, model, day_of(row.get("ts"))), []).append(row)
    _convert_batches(batches, types, out)
    return out


def _read_whole(data: bytes, types: dict[str, dict[str, str]], threads: bool) -> Converted:
    """The segment through Arrow's JSON reader in one go (raises on anything odd)."""
    import io

    import pyarrow as pa
    import pyarrow.json as pj

    out = Converted(types=types)
    if not data.strip():
        return out
    columns: dict[str, str] = {}
    for model_types in types.values():
        for name, type_ in model_types.items():
            if columns.get(name, type_) != type_:
                numeric = {columns[name], type_} <= {"int64", "float64"}
                type_ = "float64" if numeric else "string"
            columns[name] = type_
    fields = [
        pa.field(name, pa.int64() if name == "ts" else _arrow_type(type_))
        for name, type_ in {
            **PREDICTION_COLUMNS,
            **FEEDBACK_COLUMNS,
            "k": "string",
            "m": "string",
            **columns,
        }.items()
    ]
    table = pj.read_json(
        io.BytesIO(data),
        read_options=pj.ReadOptions(use_threads=threads, block_size=1 << 20),
        parse_options=pj.ParseOptions(
            explicit_schema=pa.schema(fields), unexpected_field_behavior="ignore"
        ),
    )
    stamps = table["ts"].cast(pa.timestamp("us", tz="UTC"))
    table = table.set_column(table.schema.get_field_index("ts"), "ts", stamps)
    table = table.append_column(_DATE, stamps.cast(pa.date32()).cast(pa.string()))
    # One run of rows per (kind, model, date), in the segment's order within each (a
    # stable sort). No Python value is handed to Arrow: that would import pandas (a
    # second of a reader's cold start).
    table = table.sort_by([("k", "ascending"), ("m", "ascending"), (_DATE, "ascending")])
    for start, length in _runs(table, ["k", "m", _DATE]):
        part = table.slice(start, length)
        kind, model, date = (part[name][0].as_py() for name in ("k", "m", _DATE))
        if kind == "t":
            continue  # the type lines ({"k":"t"})
        if kind not in (PREDICTIONS, FEEDBACK) or model is None or not _is_day(date):
            raise ValueError("a row of no partition: the rows one by one set it aside")
        features = types.get(model, {}) if kind == PREDICTIONS else {}
        target = arrow_schema(kind, features)
        out.tables[(kind, model, date)] = pa.Table.from_arrays(
            [
                pa.nulls(length, f.type) if f.name in REQUEST_COLUMNS else part[f.name].cast(f.type)
                for f in target
            ],
            schema=target,
        )
    return out


#: The partition's date, a column of a segment's table while it is split.
_DATE = "__date"


def _is_day(date: str | None) -> bool:
    """Whether Arrow's ``date`` is a day :func:`day_of` gives too (years 1 to 9999)."""
    return date is not None and len(date) == 10 and "0001-01-01" <= date <= "9999-12-31"


def _runs(table: Any, columns: list[str]) -> list[tuple[int, int]]:
    """``(start, length)`` of each run of rows of a sorted ``table`` that hold the same
    values in ``columns`` (a null row is a run of its own)."""
    import numpy as np
    import pyarrow.compute as pc

    rows = table.num_rows
    if rows == 0:
        return []
    changed = np.zeros(rows - 1, dtype=bool)
    for name in columns:
        codes = pc.dictionary_encode(table[name]).combine_chunks().indices
        values = floats(codes, np.dtype(f"int{codes.type.bit_width}"))  # null: NaN
        changed |= ~(values[1:] == values[:-1])  # NaN: a null row differs from all
    starts = [0, *(np.flatnonzero(changed) + 1).tolist(), rows]
    return [(a, b - a) for a, b in zip(starts, starts[1:], strict=False)]


def merged_types(declared: dict[str, dict[str, str]], data: bytes) -> dict[str, dict[str, str]]:
    """``declared`` updated with the column types of ``data``'s ``{"k":"t", …}`` lines."""
    types = {model: dict(found) for model, found in declared.items()}
    start = data.find(TYPE_LINE)
    while start != -1:
        end = data.find(b"\n", start)
        try:
            line = orjson.loads(data[start : end if end != -1 else len(data)])
            types.setdefault(line["m"], {}).update(line["types"])
        except (orjson.JSONDecodeError, KeyError, TypeError, AttributeError):
            pass
        start = data.find(TYPE_LINE, start + 1)
    return types


# -- rows -----------------------------------------------------------------------------------


def convert_rows(
    batches: dict[Key, list[dict[str, Any]]], types: dict[str, dict[str, str]]
) -> Converted:
    """The tables of rows held in memory (``ts`` in microseconds), by partition."""
    out = Converted(types=types)
    _convert_batches(batches, types, out)
    return out


def _convert_batches(
    batches: dict[Key, list[dict[str, Any]]], types: dict[str, dict[str, str]], out: Converted
) -> None:
    for key, rows in batches.items():
        kind, model, date = key
        if date is None:
            for row in rows:
                out.set_aside({"k": kind, "m": model, **row}, "ts is not a time in microseconds")
            continue
        try:
            out.tables[(kind, model, date)] = _table(kind, rows, types.get(model, {}))
            continue
        except Exception:  # noqa: BLE001 - find the rows that cannot be converted
            pass
        good = []
        for row in rows:
            try:
                _table(kind, [row], types.get(model, {}))
                good.append(row)
            except Exception as exc:  # noqa: BLE001 - whatever it holds, set it aside
                out.set_aside({"k": kind, "m": model, **row}, _reason(exc))
        if good:
            out.tables[(kind, model, date)] = _table(kind, good, types.get(model, {}))


def _table(kind: str, rows: list[dict[str, Any]], types: dict[str, str]) -> Any:
    import pyarrow as pa

    if kind == PREDICTIONS:
        present = {k for row in rows for k in row if k.startswith("in_")}
        features = {k: types.get(k) or guess_type(rows, k) for k in present}
    else:
        features = {}
    schema = arrow_schema(kind, features)
    # Column by column is several times faster than from_pylist (less time holding the
    # GIL, so less latency added to requests served meanwhile).
    columns = []
    for f in schema:
        try:
            if f.name in REQUEST_COLUMNS:  # the publisher computes them; a row's are not kept
                columns.append(pa.nulls(len(rows), f.type))
                continue
            columns.append(pa.array([row.get(f.name) for row in rows], f.type))
        except Exception as exc:  # noqa: BLE001 - say which column refused the value
            raise ValueError(f"column {f.name} ({f.type}): {exc}") from exc
    return pa.Table.from_arrays(columns, schema=schema)


def _reason(exc: Exception) -> str:
    return first_line(exc)[:300]


def day_of(ts_us: Any) -> str | None:
    """The UTC date of a ``ts`` in microseconds since the epoch; None when it is not one."""
    if isinstance(ts_us, bool) or not isinstance(ts_us, int | float):
        return None
    try:
        return datetime.fromtimestamp(ts_us / 1e6, UTC).strftime("%Y-%m-%d")
    except (ValueError, OverflowError, OSError):
        return None


def _arrow_type(name: str) -> Any:
    import pyarrow as pa

    types = {"string": pa.string(), "int64": pa.int64(), "float64": pa.float64()}
    return pa.bool_() if name == "bool" else types[name]
