"""Models as the server runs them: loaded once, checked, and on the fastest safe path.

A scikit-learn pipeline over numeric inputs is converted to ONNX (skl2onnx) when loaded
and run by onnxruntime — about 6 µs per row instead of ~1.5 ms — but only after the
converted graph proved to give the same labels (and probabilities within 1e-4) as the
original on rows spanning the training ranges; otherwise the pipeline itself serves.
Proven conversions are cached in ``<workspace>/cache/onnx/<sha256>.onnx`` (+ ``.json``
with the classes), keyed by the artifact's checksum; a later start serves from the cache
without importing scikit-learn. Delete the folder to make the server prove them again.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from modelward.predlog.layout import feature_type
from modelward.serving.validate import InputValidator

if TYPE_CHECKING:
    import numpy as np

    from modelward.workspace import Workspace

__all__ = ["LoadedModel", "Outputs", "load_model"]

log = logging.getLogger("modelward.serving")

_TOLERANCE = 1e-4


@dataclass
class Outputs:
    """Per-row outputs in request order."""

    labels: list[Any]
    proba: list[dict[str, float]] | None
    scores: list[float | None]

    def proba_json(self, i: int) -> str | None:
        return None if self.proba is None else orjson.dumps(self.proba[i]).decode()


@dataclass
class LoadedModel:
    name: str
    version: int
    task: str
    flavor: Any
    validator: InputValidator
    classes: list[Any] | None
    session: Any = None  # onnxruntime session of the converted pipeline, when proven equal
    types: dict[str, str] = field(default_factory=dict)
    path: str = "sklearn"

    def predict(self, rows: list[list[Any]]) -> Outputs:
        """Rows are value lists in schema order (as the validator returns them)."""
        import numpy as np

        if self.session is not None:
            matrix = np.array(
                [[np.nan if v is None else v for v in row] for row in rows], dtype=np.float32
            )
            label_out, proba_out = self.session.run(None, {"X": matrix})
            labels = label_out.ravel().tolist()
            proba = np.asarray(proba_out, dtype=np.float64) if proba_out is not None else None
        else:
            import pandas as pd

            frame = pd.DataFrame(rows, columns=self.validator.names)
            for col in self.validator.columns:
                if col.kind in ("integer", "float"):
                    frame[col.name] = frame[col.name].astype("float64")
            if hasattr(self.flavor, "predict_both"):
                label_arr, proba = self.flavor.predict_both(frame)
            else:
                label_arr = self.flavor.predict(frame)
                proba = self.flavor.predict_proba(frame)
            labels = np.asarray(label_arr).ravel().tolist()
        return _outputs(labels, proba, self.classes, self.task)


def _outputs(labels: list[Any], proba: np.ndarray | None, classes: list[Any] | None, task: str):
    if proba is None or classes is None or task == "regression":
        return Outputs(labels, None, [None] * len(labels))
    keys = [str(c) for c in classes]
    table = proba.tolist()
    dicts = [dict(zip(keys, row, strict=False)) for row in table]
    if len(keys) == 2:
        scores: list[float | None] = [row[1] for row in table]
    else:
        scores = [max(row) for row in table]
    return Outputs(labels, dicts, scores)


def load_model(ws: Workspace, name: str, version: int, *, convert: bool = True) -> LoadedModel:
    """A version ready to serve. A cached, proven ONNX conversion is used without loading
    scikit-learn at all (fast start, small memory); otherwise the artifact is loaded
    (checksum verified) and, when possible, converted and proven equal first."""
    info = ws.registry.get_version(name, version)
    task = ws.registry.get_model(name).task
    validator = InputValidator(info.input_schema, out_of_range=ws.policy.data.out_of_range)
    types = {f"in_{c.name}": feature_type(c.kind) for c in validator.columns}
    numeric = all(c.kind in ("integer", "float") for c in validator.columns)
    eligible = convert and info.flavor == "sklearn" and numeric and validator.columns
    cache = Path(ws.root) / "cache" / "onnx" / f"{info.sha256}"
    if eligible and info.sha256:
        cached = _cached_session(cache)
        if cached is not None:
            session, classes = cached
            return LoadedModel(
                name, info.version, task, None, validator, classes, session, types, "onnx"
            )
    flavor = ws.registry.load_model(name, version)
    classes = getattr(flavor, "classes", None)
    loaded = LoadedModel(
        name=name,
        version=info.version,
        task=task,
        flavor=flavor,
        validator=validator,
        classes=classes,
        types=types,
        path=info.flavor,
    )
    if eligible and info.sha256:
        model = getattr(flavor, "model")  # noqa: B009
        loaded.session = _onnx_session(model, validator, cache, task, classes)
        if loaded.session is not None:
            loaded.path = "onnx"
    return loaded


def _cached_session(cache: Path) -> tuple[Any, list[Any] | None] | None:
    meta, blob = cache.with_suffix(".json"), cache.with_suffix(".onnx")
    if not (meta.exists() and blob.exists()):
        return None
    try:
        classes = orjson.loads(meta.read_bytes())["classes"]
        return _session(blob.read_bytes()), classes
    except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt
        log.warning("ignoring the damaged ONNX cache %s: %s", blob, exc)
        return None


def _session(blob: bytes) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    return ort.InferenceSession(blob, options, providers=["CPUExecutionProvider"])


def _probe_rows(validator: InputValidator, n: int = 64) -> np.ndarray:
    import numpy as np

    rng = np.random.default_rng(0)
    columns = []
    for col in validator.columns:
        low = float(col.low if col.low is not None else 0.0)
        high = float(col.high if col.high is not None else 1.0)
        values = rng.uniform(low, high, n)
        if col.kind == "integer":
            values = np.round(values)
        if col.nullable:
            values[rng.random(n) < 0.1] = np.nan
        columns.append(values)
    return np.column_stack(columns).astype(np.float32)


def _onnx_session(
    model: Any, validator: InputValidator, cache: Path, task: str, classes: list[Any] | None
) -> Any:
    """An onnxruntime session equal to ``model`` on probe rows (then cached), or None."""
    import numpy as np
    import pandas as pd

    try:
        from skl2onnx import to_onnx
        from skl2onnx.common.data_types import FloatTensorType

        width = len(validator.columns)
        options = {"zipmap": False} if task != "regression" else None
        onx = to_onnx(
            model,
            initial_types=[("X", FloatTensorType([None, width]))],
            options=options,
            target_opset=17,
        )
        blob = onx.SerializeToString()
        session = _session(blob)
        probe = _probe_rows(validator)
        frame = pd.DataFrame(probe.astype(np.float64), columns=validator.names)
        outputs = session.run(None, {"X": probe})
        expected = np.asarray(model.predict(frame)).ravel()
        if task == "regression":
            same = np.allclose(outputs[0].ravel(), expected, rtol=1e-4, atol=1e-4)
        else:
            same = bool((outputs[0].ravel() == expected).all())
            if same and len(outputs) > 1 and hasattr(model, "predict_proba"):
                gap = np.abs(np.asarray(outputs[1], dtype=np.float64) - model.predict_proba(frame))
                same = float(gap.max()) <= _TOLERANCE
        if not same:
            log.warning("ONNX conversion differs from the pipeline; serving the pipeline")
            return None
        cache.parent.mkdir(parents=True, exist_ok=True)
        for suffix, data in ((".onnx", blob), (".json", orjson.dumps({"classes": classes}))):
            target = cache.with_suffix(suffix)
            tmp = target.with_name(f".{target.name}.tmp")
            tmp.write_bytes(data)
            tmp.replace(target)  # the .json last: both present means proven
        return session
    except Exception as exc:  # noqa: BLE001 - any conversion problem: serve the pipeline
        log.info("no ONNX path for this model (%s); serving the pipeline", exc)
        return None
