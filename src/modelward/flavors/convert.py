"""scikit-learn models to ONNX (skl2onnx), and feeding the graphs onnxruntime runs.

A model is converted with one graph input per column: a float tensor for a number, a
string tensor for text (so a ``ColumnTransformer`` that picks columns by name and encodes
string categories converts). A model that takes one matrix (a bare estimator, or a
pipeline with no ``ColumnTransformer`` over numbers only) is converted with a single float
input ``X`` when the per-column layout does not convert.

ONNX's string imputer marks a missing value with a string, not NaN: a ``SimpleImputer``
fitted on text is converted with ``""`` as its missing marker, and a missing text value
(``None``, NaN) is fed as ``""``. The fitted model itself is never changed (a copy is).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator, Mapping, Sequence
from typing import Any

__all__ = [
    "NUMERIC",
    "ConversionFailed",
    "column_kinds",
    "feeds_from_columns",
    "feeds_from_frame",
    "label_key",
    "to_onnx_bytes",
]

#: Schema kinds fed to a graph as numbers.
NUMERIC = ("integer", "float")
#: ONNX's missing marker for text (the converted string imputers look for it).
MISSING_TEXT = ""
TARGET_OPSET = 17

_FLOAT_TYPES = {"tensor(float)": "float32", "tensor(double)": "float64"}
_INT_TYPES = {"tensor(int64)": "int64", "tensor(int32)": "int32"}


class ConversionFailed(Exception):
    """skl2onnx cannot convert the model; ``estimator`` names the part it stopped at."""

    def __init__(self, estimator: str, cause: str) -> None:
        super().__init__(f"{estimator}: {cause}")
        self.estimator = estimator
        self.cause = cause


def column_kinds(frame: Any) -> list[tuple[str, str]]:
    """``(column, kind)`` of a DataFrame: ``float`` for numbers, ``boolean``, else ``string``."""
    import pandas as pd

    out = []
    for name in frame.columns:
        series = frame[name]
        if pd.api.types.is_bool_dtype(series):
            kind = "boolean"
        elif pd.api.types.is_numeric_dtype(series):
            kind = "float"
        else:
            kind = "string"
        out.append((str(name), kind))
    return out


def _parts(model: Any) -> Iterator[Any]:
    """The model and every estimator inside it (pipelines, column transformers, unions)."""
    stack = [model]
    while stack:
        item = stack.pop()
        if item is None or isinstance(item, str):
            continue
        yield item
        for _, step in getattr(item, "steps", None) or []:
            stack.append(step)
        for entry in getattr(item, "transformers_", None) or []:
            stack.append(entry[1])
        for entry in getattr(item, "transformer_list", None) or []:
            stack.append(entry[1])
        for attr in ("estimator_", "base_estimator_", "final_estimator_"):
            stack.append(getattr(item, attr, None))


def _adapted(model: Any) -> Any:
    """A copy of ``model`` whose text imputers look for ONNX's missing marker ``""``."""
    from sklearn.impute import SimpleImputer

    model = copy.deepcopy(model)
    for part in _parts(model):
        stats = getattr(part, "statistics_", None)
        if isinstance(part, SimpleImputer) and stats is not None and stats.dtype.kind in "OUS":
            if not isinstance(part.missing_values, str):
                part.missing_values = MISSING_TEXT
    return model


def _unconvertible(model: Any) -> str | None:
    """The first estimator in ``model`` that skl2onnx has no converter for, by class name."""
    from skl2onnx._supported_operators import sklearn_operator_name_map

    for part in _parts(model):
        if type(part) not in sklearn_operator_name_map:
            return type(part).__name__
    return None


def _final(model: Any) -> Any:
    steps = getattr(model, "steps", None)
    return _final(steps[-1][1]) if steps else model


def to_onnx_bytes(model: Any, columns: Sequence[tuple[str, str]]) -> bytes:
    """The ONNX graph of a fitted model taking ``columns`` (``(name, kind)``, in order).

    Classifiers output labels and a probability matrix in ``classes_`` order (no ZipMap);
    regressors output one value per row. Raises :class:`ConversionFailed` naming the
    estimator skl2onnx stopped at.
    """
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    adapted = _adapted(model)
    final = _final(adapted)
    options = {id(final): {"zipmap": False}} if hasattr(final, "predict_proba") else None
    per_column = [
        (name, FloatTensorType([None, 1]) if kind in NUMERIC else StringTensorType([None, 1]))
        for name, kind in columns
    ]
    layouts = [per_column]
    if columns and all(kind in NUMERIC for _, kind in columns):
        layouts.append([("X", FloatTensorType([None, len(columns)]))])
    if any(kind not in NUMERIC + ("string",) for _, kind in columns):
        bad = next(name for name, kind in columns if kind not in NUMERIC + ("string",))
        raise ConversionFailed(type(model).__name__, f"input {bad!r} is neither text nor a number")
    problem: Exception | None = None
    for types in layouts:
        try:
            onx = convert_sklearn(  # a fixed graph name: the same model, the same bytes
                adapted,
                initial_types=types,
                options=options,
                target_opset=TARGET_OPSET,
                name=type(model).__name__,
            )
        except Exception as exc:  # noqa: BLE001 - skl2onnx raises many types for one cause
            problem = exc
            continue
        return bytes(onx.SerializeToString())
    text = str(problem).strip().splitlines() if problem is not None else []
    cause = f"{type(problem).__name__}: {text[0][:200]}" if text else type(problem).__name__
    raise ConversionFailed(_unconvertible(adapted) or type(model).__name__, cause)


def label_key(value: Any) -> str:
    """A label as text, whole floats as integers: ``1.0``, ``1`` and ``"1"`` are one label."""
    value = value.item() if hasattr(value, "item") else value
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and value != value)


def _column(spec: Any, values: Sequence[Any]) -> Any:
    """One graph input's tensor (n, 1) from the column's values (``None`` = missing)."""
    import numpy as np

    if spec.type == "tensor(string)":
        text = [MISSING_TEXT if _missing(v) else str(v) for v in values]
        return np.array(text, dtype=object).reshape(-1, 1)
    if spec.type in _INT_TYPES:
        return np.array(values, dtype=_INT_TYPES[spec.type]).reshape(-1, 1)
    dtype = _FLOAT_TYPES.get(spec.type, "float32")
    try:
        return np.array(values, dtype=dtype).reshape(-1, 1)  # None becomes NaN
    except (TypeError, ValueError):
        floats = [np.nan if _missing(v) else v for v in values]
        return np.array(floats, dtype=dtype).reshape(-1, 1)


def feeds_from_columns(
    inputs: Sequence[Any], columns: Mapping[str, Sequence[Any]]
) -> dict[str, Any]:
    """The feeds of a graph with ``inputs`` (onnxruntime's NodeArgs) from column values.

    A graph with one input that is not a column takes every column, in order, as one
    float matrix (the single-input layout); otherwise each input is fed its column."""
    import numpy as np

    if len(inputs) == 1 and inputs[0].name not in columns:
        spec = inputs[0]
        matrix = [[np.nan if _missing(v) else v for v in values] for values in columns.values()]
        dtype = _FLOAT_TYPES.get(spec.type, "float32")
        return {spec.name: np.array(matrix, dtype=dtype).T.reshape(-1, len(columns))}
    feeds = {}
    for spec in inputs:
        if spec.name not in columns:
            from modelward.errors import ArtifactError

            raise ArtifactError(f"the ONNX model needs input column {spec.name!r}")
        feeds[spec.name] = _column(spec, columns[spec.name])
    return feeds


def feeds_from_frame(inputs: Sequence[Any], frame: Any) -> dict[str, Any]:
    """:func:`feeds_from_columns` for a DataFrame (or a 2-D array for one-input graphs)."""
    import numpy as np

    if not hasattr(frame, "columns"):
        spec = inputs[0]
        array = np.asarray(frame, dtype=_FLOAT_TYPES.get(spec.type, "float32"))
        return {spec.name: array}
    columns = {
        str(name): frame[name].astype(object).where(frame[name].notna(), None).tolist()
        for name in frame.columns
    }
    return feeds_from_columns(inputs, columns)
