"""Models as the server runs them: loaded once, checked, and on the fastest safe path.

A scikit-learn pipeline over numeric inputs is converted to ONNX (skl2onnx) when loaded
and run by onnxruntime — about 6 µs per row instead of ~1.5 ms — but only after the
converted graph proved to give the same labels (and probabilities within 1e-4) as the
original on rows spanning the training ranges; otherwise the pipeline itself serves.
Proven conversions are cached in ``<workspace>/cache/onnx/<sha256>.onnx`` (+ ``.json``
with the classes and the ``.onnx`` file's own sha256), keyed by the artifact's checksum; a
later start serves from the cache without importing scikit-learn, after checking the
``.onnx`` against its recorded sha256 (a cached graph that does not match, or has no
recorded checksum, is deleted, named in the log, and rebuilt from the verified artifact —
never loaded); a conversion that failed its proof leaves a
``<sha256>.pipeline`` note (the reason) so it is not tried again. Deploying a version
proves its conversion (:func:`prepare_model`), so no server start pays for it. Delete the
folder to make the server prove them again.
"""

from __future__ import annotations

import hashlib
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from modelward.atomic import write_atomic
from modelward.predlog.layout import feature_type
from modelward.serving.validate import InputValidator

if TYPE_CHECKING:
    import numpy as np

    from modelward.workspace import Workspace

__all__ = ["LoadedModel", "Outputs", "load_model", "prepare_model"]

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
    cache = _onnx_cache(ws, info, validator) if convert else None
    if cache is not None:
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
    if cache is not None and not cache.with_suffix(".pipeline").exists():
        model = getattr(flavor, "model")  # noqa: B009
        loaded.session = _onnx_session(model, validator, cache, task, classes)
        if loaded.session is not None:
            loaded.path = "onnx"
    return loaded


def prepare_model(ws: Workspace, name: str, version: int) -> str:
    """Prove and cache the ONNX conversion of a version now (at deploy time), so that the
    next server start finds it ready. Returns the path the server will take: ``onnx``
    when a proven conversion is cached, else the version's flavor."""
    info = ws.registry.get_version(name, version)
    validator = InputValidator(info.input_schema, out_of_range=ws.policy.data.out_of_range)
    cache = _onnx_cache(ws, info, validator)
    if cache is None:
        return info.flavor
    if _cached_graph(cache) is not None:
        return "onnx"
    if cache.with_suffix(".pipeline").exists():
        return info.flavor
    return load_model(ws, name, version).path


def _onnx_cache(ws: Workspace, info: Any, validator: InputValidator) -> Path | None:
    """Where a version's proven conversion lives, or None when it cannot have one (not a
    scikit-learn artifact, a non-numeric input, no checksum)."""
    numeric = all(c.kind in ("integer", "float") for c in validator.columns)
    if info.flavor != "sklearn" or not numeric or not validator.columns or not info.sha256:
        return None
    return ws.layout.onnx_cache / f"{info.sha256}"


def _cached_graph(cache: Path) -> tuple[bytes, list[Any] | None] | None:
    """The cached graph and classes when the ``.onnx`` matches its recorded sha256; a
    cache that does not is deleted (so it is rebuilt) and named in the log."""
    meta, blob = cache.with_suffix(".json"), cache.with_suffix(".onnx")
    if not (meta.exists() and blob.exists()):
        return None
    try:
        recorded = orjson.loads(meta.read_bytes())
        data = blob.read_bytes()
        actual = hashlib.sha256(data).hexdigest()
        expected = recorded.get("sha256") if isinstance(recorded, dict) else None
        if actual == expected:
            return data, recorded["classes"]
        problem = f"its sha256 is {actual[:12]}…, expected {str(expected)[:12]}…"
    except Exception as exc:  # noqa: BLE001 - a damaged cache is rebuilt
        problem = f"{type(exc).__name__}: {exc}"
    _discard(cache, problem)
    return None


def _discard(cache: Path, problem: str) -> None:
    """Delete a cached conversion that must not be loaded, so that it is rebuilt."""
    log.warning(
        "discarding the ONNX cache %s (%s); rebuilding it", cache.with_suffix(".onnx"), problem
    )
    for suffix in (".json", ".onnx"):  # the .json first: without it the graph is unproven
        try:
            cache.with_suffix(suffix).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("could not delete %s: %s", cache.with_suffix(suffix), exc)


def _cached_session(cache: Path) -> tuple[Any, list[Any] | None] | None:
    found = _cached_graph(cache)
    if found is None:
        return None
    blob, classes = found
    try:
        return _session(blob), classes
    except Exception as exc:  # noqa: BLE001 - a graph onnxruntime refuses is rebuilt
        _discard(cache, f"{type(exc).__name__}: {exc}")
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
            _note_pipeline(cache, "the ONNX graph's outputs differ from the pipeline's")
            return None

        meta = orjson.dumps({"classes": classes, "sha256": hashlib.sha256(blob).hexdigest()})
        for suffix, data in ((".onnx", blob), (".json", meta)):
            _write_atomic(cache.with_suffix(suffix), data)  # the .json last: proven
        return session
    except Exception as exc:  # noqa: BLE001 - any conversion problem: serve the pipeline
        log.info("no ONNX path for this model (%s); serving the pipeline", exc)
        _note_pipeline(cache, str(exc))
        return None


def _note_pipeline(cache: Path, reason: str) -> None:
    """Remember that this artifact serves as a pipeline, so nobody converts it again."""
    try:
        _write_atomic(cache.with_suffix(".pipeline"), f"{reason}\n".encode())
    except OSError as exc:
        log.info("could not note %s: %s", cache.with_suffix(".pipeline"), exc)


def _write_atomic(target: Path, data: bytes) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    write_atomic(target, data)
