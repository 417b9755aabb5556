"""Request inputs checked against a version's input schema, compiled once per version.

A row is a JSON object ``{feature: value}``. Unknown fields, missing required fields,
nulls where the training data had none, values of the wrong type and numbers beyond what the
column holds (64-bit integers, finite 64-bit floats) are refused with a
:class:`~modelward.errors.SchemaError` naming the field, the value and what is allowed.
Values outside the training range (or unseen categories) are refused when the policy
says ``data.out_of_range: reject``; with ``flag`` (the default) they are served and
their field names returned as flags (and logged). A number with a fraction where the
training data held only whole numbers (``integral``) is always served and flagged; only
an ``integer`` column (an integer type in the data) refuses it.

:meth:`InputValidator.check_rows` checks a request's rows column by column (vectorised
with NumPy for numbers); whenever a column holds anything its fast checks do not pass —
a wrong type, a null where none is allowed, a value to refuse — the rows are checked one
by one instead, so a refused request gets the same error naming the same row and field.
"""

from __future__ import annotations

import math
import operator
import sys
from dataclasses import dataclass
from itertools import chain
from typing import Any

from modelward.errors import SchemaError

__all__ = ["Column", "InputValidator"]

_NUMBER = (int, float)
_NONE = type(None)
_EXACT = 2.0**53  # every whole number below this is exact as a 64-bit float
#: fewer rows than this are checked row by row (NumPy's set-up costs more than it saves)
COLUMNAR_FROM = 8
_INT64 = (-(2**63), 2**63 - 1)  # what an integer input (and its log column) holds
_FLOAT_MAX = sys.float_info.max


@dataclass(frozen=True)
class Column:
    name: str
    kind: str
    nullable: bool
    low: float | None = None
    high: float | None = None
    categories: frozenset[Any] | None = None
    integral: bool = False  # whole numbers in training: a fraction is flagged, not refused

    def allowed(self) -> str:
        if self.kind in ("integer", "float"):
            span = f" in {self.low}..{self.high}" if self.low is not None else ""
            return f"{'an integer' if self.kind == 'integer' else 'a number'}{span}"
        if self.kind == "boolean":
            return "true or false"
        if self.categories is not None:
            shown = ", ".join(repr(c) for c in sorted(self.categories, key=str)[:8])
            return f"a string (seen: {shown})"
        return "a string"


class InputValidator:
    def __init__(self, schema: dict[str, Any], *, out_of_range: str = "flag") -> None:
        self.columns = [
            Column(
                name=str(c["name"]),
                kind=str(c.get("kind", "string")),
                nullable=bool(c.get("nullable", False)),
                low=c.get("min"),
                high=c.get("max"),
                categories=frozenset(c["categories"]) if "categories" in c else None,
                integral=bool(c.get("integral", False)),
            )
            for c in schema.get("columns", [])
        ]
        self.names = [c.name for c in self.columns]
        self._known = frozenset(self.names)
        self.reject = out_of_range == "reject"

    def check_rows(
        self, rows: list[Any], single: bool = False
    ) -> tuple[dict[str, list[Any]], list[list[str]]]:
        """A request's rows checked: each input's values (coerced, None where missing) by
        name, and each row's flags. The error for a refused row is :meth:`check`'s."""
        fast = self._columnar(rows) if len(rows) >= COLUMNAR_FROM else None
        if fast is not None:
            return fast
        checked = [
            self.check(row, "inputs" if single else f"inputs[{i}]") for i, row in enumerate(rows)
        ]
        columns = {name: [values[j] for values, _ in checked] for j, name in enumerate(self.names)}
        return columns, [flags for _, flags in checked]

    def _columnar(self, rows: list[Any]) -> tuple[dict[str, list[Any]], list[list[str]]] | None:
        """The rows checked column by column, or None when a row needs the row-by-row
        check (which raises the error that names it, or coerces what this does not)."""
        import numpy as np

        table = self._table(rows)
        if table is None:
            return None
        block = [j for j, col in enumerate(self.columns) if _in_block(col)]
        done: dict[int, tuple[list[Any], Any]] = {}
        if len(block) > 1:  # the numbers checked as one matrix
            found = self._block([self.columns[j] for j in block], [table[j] for j in block])
            if found is None:
                return None
            done = dict(zip(block, found, strict=True))
        flags: list[list[str]] = [[] for _ in rows]
        columns: dict[str, list[Any]] = {}
        for j, (col, values) in enumerate(zip(self.columns, table, strict=True)):
            checked = done.get(j) or self._column(values, col)
            if checked is None:
                return None
            columns[col.name], flagged = checked
            if flagged is not None and flagged.any():
                if self.reject:
                    return None
                for i in np.flatnonzero(flagged).tolist():
                    flags[i].append(col.name)
        return columns, flags

    def _table(self, rows: list[Any]) -> list[list[Any]] | None:
        """Each input's values (None where a row leaves it out), in schema order, or None
        when a row is not an object or names a field that is not an input. Rows that all
        name every input are read with no Python per row (one itemgetter, one transpose)."""
        if set(map(type, rows)) != {dict}:
            return None
        names = self.names
        if names and set(map(len, rows)) == {len(names)}:
            try:  # as many fields as inputs, and each input there: exactly the inputs
                got = list(map(operator.itemgetter(*names), rows))
            except KeyError:
                return None
            if len(names) == 1:
                return [got]
            return [list(values) for values in zip(*got, strict=True)]
        known = self._known
        if not all(known.issuperset(row) for row in rows):
            return None
        return [[row.get(name) for row in rows] for name in names]

    @staticmethod
    def _block(cols: list[Column], table: list[list[Any]]) -> list[tuple[list[Any], Any]] | None:
        """Number inputs (:func:`_in_block`) checked as one matrix, as :meth:`_column`
        checks each: their values and masks of rows to flag, or None (row by row)."""
        import numpy as np

        if not set(map(type, chain.from_iterable(table))) <= {int, float, _NONE}:
            return None
        missing = [values.count(None) for values in table]
        if any(m and not col.nullable for m, col in zip(missing, cols, strict=True)):
            return None
        try:
            arr = np.array(table, dtype="float64")  # None becomes NaN
        except OverflowError:
            return None
        absent = np.isnan(arr)
        if absent.sum(axis=1).tolist() != missing:  # a NaN sent: refused row by row
            return None
        if not (np.isfinite(arr) | absent).all():  # infinity sent: refused row by row
            return None
        bounded = [c.low is not None and c.high is not None for c in cols]
        low = np.array([c.low if b else -np.inf for c, b in zip(cols, bounded, strict=True)])
        high = np.array([c.high if b else np.inf for c, b in zip(cols, bounded, strict=True)])
        flagged = (arr < low[:, None]) | (arr > high[:, None])  # NaN (missing) compares False
        integral = np.array([c.integral for c in cols])
        if integral.any():
            flagged |= (arr != np.floor(arr)) & ~absent & integral[:, None]
        out = arr.tolist()
        for j, count in enumerate(missing):
            if count:
                boxed = arr[j].astype(object)
                boxed[absent[j]] = None
                out[j] = boxed.tolist()
        return list(zip(out, flagged, strict=True))

    @staticmethod
    def _column(values: list[Any], col: Column) -> tuple[list[Any], Any] | None:
        """One input's values and the mask of rows to flag, or None (check row by row)."""
        import numpy as np

        kinds = set(map(type, values))
        missing = _NONE in kinds
        if missing and not col.nullable:
            return None
        kinds.discard(_NONE)
        absent = None
        if col.kind == "float":
            if not kinds <= {int, float}:
                return None
            try:
                arr = np.array(values, dtype="float64")  # None becomes NaN
            except OverflowError:
                return None
            if missing:
                absent = np.isnan(arr)
                if int(absent.sum()) != values.count(None):  # a NaN sent: refused row by row
                    return None
            finite = np.isfinite(arr) if absent is None else np.isfinite(arr) | absent
            if not finite.all():  # infinity sent: refused row by row
                return None
            if absent is None:
                out = arr.tolist()
            else:
                boxed = arr.astype(object)
                boxed[absent] = None
                out = boxed.tolist()
        elif col.kind == "integer":
            if missing or not kinds <= {int, float}:
                return None
            if kinds == {int}:
                try:
                    arr = np.array(values, dtype="int64")
                except OverflowError:
                    return None
                out = values
            else:  # whole floats (63.0) are integers; exact as floats below 2**53
                arr = np.array(values, dtype="float64")
                whole = np.isfinite(arr) & (arr == np.floor(arr)) & (np.abs(arr) < _EXACT)
                if not whole.all():
                    return None
                out = arr.astype("int64").tolist()
        elif col.kind == "boolean":
            if not kinds <= {bool}:
                return None
            arr, out = None, values
        else:
            if not kinds <= {str}:
                return None
            arr, out = None, values
        return out, InputValidator._flagged(col, arr, out, absent)

    @staticmethod
    def _flagged(col: Column, arr: Any, values: list[Any], absent: Any) -> Any:
        """Rows outside the training data (or with a fraction where training had only whole
        numbers), as :meth:`_outside` and :meth:`check` decide for one value."""
        import numpy as np

        numeric = col.kind in ("integer", "float")
        if col.low is not None and col.high is not None and numeric:
            flagged = (arr < col.low) | (arr > col.high)  # NaN (missing) compares False
        elif col.categories is not None:
            cats = col.categories
            flagged = np.fromiter((v is not None and v not in cats for v in values), bool)
        else:
            flagged = None
        if col.integral and col.kind == "float":
            fraction = arr != np.floor(arr)
            if absent is not None:
                fraction &= ~absent
            flagged = fraction if flagged is None else flagged | fraction
        return flagged

    def check(self, row: Any, where: str) -> tuple[list[Any], list[str]]:
        """The row's values in schema order (coerced to the schema's kinds) and its flags."""
        if not isinstance(row, dict):
            raise SchemaError(
                f"{where} must be an object of feature: value, got {_show(row)}", field=where
            )
        if len(row) > len(self._known) or not self._known.issuperset(row):
            extra = sorted(set(row) - self._known)
            if extra:
                raise SchemaError(
                    f"{where}.{extra[0]} is not an input of this model; its inputs are "
                    f"{', '.join(self.names)}",
                    field=f"{where}.{extra[0]}",
                )
        values: list[Any] = []
        flags: list[str] = []
        for col in self.columns:
            value = row.get(col.name)
            if value is None:
                if not col.nullable:
                    state = "is null" if col.name in row else "is missing"
                    raise SchemaError(
                        f"{where}.{col.name} {state}; it is required: send {col.allowed()}",
                        field=f"{where}.{col.name}",
                    )
                values.append(None)
                continue
            value = self._coerce(col, value, where)
            if self._outside(col, value):
                if self.reject:
                    raise SchemaError(
                        f"{where}.{col.name} = {_show(value)} is outside the training data; "
                        f"send {col.allowed()} (policy data.out_of_range: reject)",
                        field=f"{where}.{col.name}",
                    )
                flags.append(col.name)
            elif col.integral and not float(value).is_integer():
                flags.append(col.name)  # a quality flag: training only had whole numbers
            values.append(value)
        return values, flags

    @staticmethod
    def _coerce(col: Column, value: Any, where: str) -> Any:
        kind = col.kind
        ok = True
        if kind == "integer":
            if isinstance(value, bool) or not isinstance(value, _NUMBER):
                ok = False
            elif isinstance(value, float):
                ok = math.isfinite(value) and value.is_integer()
                value = int(value) if ok else value
            if ok and not _INT64[0] <= value <= _INT64[1]:
                _beyond(col, value, where, "an integer input holds (64 bits)")
        elif kind == "float":
            ok = isinstance(value, _NUMBER) and not isinstance(value, bool)
            if ok and not (isinstance(value, float) or abs(value) <= _FLOAT_MAX):
                _beyond(col, value, where, "a number input holds (64-bit float)")
            value = float(value) if ok else value
            if ok and not math.isfinite(value):
                _beyond(col, value, where, "a number input holds (finite, 64-bit float)")
        elif kind == "boolean":
            ok = isinstance(value, bool)
        else:
            ok = isinstance(value, str)
        if not ok:
            raise SchemaError(
                f"{where}.{col.name} = {_show(value)} has the wrong type; send {col.allowed()}",
                field=f"{where}.{col.name}",
            )
        return value

    @staticmethod
    def _outside(col: Column, value: Any) -> bool:
        if col.low is not None and col.high is not None and col.kind in ("integer", "float"):
            return bool(value < col.low or value > col.high)
        if col.categories is not None:
            return value not in col.categories
        return False


def _in_block(col: Column) -> bool:
    """A number input :meth:`InputValidator._block` checks with the others."""
    return col.kind == "float" and col.categories is None


def _beyond(col: Column, value: Any, where: str, holds: str) -> None:
    raise SchemaError(
        f"{where}.{col.name} = {_show(value)} is beyond what {holds}; send {col.allowed()}",
        field=f"{where}.{col.name}",
    )


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."
