"""The one CSV reader: pandas, after every line was checked to have all its fields.

pandas pads a row with too few fields with NaN without a word (a row with too many is an
error, or with names given, silently becomes the index). Here every row must have as many
fields as the header (or the spec's column names): a first pass with pyarrow's CSV reader
counts them (streaming, one column converted: +0.13 s on a million 14-field rows that
pandas reads in 0.21 s; ``benchmarks/csv_read.py``), and only when a row is wrong does a
second pass with the csv module find its line (the physical line number, counting blank
lines and quoted line breaks).
"""

from __future__ import annotations

import csv
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.errors import DataError

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["check_fields", "read_csv"]


def read_csv(
    path: Path,
    *,
    header: bool = True,
    names: Sequence[str] | None = None,
    **options: Any,
) -> pd.DataFrame:
    """``pandas.read_csv`` of a file whose every row has its fields; ``options`` go to it."""
    import pandas as pd

    check_fields(path, header=header, names=names)
    return pd.read_csv(
        path, header=0 if header else None, names=list(names) if names else None, **options
    )


def check_fields(path: Path, *, header: bool = True, names: Sequence[str] | None = None) -> None:
    """A DataError naming the first line whose field count is not the header's."""
    import pyarrow as pa
    import pyarrow.csv as pc

    wrong: list[Any] = []

    def invalid(row: Any) -> str:
        if not row.text.strip():  # a line of spaces: pandas skips it as blank
            return "skip"
        wrong.append(row)
        return "error"

    first = "c0" if names else "f0"
    try:
        batches = pc.open_csv(
            path,
            read_options=pc.ReadOptions(
                use_threads=False,  # as fast on a busy machine, and pandas follows anyway
                column_names=[f"c{i}" for i in range(len(names))] if names else None,
                autogenerate_column_names=not names,  # the header is a row: its count rules
            ),
            parse_options=pc.ParseOptions(newlines_in_values=True, invalid_row_handler=invalid),
            convert_options=pc.ConvertOptions(
                include_columns=[first], column_types={first: pa.binary()}
            ),
        )
        for _ in batches:
            pass
        return
    except (pa.ArrowException, OSError):
        pass  # a wrong count, or anything else pyarrow refuses: the csv module says which line
    found = _first_wrong_line(path, len(names) if names else None)
    if found is None and wrong:  # pyarrow and csv disagree: pyarrow's row number then
        found = (wrong[0].number or 0, wrong[0].actual_columns, wrong[0].expected_columns)
    if found is None:
        return  # pandas reads it, or says what else is wrong
    line, count, expected = found
    rule = (
        f"the dataset spec names {expected} columns"
        if names
        else f"the header has {expected}"
        if header
        else f"the first line has {expected}"
    )
    raise DataError(
        f"{path} line {line} has {count} field{'' if count == 1 else 's'}, {rule}; "
        "fix or remove the line",
        field="data",
    )


def _first_wrong_line(path: Path, expected: int | None) -> tuple[int, int, int] | None:
    """(line, fields, expected) of the first row with the wrong count, by the csv module."""
    try:
        with open(path, newline="", encoding="utf-8-sig", errors="replace") as file:
            reader = csv.reader(file)
            start = 1
            for record in reader:
                if any(field.strip() for field in record) or len(record) > 1:
                    if expected is None:
                        expected = len(record)
                    elif len(record) != expected:
                        return start, len(record), expected
                start = reader.line_num + 1
    except (OSError, csv.Error):
        return None
    return None
