"""Building the scikit-learn pipeline a training config describes.

Only scikit-learn parts are used (imputers, scalers, encoders, ColumnTransformer and the
estimator), so the result saves with skops and loads under the registry's trust rules.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError

if TYPE_CHECKING:
    from modelward.training.config import TrainingConfig

__all__ = ["build_pipeline", "estimator_class"]


def estimator_class(path: str) -> type:
    module_name, _, class_name = path.rpartition(".")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigError(
            f"estimator.class {path!r}: no module {module_name!r}; check the import path"
        ) from exc
    found = getattr(module, class_name, None)
    if found is None or not isinstance(found, type):
        raise ConfigError(
            f"estimator.class {path!r}: {module_name} has no class {class_name!r}; "
            "check the spelling"
        )
    if not (hasattr(found, "fit") and hasattr(found, "predict")):
        raise ConfigError(f"estimator.class {path!r} is not an estimator (no fit/predict)")
    return found


def _estimator(config: TrainingConfig, overrides: dict[str, Any] | None = None) -> Any:
    cls = estimator_class(config.estimator.class_)
    params = {**config.estimator.params, **(overrides or {})}
    known = set(cls().get_params())
    unknown = sorted(set(params) - known)
    if unknown:
        raise ConfigError(
            f"estimator.params: {cls.__name__} has no parameter {unknown[0]!r}; its parameters "
            f"are {', '.join(sorted(known))}"
        )
    if "random_state" in known and "random_state" not in params:
        params["random_state"] = config.seed  # deterministic for a fixed seed
    try:
        return cls(**params)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"estimator.params: {exc}") from exc


def build_pipeline(config: TrainingConfig, overrides: dict[str, Any] | None = None) -> Any:
    from sklearn.compose import ColumnTransformer
    from sklearn.impute import SimpleImputer
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import (
        MinMaxScaler,
        OneHotEncoder,
        OrdinalEncoder,
        RobustScaler,
        StandardScaler,
    )

    prep = config.preprocessing
    parts: list[tuple[str, Any, list[str]]] = []
    numeric = list(config.features.numeric)
    zeroed = [c for c in prep.numeric.zero_as_missing if c in numeric]
    unknown = sorted(set(prep.numeric.zero_as_missing) - set(numeric))
    if unknown:
        raise ConfigError(
            f"preprocessing.numeric.zero_as_missing: {unknown[0]!r} is not a numeric feature"
        )

    def numeric_steps(zero: bool) -> list[tuple[str, Any]]:
        steps: list[tuple[str, Any]] = []
        impute = prep.numeric.impute
        if impute != "none" or zero:
            steps.append(
                ("impute", SimpleImputer(strategy=impute if impute != "none" else "median"))
            )
        if zero:  # after NaNs are filled (SimpleImputer takes one missing marker at a time)
            steps.append(("zero", SimpleImputer(missing_values=0.0, strategy="median")))
        scaler = {"standard": StandardScaler, "minmax": MinMaxScaler, "robust": RobustScaler}
        if prep.numeric.scale != "none":
            steps.append(("scale", scaler[prep.numeric.scale]()))
        return steps

    plain = [c for c in numeric if c not in zeroed]
    if plain:
        parts.append(
            (
                "numeric",
                Pipeline(numeric_steps(False)) if numeric_steps(False) else "passthrough",
                plain,
            )
        )
    if zeroed:
        parts.append(("zero_as_missing", Pipeline(numeric_steps(True)), zeroed))
    categorical = list(config.features.categorical)
    if categorical:
        steps: list[tuple[str, Any]] = []
        if prep.categorical.impute != "none":
            steps.append(("impute", SimpleImputer(strategy=prep.categorical.impute)))
        if prep.categorical.encode == "onehot":
            steps.append(("encode", OneHotEncoder(handle_unknown="ignore", sparse_output=False)))
        elif prep.categorical.encode == "ordinal":
            steps.append(
                ("encode", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1))
            )
        parts.append(("categorical", Pipeline(steps) if steps else "passthrough", categorical))
    columns = ColumnTransformer(parts, remainder="drop")
    return Pipeline([("prep", columns), ("model", _estimator(config, overrides))])
