"""Training configs: one YAML file says what to train on what, validated on load.

```yaml
name: heart-logreg                    # registered model name
description: Heart disease, logistic regression on Cleveland
data: ../heart.yml#cleveland          # CSV, Parquet or dataset spec; relative to this file
target: target
task: binary                          # binary, multiclass or regression; inferred if absent
positive_class: 1                     # binary only; default: the second of the sorted classes
features:
  numeric: [age, trestbps, chol, thalach, oldpeak]
  categorical: [sex, cp, fbs, restecg, exang, slope, ca, thal]
preprocessing:
  numeric: {impute: median, scale: standard}
  categorical: {impute: most_frequent, encode: onehot}
estimator:
  class: sklearn.linear_model.LogisticRegression
  params: {C: 1.0, max_iter: 1000}
split: {test_size: 0.2, stratify: true}
cv: {folds: 5, metric: roc_auc}      # metric: by task, default roc_auc / f1_macro / r2
seed: 42
tune:                                 # --tune N searches this space with Optuna
  metric: roc_auc
  space:
    C: {type: float, low: 0.001, high: 100, log: true}
```

Every section forbids unknown keys, so a typo is an error naming the key and the keys
that are allowed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from modelward.errors import ConfigError

__all__ = ["TrainingConfig", "load_config"]


def _known_metrics() -> list[str]:
    from modelward.training.tasks import CV_SCORERS

    names: list[str] = []
    for table in CV_SCORERS.values():
        for pair in table.items():
            names += [n for n in pair if n not in names]
    return names


def _check_metric(value: str | None) -> str | None:
    """Any task's metric (ours or scikit-learn's name); ``train`` checks it fits the task."""
    known = _known_metrics()
    if value is not None and value not in known:
        raise ValueError(f"unknown metric {value!r}; use one of {', '.join(known)}")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class Features(_Strict):
    numeric: list[str] = []
    categorical: list[str] = []

    @model_validator(mode="after")
    def _some(self) -> Features:
        both = set(self.numeric) & set(self.categorical)
        if both:
            raise ValueError(f"{', '.join(sorted(both))} listed as numeric and categorical")
        if not self.numeric and not self.categorical:
            raise ValueError("name at least one numeric or categorical feature")
        return self

    @property
    def all(self) -> list[str]:
        return [*self.numeric, *self.categorical]


class NumericPrep(_Strict):
    impute: Literal["median", "mean", "most_frequent", "none"] = "median"
    scale: Literal["standard", "minmax", "robust", "none"] = "standard"
    zero_as_missing: list[str] = []


class CategoricalPrep(_Strict):
    impute: Literal["most_frequent", "constant", "none"] = "most_frequent"
    encode: Literal["onehot", "ordinal", "none"] = "onehot"


class Preprocessing(_Strict):
    numeric: NumericPrep = NumericPrep()
    categorical: CategoricalPrep = CategoricalPrep()


class Estimator(_Strict):
    class_: str = Field(alias="class")
    params: dict[str, Any] = {}

    @field_validator("class_")
    @classmethod
    def _path(cls, value: str) -> str:
        if not value.startswith("sklearn.") or value.count(".") < 2:
            raise ValueError(
                f"{value!r} is not a scikit-learn import path; write e.g. "
                "sklearn.ensemble.RandomForestClassifier"
            )
        return value


class Split(_Strict):
    test_size: float = Field(default=0.2, gt=0, lt=1)
    stratify: bool = True


class CV(_Strict):
    folds: int = Field(default=5, ge=2, le=50)
    #: None: the task's default (roc_auc, f1_macro, r2)
    metric: str | None = None

    _metric = field_validator("metric")(_check_metric)


class Param(_Strict):
    type: Literal["float", "int", "categorical"]
    low: float | None = None
    high: float | None = None
    log: bool = False
    choices: list[Any] | None = None

    @model_validator(mode="after")
    def _bounds(self) -> Param:
        if self.type == "categorical":
            if not self.choices:
                raise ValueError("a categorical parameter needs choices: [...]")
        elif self.low is None or self.high is None or self.low >= self.high:
            raise ValueError(f"a {self.type} parameter needs low < high")
        elif self.log and self.low <= 0:
            raise ValueError("a log-scale parameter needs low > 0")
        return self


class Tune(_Strict):
    metric: str | None = None
    trials: int = Field(default=20, ge=1)
    space: dict[str, Param] = Field(min_length=1)

    _metric = field_validator("metric")(_check_metric)


class TrainingConfig(_Strict):
    name: str
    description: str = ""
    data: str
    target: str = "target"
    #: binary, multiclass or regression (or the registry's names); inferred when absent
    task: (
        Literal[
            "binary",
            "multiclass",
            "regression",
            "binary-classification",
            "multiclass-classification",
        ]
        | None
    ) = None
    #: a binary classifier's positive class (default: the second of the sorted classes)
    positive_class: str | int | None = None
    features: Features
    preprocessing: Preprocessing = Preprocessing()
    estimator: Estimator
    split: Split = Split()
    cv: CV = CV()
    seed: int = 42
    tune: Tune | None = None
    tags: dict[str, str] = {}

    #: the folder of the config file (relative data paths resolve against it)
    base: Path = Field(default=Path("."), exclude=True)

    def data_ref(self) -> str:
        path, sep, parts = self.data.partition("#")
        full = Path(path)
        if not full.is_absolute():
            full = (self.base / full).resolve()
        return f"{full}{sep}{parts}"


def _location(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc if p != "class_") or "(top level)"


def _known(loc: tuple[Any, ...]) -> list[str]:
    """The allowed keys at the place a typo was found."""
    model: Any = TrainingConfig
    for part in loc[:-1]:
        field = model.model_fields.get(str(part)) if hasattr(model, "model_fields") else None
        if field is None:
            return []
        annotation = field.annotation
        args = getattr(annotation, "__args__", None)
        if args:
            annotation = next((a for a in args if hasattr(a, "model_fields")), annotation)
        model = annotation
    if not hasattr(model, "model_fields"):
        return []
    return sorted(f.alias or n for n, f in model.model_fields.items() if n != "base")


def load_config(path: Path | str) -> TrainingConfig:
    path = Path(path)
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError as exc:
        raise ConfigError(f"training config {path} does not exist; check the path") from exc
    except IsADirectoryError as exc:
        raise ConfigError(f"{path} is a folder; pass a training config .yml") from exc
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark else ""
        raise ConfigError(
            f"training config {path} is not valid YAML{where}; fix the syntax"
        ) from exc
    if not isinstance(raw, dict):
        raise ConfigError(
            f"training config {path} must be a mapping with name:, data:, features:, estimator:"
        )
    if "base" in raw:
        raise ConfigError(f"training config {path}: unknown key 'base'")
    try:
        return TrainingConfig.model_validate({**raw, "base": path.resolve().parent})
    except ValidationError as exc:
        # a typo'd key also makes the intended key "missing": name the typo first
        errors = sorted(exc.errors(), key=lambda e: e["type"] != "extra_forbidden")
        first = errors[0]
        key = _location(first["loc"])
        if first["type"] == "extra_forbidden":
            known = _known(first["loc"])
            hint = f"; known keys here: {', '.join(known)}" if known else ""
            raise ConfigError(f"training config {path}: unknown key {key!r}{hint}") from exc
        if first["type"] == "missing":
            raise ConfigError(f"training config {path}: {key} is required") from exc
        message = first["msg"].removeprefix("Value error, ")
        raise ConfigError(f"training config {path}: {key}: {message}") from exc
