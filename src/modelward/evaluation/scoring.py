"""Scoring a registered version on a labelled table: features, labels, predictions, scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.data import split_target
from modelward.data.profile import _key
from modelward.errors import DataError
from modelward.evaluation.metrics import BinaryData

if TYPE_CHECKING:
    import pandas as pd

    from modelward.flavors.base import Flavor
    from modelward.registry.records import VersionInfo
    from modelward.workspace import Workspace

__all__ = ["Scored", "features_for", "score_version", "target_for"]


@dataclass
class Scored:
    """A version's predictions on rows with a label."""

    version: VersionInfo
    model: Flavor
    frame: pd.DataFrame  # the rows scored (features and every other column)
    features: pd.DataFrame
    data: BinaryData
    positive: Any
    dropped_unlabelled: int


def target_for(ws: Workspace, version: VersionInfo, target: str | None) -> str:
    """``--target``, else the label column the version was trained with, else ``target``."""
    if target:
        return target
    profile = ws.registry.reference_profile(version.model, version.version) or {}
    return str(profile.get("target") or version.tags.get("target") or "target")


def features_for(model: Flavor, version: VersionInfo, frame: pd.DataFrame) -> pd.DataFrame:
    names = model.input_names or version.feature_names
    missing = [name for name in names if name not in frame.columns]
    if missing:
        raise DataError(
            f"the data lacks {version.ref}'s input column(s) {', '.join(missing)}; "
            f"pass data with the columns {', '.join(names)}",
            field="data",
        )
    return frame[names] if names else frame


def _as_binary(labels: pd.Series, classes: list[Any] | None, ref: str) -> tuple[Any, Any]:
    """Labels as 0/1 with the model's second class as positive."""
    import numpy as np

    if classes is None:
        classes = sorted(labels.dropna().unique().tolist())
    if len(classes) != 2:
        raise DataError(
            f"{ref} has {len(classes)} classes; evaluation here covers binary classifiers",
            field="data",
        )

    positive = classes[1]
    known = {_key(c) for c in classes}
    uniques = labels.unique()
    unknown = sorted({_key(v) for v in uniques} - known)
    if unknown:
        raise DataError(
            f"the target holds label(s) {', '.join(unknown[:5])} that {ref} does not know "
            f"(its classes are {', '.join(map(str, classes))}); check --target",
            field="target",
        )
    hit = labels.map({v: _key(v) == _key(positive) for v in uniques})
    return np.asarray(hit, dtype="int64"), positive


def score_version(
    ws: Workspace, name: str, version: int | str, frame: pd.DataFrame, *, target: str | None
) -> Scored:
    info = ws.registry.get_version(name, version)
    model = ws.load_model(name, info.version)
    column = target_for(ws, info, target)
    split_target(frame, column, source="the evaluation data")
    labelled = frame[frame[column].notna()].reset_index(drop=True)
    dropped = len(frame) - len(labelled)
    if labelled.empty:
        raise DataError(f"the target column {column!r} has no labels; pass labelled data")
    features = features_for(model, info, labelled)
    classes = getattr(model, "classes", None)
    y, positive = _as_binary(labelled[column], classes, info.ref)
    try:
        predicted = model.predict(features)
        proba = model.predict_proba(features)
    except (ValueError, TypeError) as exc:
        first = str(exc).strip().splitlines()[0]
        raise DataError(
            f"{info.ref} cannot score this data ({first}); check the column types", field="data"
        ) from exc
    import numpy as np
    import pandas as pd

    pred = pd.Series(np.asarray(predicted))
    y_pred = pred.map({v: _key(v) == _key(positive) for v in pred.unique()}).to_numpy("int64")
    score = None if proba is None else np.asarray(proba)[:, 1]
    return Scored(
        info, model, labelled, features, BinaryData.of(y, y_pred, score), positive, dropped
    )
