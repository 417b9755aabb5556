"""Reading tabular data files (CSV, Parquet), with one-line errors for every way they fail."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from modelward.data.csvfile import read_csv
from modelward.data.spec import SPEC_SUFFIXES, load_dataset
from modelward.errors import DataError, first_line

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SUFFIXES", "read_data", "read_source", "read_table", "split_target"]

SUFFIXES = (".csv", ".parquet", ".pq")


def read_source(
    data: pd.DataFrame | Path | str, name: str | None = None
) -> tuple[pd.DataFrame, str]:
    """Data as the Python API takes it, and how runs name it: what ``--data`` names (a
    file or a dataset spec, read by :func:`read_data` and named by that reference), or a
    DataFrame as it is (named ``name``, else "")."""
    if isinstance(data, str | Path):
        return read_data(data), str(data) if name is None else name
    return data, name or ""


def read_data(ref: Path | str) -> pd.DataFrame:
    """What ``--data`` names: a CSV or Parquet file, or a dataset spec with optional parts.

    ``heart.yml`` reads every part of the spec, ``heart.yml#cleveland`` one part,
    ``heart.yml#hungarian,switzerland`` several (see :mod:`modelward.data.spec`).
    """
    text = str(ref)
    path_text, _, parts = text.partition("#")
    path = Path(path_text)
    if path.suffix.lower() in SPEC_SUFFIXES:
        names = [p.strip() for p in parts.split(",") if p.strip()] if parts else None
        return load_dataset(path, names)
    if parts:
        raise DataError(
            f"{text!r}: only a dataset spec (.yml) takes #parts; pass the file alone",
            field="data",
        )
    return read_table(path)


def read_table(path: Path | str, *, na_values: list[str] | None = None) -> pd.DataFrame:
    """A CSV or Parquet file as a DataFrame. Empty or unreadable files are DataErrors."""
    import pandas as pd

    path = Path(path)
    if not path.exists():
        raise DataError(f"data file {path} does not exist; check the path", field="data")
    if path.is_dir():
        raise DataError(f"{path} is a folder; pass a .csv or .parquet file", field="data")
    suffix = path.suffix.lower()
    if suffix not in SUFFIXES:
        raise DataError(
            f"{path} has an unsupported suffix {suffix or '(none)'!r}; use .csv, .parquet "
            "or a dataset spec (.yml)",
            field="data",
        )
    try:
        if suffix == ".csv":
            frame = read_csv(path, na_values=na_values)
        else:
            frame = pd.read_parquet(path)
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"data file {path} is empty; it needs a header and rows") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        first = first_line(exc)
        raise DataError(f"cannot read {path}: {first}; check the file format") from exc
    if frame.empty:
        raise DataError(f"data file {path} has no rows; it needs at least one", field="data")
    return frame


def split_target(
    frame: pd.DataFrame,
    target: str,
    *,
    source: str = "the data",
    fix: str = "pass the right --target",
):
    """(features, target) or a DataError naming the missing column and the ones present."""
    if target not in frame.columns:
        shown = ", ".join(map(str, list(frame.columns)[:12]))
        raise DataError(
            f"{source} has no target column {target!r}; its columns are {shown}; {fix}",
            field="target",
        )
    return frame.drop(columns=[target]), frame[target]
