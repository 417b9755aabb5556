"""Dataset specs: how to read a family of raw files into one named, typed table.

A spec is a small YAML file beside the data::

    name: uci-heart-disease
    format: csv            # csv or parquet
    header: false          # the files have no header row ...
    columns: [age, sex, ..., num]   # ... so the spec names the columns
    na_values: ["?"]
    target: {name: target, from: num, positive: "> 0"}   # derived binary label
    drop: [num]
    part_column: site      # when several parts are read, a column naming each row's part
    parts:
      cleveland: data/processed.cleveland.data
      hungarian: data/processed.hungarian.data

Everywhere modelward takes ``--data``, it takes a ``.csv`` or ``.parquet`` file, a spec
(``heart.yml``: every part) or a spec with parts (``heart.yml#cleveland`` or
``heart.yml#hungarian,switzerland``). Nothing else in the tool knows what the data is.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modelward.data.csvfile import read_csv
from modelward.errors import ConfigError, DataError, first_line

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "DatasetSpec",
    "TargetSpec",
    "load_dataset",
    "load_spec",
    "parse_condition",
    "spec_target",
]

SPEC_SUFFIXES = (".yml", ".yaml")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


_OPS: dict[str, Callable[[Any, Any], Any]] = {
    ">=": operator.ge,
    "<=": operator.le,
    "==": operator.eq,
    "!=": operator.ne,
    ">": operator.gt,
    "<": operator.lt,
}


def parse_condition(text: str) -> tuple[str, Any]:
    """``"> 0"`` -> (">", 0); ``"in [a, b]"`` -> ("in", ["a", "b"])."""
    text = text.strip()
    if text.startswith("in "):
        values = yaml.safe_load(text[3:])
        if not isinstance(values, list):
            raise ValueError(f"'in' needs a list, e.g. in [1, 2]; got {text!r}")
        return "in", values
    for symbol in _OPS:  # two-character operators are listed first
        if text.startswith(symbol):
            return symbol, yaml.safe_load(text[len(symbol) :].strip())
    raise ValueError(f"{text!r} is not a condition; write e.g. '> 0', '== yes' or 'in [1, 2]'")


class TargetSpec(_Strict):
    """The label column, taken as is (``from`` only) or derived by a condition."""

    name: str = "target"
    source: str = Field(alias="from")
    positive: str | None = None

    @field_validator("positive")
    @classmethod
    def _condition(cls, value: str | None) -> str | None:
        if value is not None:
            parse_condition(value)
        return value


class DatasetSpec(_Strict):
    name: str | None = None
    format: Literal["csv", "parquet"] = "csv"
    header: bool = True
    columns: list[str] | None = None
    na_values: list[str] = []
    target: TargetSpec | None = None
    drop: list[str] = []
    part_column: str | None = None
    parts: dict[str, str] = Field(min_length=1)

    @field_validator("columns")
    @classmethod
    def _unique(cls, value: list[str] | None) -> list[str] | None:
        if value is not None and len(set(value)) != len(value):
            dupes = sorted({c for c in value if value.count(c) > 1})
            raise ValueError(f"column names must be unique; repeated: {', '.join(dupes)}")
        return value


def load_spec(path: Path) -> DatasetSpec:
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise DataError(f"dataset spec {path} does not exist; check the path") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"dataset spec {path} is not valid YAML: {exc}; fix the syntax") from exc
    if not isinstance(raw, dict):
        raise ConfigError(f"dataset spec {path} must be a mapping with parts:, columns:, ...")
    try:
        return DatasetSpec.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        key = ".".join(str(p) for p in first["loc"])
        if first["type"] == "extra_forbidden":
            raise ConfigError(
                f"dataset spec {path}: unknown key {key!r}; known keys are "
                f"{', '.join(sorted(DatasetSpec.model_fields))}"
            ) from exc
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"dataset spec {path}: {key}: {message}") from exc


def spec_target(ref: str) -> str | None:
    """The label column a dataset spec derives (``target: {name: …}``), when ``ref`` (what
    ``--data`` names) is an existing spec that derives one."""
    path = Path(ref.partition("#")[0])
    if path.suffix.lower() not in SPEC_SUFFIXES or not path.exists():
        return None
    spec = load_spec(path)
    return spec.target.name if spec.target is not None else None


def load_dataset(path: Path, parts: Sequence[str] | None = None) -> pd.DataFrame:
    """Every part (or the named ones) of the spec at ``path`` as one DataFrame."""
    import pandas as pd

    spec = load_spec(path)
    names = list(parts) if parts else list(spec.parts)
    unknown = [name for name in names if name not in spec.parts]
    if unknown:
        raise DataError(
            f"dataset spec {path} has no part {unknown[0]!r}; its parts are "
            f"{', '.join(spec.parts)}",
            field="data",
        )
    frames = []
    for name in names:
        frame = _read_part(spec, path.parent / spec.parts[name], name)
        if spec.part_column:  # always, so one part and several have the same columns
            frame.insert(0, spec.part_column, name)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True) if len(frames) > 1 else frames[0]


def _read_part(spec: DatasetSpec, file: Path, part: str) -> pd.DataFrame:
    import pandas as pd

    if not file.exists():
        raise DataError(f"part {part!r} of the dataset: {file} does not exist", field="data")
    try:
        if spec.format == "parquet":
            frame = pd.read_parquet(file)
        else:
            # pandas' C parser accepts \n and \r\n line endings alike.
            frame = read_csv(
                file,
                header=spec.header,
                names=spec.columns or None,
                na_values=spec.na_values or None,
                skipinitialspace=True,
            )
    except pd.errors.EmptyDataError as exc:
        raise DataError(f"part {part!r} of the dataset ({file}) is empty") from exc
    except (pd.errors.ParserError, UnicodeDecodeError, ValueError, OSError) as exc:
        first = first_line(exc)
        raise DataError(f"cannot read part {part!r} ({file}): {first}") from exc
    if frame.empty:
        raise DataError(f"part {part!r} of the dataset ({file}) has no rows")
    if spec.target is not None:
        frame = _derive_target(frame, spec.target, file)
    drop = [column for column in spec.drop if column in frame.columns]
    return frame.drop(columns=drop)


def _derive_target(frame: pd.DataFrame, target: TargetSpec, file: Path) -> pd.DataFrame:
    if target.source not in frame.columns:
        raise DataError(
            f"{file} has no column {target.source!r} to take the target from; its columns "
            f"are {', '.join(map(str, frame.columns))}",
            field="target",
        )
    source = frame[target.source]
    if target.positive is None:
        labels = source
    else:
        op, value = parse_condition(target.positive)
        known = source.notna()
        hit = source.isin(value) if op == "in" else _OPS[op](source, value)
        labels = hit.astype("int64") if known.all() else hit.astype("Int64").where(known)
    frame = frame.copy()
    frame[target.name] = labels
    return frame
