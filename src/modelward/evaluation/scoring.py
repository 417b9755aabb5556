"""Scoring a registered version on a labelled table: features, labels, predictions, scores."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.data import split_target
from modelward.data.profile import _key
from modelward.errors import DataError, first_line
from modelward.evaluation.metrics import BinaryData
from modelward.evaluation.multiclass import ClassData
from modelward.evaluation.regression import RegressionData
from modelward.evaluation.tasks import BINARY, MULTICLASS, REGRESSION, TABULAR_TASKS

if TYPE_CHECKING:
    import pandas as pd

    from modelward.flavors.base import Flavor
    from modelward.registry.records import VersionInfo
    from modelward.workspace import Workspace

__all__ = [
    "Scored",
    "choose_positive",
    "features_for",
    "score_version",
    "target_for",
]


@dataclass
class Scored:
    """A version's predictions on rows with a label.

    ``data`` is a :class:`BinaryData` for a binary classifier (``positive`` its positive
    class, ``positive_source`` how it was chosen), a :class:`ClassData` for a multiclass
    one and a :class:`RegressionData` for a regressor."""

    version: VersionInfo
    model: Flavor
    frame: pd.DataFrame  # the rows scored (features and every other column)
    features: pd.DataFrame
    data: Any  # BinaryData | ClassData | RegressionData, by task
    positive: Any
    dropped_unlabelled: int
    task: str = BINARY
    positive_source: str = ""


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


def _check_known(labels: pd.Series, classes: list[Any], ref: str) -> None:
    known = {_key(c) for c in classes}
    unknown = sorted({_key(v) for v in labels.unique()} - known)
    if unknown:
        raise DataError(
            f"the target holds label(s) {', '.join(unknown[:5])} that {ref} does not know "
            f"(its classes are {', '.join(map(str, classes))}); check --target",
            field="target",
        )


def _codes(values: Any, classes: list[Any]) -> Any:
    """Each value's index in ``classes`` (matched by its text, so 1 and "1" agree)."""
    import numpy as np
    import pandas as pd

    series = pd.Series(np.asarray(values))
    index = {_key(c): i for i, c in enumerate(classes)}
    return series.map({v: index.get(_key(v), -1) for v in series.unique()}).to_numpy("int64")


def choose_positive(classes: list[Any], requested: Any, recorded: Any, ref: str) -> tuple[Any, str]:
    """The positive class of a binary classifier and how it was chosen: ``requested``
    (``--positive-class``), else the one recorded with the version, else the second of the
    sorted classes (scikit-learn's convention), said so."""
    for wanted, how in ((requested, "chosen with --positive-class"), (recorded, "recorded")):
        if wanted is None or wanted == "":
            continue
        match = [c for c in classes if _key(c) == _key(wanted)]
        if not match:
            raise DataError(
                f"positive class {wanted!r} ({how}) is not among {ref}'s classes "
                f"{', '.join(map(str, classes))}; pass one of them with --positive-class",
                field="positive_class",
            )
        return match[0], how
    return classes[1], (
        "not declared: the second of the sorted classes; choose another with --positive-class"
    )


def _binary(labels: pd.Series, classes: list[Any], positive: Any, ref: str) -> Any:
    import numpy as np

    _check_known(labels, classes, ref)
    uniques = labels.unique()
    hit = labels.map({v: _key(v) == _key(positive) for v in uniques})
    return np.asarray(hit, dtype="int64")


def _task_of(ws: Workspace, name: str, classes: list[Any] | None) -> str:
    """The model's task (``ModelInfo.task``); a classifier's class count settles binary or
    multiclass when the two disagree."""
    task = ws.registry.get_model(name).task
    if task in (BINARY, MULTICLASS) and classes is not None:
        return BINARY if len(classes) == 2 else MULTICLASS
    return task


def recorded_positive(ws: Workspace, version: VersionInfo) -> Any:
    """The positive class declared for the version (its ``positive_class`` tag: the
    training config's or ``register --positive-class``), else its model's policy
    (``positive_class`` in a ``models:`` section), if any."""
    found = version.tags.get("positive_class")
    if found is None:
        found = ws.policy_for(version.model).positive_class
    return found


def score_version(
    ws: Workspace,
    name: str,
    version: int | str,
    frame: pd.DataFrame,
    *,
    target: str | None,
    positive_class: Any = None,
    tasks: tuple[str, ...] = (BINARY,),
) -> Scored:
    """Score a version on labelled rows, as its task asks. ``tasks`` are the tasks the
    caller handles (binary only by default: a caller that reads ``data`` as
    :class:`BinaryData`); another task is refused with a one-line error."""
    info = ws.registry.get_version(name, version)
    model = ws.load_model(name, info.version)
    column = target_for(ws, info, target)
    split_target(frame, column, source="the evaluation data")
    labelled = frame[frame[column].notna()].reset_index(drop=True)
    dropped = len(frame) - len(labelled)
    if labelled.empty:
        raise DataError(f"the target column {column!r} has no labels; pass labelled data")
    features = features_for(model, info, labelled)
    raw_classes = getattr(model, "classes", None)
    classes = None if raw_classes is None else list(raw_classes)
    task = _task_of(ws, name, classes)
    if task not in tasks or task not in TABULAR_TASKS:
        covered = [t for t in tasks if t in TABULAR_TASKS]
        raise DataError(
            f"{info.ref} is a {task} model; this command covers {', '.join(covered)} models",
            field="model",
        )
    if positive_class is not None and task != BINARY:
        raise DataError(
            f"--positive-class is for binary classifiers; {info.ref} is a {task} model: drop it",
            field="positive_class",
        )
    labels = labelled[column]
    if task == REGRESSION:
        y_reg = _numeric_target(labels, column, info.ref)
    elif classes is None:
        classes = sorted(labels.dropna().unique().tolist(), key=_key)
    if task == BINARY and classes is not None and len(classes) != 2:
        raise DataError(
            f"{info.ref} is a binary classifier but the labels hold {len(classes)} classes "
            f"({', '.join(map(str, classes[:5]))}); check --target",
            field="target",
        )
    try:
        predicted = model.predict(features)
        proba = None if task == REGRESSION else model.predict_proba(features)
    except (ValueError, TypeError) as exc:
        first = first_line(exc)
        raise DataError(
            f"{info.ref} cannot score this data ({first}); check the column types", field="data"
        ) from exc
    import numpy as np

    def done(data: Any, positive: Any = None, how: str = "") -> Scored:
        return Scored(
            info, model, labelled, features, data, positive, dropped, task, positive_source=how
        )

    if task == REGRESSION:
        return done(RegressionData.of(y_reg, np.asarray(predicted, dtype="float64").ravel()))
    assert classes is not None
    if task == MULTICLASS:
        _check_known(labels, classes, info.ref)
        y_pred = _codes(predicted, classes)
        if (y_pred < 0).any():
            raise DataError(
                f"{info.ref} predicts labels outside its classes; it cannot be evaluated",
                field="model",
            )
        probabilities = None if proba is None else np.asarray(proba, dtype="float64")
        return done(ClassData(classes, _codes(labels, classes), y_pred, probabilities))
    positive, how = choose_positive(classes, positive_class, recorded_positive(ws, info), info.ref)
    y = _binary(labels, classes, positive, info.ref)
    import pandas as pd

    pred = pd.Series(np.asarray(predicted))
    y_pred = pred.map({v: _key(v) == _key(positive) for v in pred.unique()}).to_numpy("int64")
    score = None if proba is None else np.asarray(proba)[:, classes.index(positive)]
    return done(BinaryData.of(y, y_pred, score), positive, how)


def _numeric_target(labels: pd.Series, column: str, ref: str) -> Any:
    import pandas as pd

    values = pd.to_numeric(labels, errors="coerce")
    bad = labels[values.isna()]
    if len(bad):
        raise DataError(
            f"{ref} is a regression model but the target {column!r} holds text such as "
            f"{bad.iloc[0]!r}; check --target",
            field="target",
        )
    return values.to_numpy("float64")
