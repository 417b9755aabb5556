"""``optimize``: convert a scikit-learn version to ONNX, check it still predicts the same
(agreement, metric loss on validation data), measure per-row and batch latency before and
after, and register the ONNX model as a new version only when the loss is within bounds."""

from __future__ import annotations

import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.data.io import read_source
from modelward.data.profile import _key
from modelward.errors import ArtifactError, ConfigError
from modelward.evaluation.metrics import BinaryData, point_metrics
from modelward.evaluation.scoring import score_version, target_for
from modelward.flavors import OnnxFlavor

if TYPE_CHECKING:
    import pandas as pd

    from modelward.workspace import Workspace

__all__ = ["TARGETS", "convert_to_onnx", "latency_ms", "optimize_version"]

TARGETS = ("latency",)


def convert_to_onnx(model: Any, sample: pd.DataFrame) -> bytes:
    """skl2onnx conversion with one graph input per column (float, or string for text)."""
    import pandas as pd
    from skl2onnx import convert_sklearn
    from skl2onnx.common.data_types import FloatTensorType, StringTensorType

    types = [
        (
            str(c),
            FloatTensorType([None, 1])
            if pd.api.types.is_numeric_dtype(sample[c])
            else StringTensorType([None, 1]),
        )
        for c in sample.columns
    ]
    estimator = model.steps[-1][1] if hasattr(model, "steps") else model
    try:
        onx = convert_sklearn(
            model, initial_types=types, options={id(estimator): {"zipmap": False}}
        )
    except Exception as exc:  # noqa: BLE001 - skl2onnx raises many types for unsupported models
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ArtifactError(
            f"skl2onnx cannot convert this model ({type(exc).__name__}: {first[:200]}); "
            "it stays in scikit-learn"
        ) from exc
    return bytes(onx.SerializeToString())


def latency_ms(
    predict: Any, frame: pd.DataFrame, *, rows: int = 200, repeats: int = 5
) -> dict[str, float]:
    """Median per-row latency (one row at a time) and median whole-batch latency, in ms."""
    import numpy as np

    singles = []
    for i in range(min(rows, len(frame))):
        row = frame.iloc[i : i + 1]
        start = time.perf_counter()
        predict(row)
        singles.append((time.perf_counter() - start) * 1000)
    batches = []
    for _ in range(repeats):
        start = time.perf_counter()
        predict(frame)
        batches.append((time.perf_counter() - start) * 1000)
    return {
        "per_row_ms": float(np.median(singles)),
        "per_row_p95_ms": float(np.percentile(singles, 95)),
        "batch_ms": float(np.median(batches)),
        "batch_rows": int(len(frame)),
    }


def optimize_version(
    ws: Workspace,
    name: str,
    version: int | str,
    data: pd.DataFrame | Path | str,
    *,
    data_ref: str | None = None,
    target: str | None = None,
    goal: str = "latency",
    max_loss: float = 0.01,
) -> dict[str, Any]:
    """Convert to ONNX and register the result when the metric loss on labelled ``data`` (a
    DataFrame, or a file or dataset spec to read) is within ``max_loss``; stored as an
    ``optimization`` run."""
    import numpy as np

    if goal not in TARGETS:
        raise ConfigError(
            f"--target {goal!r}: optimize supports {', '.join(TARGETS)}", field="target"
        )
    if not 0 <= max_loss <= 1:
        raise ConfigError(
            f"--max-loss {max_loss}: give a fraction between 0 and 1", field="max_loss"
        )
    frame, data_ref = read_source(data, data_ref)
    scored = score_version(ws, name, version, frame, target=target)
    info = scored.version
    if info.flavor != "sklearn":
        raise ConfigError(
            f"{info.ref} is already {info.flavor}; optimize converts scikit-learn models"
        )
    features = scored.features
    blob = convert_to_onnx(scored.model.model, features)  # type: ignore[attr-defined]
    onnx_model = OnnxFlavor.load(blob)
    labels, proba = onnx_model.predict_both(features)

    positive = _key(scored.positive)
    import pandas as pd

    predicted = pd.Series(np.asarray(labels))
    y_pred = predicted.map({v: _key(v) == positive for v in predicted.unique()}).to_numpy("int64")
    score = None if proba is None else np.asarray(proba)[:, 1]
    after = BinaryData.of(scored.data.y_true, y_pred, score)
    m_before, m_after = point_metrics(scored.data), point_metrics(after)
    losses = {m: m_before[m] - m_after[m] for m in ("accuracy", "roc_auc", "f1") if m in m_after}
    agreement = float((after.y_pred == scored.data.y_pred).mean())
    max_proba_diff = (
        float(np.max(np.abs(score - scored.data.y_score)))
        if score is not None and scored.data.y_score is not None
        else None
    )
    sk_latency = latency_ms(scored.model.predict, features)
    onnx_latency = latency_ms(onnx_model.predict, features)
    worst = max(losses.values())
    passed = worst <= max_loss
    results: dict[str, Any] = {
        "model": name,
        "version": info.version,
        "data": data_ref,
        "rows": scored.data.n,
        "agreement": agreement,
        "max_probability_difference": max_proba_diff,
        "metrics_before": m_before,
        "metrics_after": m_after,
        "metric_loss": losses,
        "max_loss": max_loss,
        "latency_before": sk_latency,
        "latency_after": onnx_latency,
        "speedup_per_row": sk_latency["per_row_ms"] / onnx_latency["per_row_ms"],
        "speedup_batch": sk_latency["batch_ms"] / onnx_latency["batch_ms"],
        "bytes_before": info.size,
        "bytes_after": len(blob),
        "passed": passed,
    }
    if passed:
        profile = ws.registry.reference_profile(name, info.version)
        column = target_for(ws, info, target)
        new = ws.register(
            name,
            blob,
            data=features.assign(**{str(column): scored.frame[column].to_numpy()}),
            target=str(column),
            params={**info.params, "optimized_from": info.version, "optimization": goal},
            metrics={
                **info.metrics,
                "optimization": {
                    "agreement": agreement,
                    "metric_loss": losses,
                    "per_row_ms": onnx_latency["per_row_ms"],
                    "batch_ms": onnx_latency["batch_ms"],
                },
            },
            tags={**info.tags, "optimized_from": str(info.version), "flavor": "onnx"},
            description=f"ONNX conversion of {info.ref} for {goal}",
            source={**info.source, "optimized_from": info.ref},
            reference_profile=profile,
        )
        results["registered"] = new.version
    ws.registry.record(
        "optimization",
        results,
        model=name,
        version=info.version,
        inputs={"data": data_ref, "target": goal, "max_loss": max_loss},
        verdict="pass" if passed else "fail",
    )
    return results
