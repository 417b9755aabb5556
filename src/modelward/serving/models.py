"""Models as the server runs them: loaded once, checked, and on the fastest safe path.

A scikit-learn pipeline over numeric and text inputs is converted to ONNX (skl2onnx, one
graph input per column: :mod:`modelward.flavors.convert`) when loaded and run by
onnxruntime — about 6 µs per row instead of ~1.5 ms — but only after the converted graph
proved to give the same outputs as the original on probe rows spanning the training
ranges and categories, with missing values where an input may be null: the same labels
and probabilities within 1e-4 (classifiers), values within 1e-4 of the largest
(regressors). Otherwise the pipeline itself serves, and the log says why.
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
from itertools import repeat
from pathlib import Path
from typing import TYPE_CHECKING, Any

import orjson

from modelward.atomic import write_atomic
from modelward.flavors.convert import (
    NUMERIC,
    ConversionFailed,
    feeds_from_columns,
    label_key,
    to_onnx_bytes,
)
from modelward.predlog.layout import feature_type
from modelward.serving.validate import InputValidator

if TYPE_CHECKING:
    import numpy as np

    from modelward.workspace import Workspace

__all__ = ["LoadedModel", "Outputs", "load_model", "prepare_model", "serving_path"]

log = logging.getLogger("modelward.serving")

_TOLERANCE = 1e-4


@dataclass
class Outputs:
    """Per-row outputs in request order."""

    labels: list[Any]
    proba: list[dict[str, float]] | None
    scores: list[float | None]
    regression: bool = False
    #: the probabilities as a float64 array (rows x classes, in the order of ``keys``)
    matrix: np.ndarray | None = None
    keys: list[str] | None = None

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
    path_reason: str | None = None  # why not the ONNX path, when it is not
    _inputs: Any = None  # the session's graph inputs, read once
    positive: str | None = None  # a binary model's declared positive class (its score)
    batcher: Any = None  # the pipeline path's MicroBatcher, made by the first request

    def predict(self, rows: list[list[Any]]) -> Outputs:
        """Rows are value lists in schema order (as :meth:`InputValidator.check` returns)."""
        return self.predict_columns(columns_of(self.validator.names, rows))

    def predict_columns(self, columns: dict[str, list[Any]]) -> Outputs:
        """Each input's values by name (as :meth:`InputValidator.check_rows` returns)."""
        import numpy as np

        if self.session is not None:
            if self._inputs is None:
                self._inputs = self.session.get_inputs()
            outputs = self.session.run(None, feeds_from_columns(self._inputs, columns))
            labels = outputs[0].ravel().tolist()
            proba = np.asarray(outputs[1], dtype=np.float64) if len(outputs) > 1 else None
            if self.classes is not None:  # the pipeline's own label values (1, not "1")
                known = {label_key(c): c for c in self.classes}
                own = {v: known.get(label_key(v), v) for v in set(labels)}
                labels = list(map(own.__getitem__, labels))
        else:
            frame = columns_frame(self.validator, columns)
            if hasattr(self.flavor, "predict_both"):
                label_arr, proba = self.flavor.predict_both(frame)
            else:
                label_arr = self.flavor.predict(frame)
                proba = None if self.task == "regression" else self.flavor.predict_proba(frame)
            labels = np.asarray(label_arr).ravel().tolist()
        return _outputs(labels, proba, self.classes, self.task, self.positive)

    def frame(self, rows: list[list[Any]]) -> Any:
        """The rows as the DataFrame a pipeline was fitted on: numbers as float64, a
        missing value as NaN (what a CSV read gives, and what imputers look for)."""
        return rows_frame(self.validator, rows)


def rows_frame(validator: InputValidator, rows: list[list[Any]]) -> Any:
    """Validated rows (value lists in schema order) as a DataFrame for a pipeline."""
    return columns_frame(validator, columns_of(validator.names, rows))


def columns_of(names: list[str], rows: list[list[Any]]) -> dict[str, list[Any]]:
    """Rows (value lists in the order of ``names``) as columns by name."""
    return {name: [row[j] for row in rows] for j, name in enumerate(names)}


def columns_frame(validator: InputValidator, columns: dict[str, list[Any]]) -> Any:
    """Validated columns as a DataFrame for a pipeline: numbers as float64, a missing
    value as NaN (what a CSV read gives, and what imputers look for)."""
    import numpy as np
    import pandas as pd

    data: dict[str, Any] = {}
    for col in validator.columns:
        values = columns[col.name]
        if col.kind in NUMERIC:
            data[col.name] = np.array(values, dtype="float64")  # None becomes NaN
        elif col.kind == "string":
            data[col.name] = pd.Series([np.nan if v is None else v for v in values], dtype=object)
        else:
            data[col.name] = pd.Series(values)  # booleans: bool, or object with a None
    return pd.DataFrame(data, columns=validator.names)


def _outputs(
    labels: list[Any],
    proba: np.ndarray | None,
    classes: list[Any] | None,
    task: str,
    positive: str | None = None,
) -> Outputs:
    """Per-row outputs by task: a regression's value (no probabilities, no score); a
    classifier's label with the probability of every class, and as ``score`` the
    probability of the positive class (binary: the declared one, else the second) or of
    the predicted class (multiclass)."""
    import numpy as np

    if task == "regression":
        return Outputs([float(v) for v in labels], None, [None] * len(labels), regression=True)
    if proba is None or classes is None:
        return Outputs(labels, None, [None] * len(labels))
    keys = [str(c) for c in classes]
    matrix = np.asarray(proba, dtype="float64")
    table = matrix.tolist()
    dicts = list(map(dict, map(zip, repeat(keys), table)))  # per row, in C
    if len(keys) == 2:
        at = keys.index(positive) if positive in keys else 1
        scores: list[float | None] = matrix[:, at].tolist()
    else:
        scores = matrix.max(axis=1).tolist() if len(table) else []
    return Outputs(labels, dicts, scores, matrix=matrix, keys=keys)


def load_model(ws: Workspace, name: str, version: int, *, convert: bool = True) -> LoadedModel:
    """A version ready to serve. A cached, proven ONNX conversion is used without loading
    scikit-learn at all (fast start, small memory); otherwise the artifact is loaded
    (checksum verified) and, when possible, converted and proven equal first."""
    info = ws.registry.get_version(name, version)
    task = ws.registry.get_model(name).task
    policy = ws.policy_for(name)
    validator = InputValidator(info.input_schema, out_of_range=policy.data.out_of_range)
    declared = info.tags.get("positive_class", policy.positive_class)
    positive = None if declared is None else str(declared)
    types = {f"in_{c.name}": feature_type(c.kind) for c in validator.columns}
    why_not = _no_onnx(info, validator) if convert else "ONNX conversion turned off"
    cache = None if why_not else ws.layout.onnx_cache / f"{info.sha256}"
    if cache is not None:
        cached = _cached_session(cache)
        if cached is not None:
            session, classes = cached
            return LoadedModel(
                name, info.version, task, None, validator, classes, session, types, "onnx",
                positive=positive,
            )  # fmt: skip
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
        path_reason=why_not,
        positive=positive,
    )
    if cache is not None and not cache.with_suffix(".pipeline").exists():
        model = getattr(flavor, "model")  # noqa: B009
        ref = f"{name}:{info.version}"
        loaded.session = _onnx_session(model, validator, cache, task, classes, ref)
        if loaded.session is not None:
            loaded.path = "onnx"
    if cache is not None and loaded.session is None:
        loaded.path_reason = _pipeline_note(cache) or "the ONNX conversion failed"
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


def serving_path(ws: Workspace, name: str, version: int) -> tuple[str, str | None]:
    """The path a server takes for a version, read from the ONNX cache without converting
    anything: ``("onnx", None)`` when a proven conversion is cached; else the version's
    flavor (``sklearn``) and why — the reason its conversion failed, or why it cannot have
    one; ``("unproven", …)`` when no deploy or server start has tried it yet."""
    info = ws.registry.get_version(name, version)
    validator = InputValidator(info.input_schema)
    why_not = _no_onnx(info, validator)
    if why_not:
        return info.flavor, why_not
    cache = ws.layout.onnx_cache / f"{info.sha256}"
    if cache.with_suffix(".json").exists() and cache.with_suffix(".onnx").exists():
        return "onnx", None
    note = _pipeline_note(cache)
    if note is not None:
        return info.flavor, note
    return "unproven", "not converted yet: the next deploy or server start proves the conversion"


def _pipeline_note(cache: Path) -> str | None:
    """The reason noted when a conversion failed its proof, or None."""
    try:
        return cache.with_suffix(".pipeline").read_text(encoding="utf-8").strip() or "no reason"
    except FileNotFoundError:
        return None
    except OSError as exc:
        return f"the conversion failed (its note is unreadable: {exc})"


def _no_onnx(info: Any, validator: InputValidator) -> str | None:
    """Why a version cannot have an ONNX conversion, or None when it can be tried."""
    if info.flavor != "sklearn":
        return f"a {info.flavor} artifact; only scikit-learn pipelines convert to ONNX"
    if not validator.columns:
        return "no input schema recorded"
    odd = [c.name for c in validator.columns if c.kind not in (*NUMERIC, "string")]
    if odd:
        return f"input {odd[0]!r} is neither a number nor text"
    if not info.sha256:
        return "no artifact checksum recorded (the conversion cache is keyed by it)"
    return None


def _onnx_cache(ws: Workspace, info: Any, validator: InputValidator) -> Path | None:
    """Where a version's proven conversion lives, or None when it cannot have one (not a
    scikit-learn artifact, an input neither a number nor text, no checksum)."""
    if _no_onnx(info, validator):
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


def _probe_columns(validator: InputValidator, n: int = 64) -> dict[str, list[Any]]:
    """Probe values per input: numbers across the training range, categories seen in
    training, and missing values where the input may be null."""
    import numpy as np

    rng = np.random.default_rng(0)
    columns: dict[str, list[Any]] = {}
    for col in validator.columns:
        values: list[Any]
        if col.kind in NUMERIC:
            low = float(col.low if col.low is not None else 0.0)
            high = float(col.high if col.high is not None else 1.0)
            drawn = rng.uniform(low, high, n)
            # whole numbers where training had only whole numbers (codes such as 1..4):
            # what requests send, and what a one-hot encoder's categories are
            whole = col.kind == "integer" or col.integral
            values = (np.round(drawn) if whole else drawn).tolist()
        else:
            seen = sorted(col.categories or ["x"], key=str)
            values = [seen[i] for i in rng.integers(0, len(seen), n)]
        if col.nullable:
            values = [None if rng.random() < 0.1 else v for v in values]
        columns[col.name] = values
    return columns


def _same(task: str, model: Any, frame: Any, outputs: list[Any]) -> str | None:
    """Why the graph's outputs differ from the pipeline's on ``frame``, or None."""
    import numpy as np

    expected = np.asarray(model.predict(frame)).ravel()
    got = outputs[0].ravel()
    if task == "regression":
        expected = expected.astype("float64")
        scale = max(1.0, float(np.abs(expected).max(initial=0.0)))
        gap = float(np.abs(got.astype("float64") - expected).max(initial=0.0))
        return None if gap <= _TOLERANCE * scale else f"values differ by up to {gap:.3g}"
    wrong = sum(label_key(a) != label_key(b) for a, b in zip(got, expected, strict=True))
    if wrong:
        return f"{wrong} of {len(expected)} labels differ"
    if len(outputs) > 1 and hasattr(model, "predict_proba"):
        proba = np.asarray(outputs[1], dtype=np.float64)
        gap = float(np.abs(proba - model.predict_proba(frame)).max(initial=0.0))
        if gap > _TOLERANCE:
            return f"probabilities differ by up to {gap:.3g}"
    return None


def _onnx_session(
    model: Any,
    validator: InputValidator,
    cache: Path,
    task: str,
    classes: list[Any] | None,
    ref: str = "",
) -> Any:
    """An onnxruntime session equal to ``model`` on probe rows (then cached), or None (the
    reason logged, and noted so that the conversion is not tried again)."""
    try:
        blob = to_onnx_bytes(model, [(c.name, c.kind) for c in validator.columns])
        session = _session(blob)
        probe = _probe_columns(validator)
        rows = [list(row) for row in zip(*probe.values(), strict=True)]
        outputs = session.run(None, feeds_from_columns(session.get_inputs(), probe))
        differs = _same(task, model, rows_frame(validator, rows), outputs)
        if differs is not None:
            log.warning(
                "%s: the ONNX conversion differs from the pipeline on probe rows (%s); "
                "serving the pipeline",
                ref,
                differs,
            )
            _note_pipeline(cache, f"the ONNX graph's outputs differ from the pipeline's: {differs}")
            return None
        meta = orjson.dumps({"classes": classes, "sha256": hashlib.sha256(blob).hexdigest()})
        for suffix, data in ((".onnx", blob), (".json", meta)):
            _write_atomic(cache.with_suffix(suffix), data)  # the .json last: proven
        return session
    except ConversionFailed as exc:
        log.info(
            "%s: no ONNX path (%s cannot be converted: %s); serving the pipeline",
            ref,
            exc.estimator,
            exc.cause,
        )
        _note_pipeline(cache, str(exc))
        return None
    except Exception as exc:  # noqa: BLE001 - any conversion problem: serve the pipeline
        log.warning("%s: no ONNX path (%s: %s); serving the pipeline", ref, type(exc).__name__, exc)
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
