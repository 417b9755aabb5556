"""Robustness: how predictions move under gaussian noise, missing values and out-of-range
inputs. For a classifier, accuracy drop and prediction flip rate are held to policy
limits; for a regressor, the rise of the MAE and the share of predictions moved by more
than a tolerance. Any crash, or an output that is not a valid prediction, fails the check
outright."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelward.data.profile import CATEGORICAL_MAX_LEVELS, _key
from modelward.errors import described
from modelward.validation.checks import Check, compare

if TYPE_CHECKING:
    import pandas as pd

    from modelward.flavors.base import Flavor
    from modelward.policy.model import RobustnessPolicy

__all__ = ["continuous_columns", "perturbations", "robustness_checks"]


def continuous_columns(frame: pd.DataFrame) -> list[str]:
    """Numeric columns with many distinct values (not codes such as sex or cp)."""
    import pandas as pd

    return [
        str(c)
        for c in frame.columns
        if pd.api.types.is_numeric_dtype(frame[c])
        and not pd.api.types.is_bool_dtype(frame[c])
        and frame[c].nunique() > CATEGORICAL_MAX_LEVELS
    ]


def perturbations(
    frame: pd.DataFrame, policy: RobustnessPolicy, seed: int = 0
) -> dict[str, pd.DataFrame]:
    import numpy as np
    import pandas as pd

    rng = np.random.default_rng(seed)
    continuous = continuous_columns(frame)
    noisy = frame.copy()
    for column in continuous:
        values = noisy[column].astype("float64")
        std = float(values.std()) or 1.0
        noisy[column] = values + rng.normal(0.0, policy.noise_std * std, len(values))
    holed = frame.copy()
    for column in holed.columns:
        mask = rng.random(len(holed)) < policy.missing_rate
        if pd.api.types.is_integer_dtype(holed[column]):
            holed[column] = holed[column].astype("float64")
        holed.loc[mask, column] = np.nan
    wild = frame.copy()
    numeric = [c for c in frame.columns if pd.api.types.is_numeric_dtype(frame[c])]
    for i, column in enumerate(numeric):
        values = wild[column].astype("float64")
        span = float(values.max() - values.min()) or 1.0
        rows = rng.random(len(wild)) < 0.1
        far = values.max() + 10 * span if i % 2 == 0 else values.min() - 10 * span
        wild[column] = values.where(~rows, far)
    return {"gaussian noise": noisy, "missing values": holed, "out-of-range values": wild}


def _valid_outputs(name: str, valid: bool, good: str, bad: str) -> Check:
    """Whether the model's outputs on a perturbation are usable at all."""
    shown = "yes" if valid else "no"
    return Check("robustness", f"{name}: valid outputs", shown, "yes", "==", valid,
                 good if valid else bad)  # fmt: skip


def _crash(name: str, exc: Exception) -> tuple[Check, str]:
    text = described(exc)
    return Check("robustness", f"{name}: no crash", "crashed", "no crash", "==", False, text), text


def robustness_checks(
    model: Flavor,
    features: pd.DataFrame,
    y_true: Any,
    positive: Any,
    policy: RobustnessPolicy,
    *,
    task: str = "binary-classification",
    classes: list[Any] | None = None,
) -> tuple[list[Check], dict[str, Any]]:
    """Noise, missing values and out-of-range values: no crash, valid outputs, and the
    task's movement held to the policy (classifiers: accuracy drop and flip rate;
    regression: rise of the MAE and the share of predictions moved beyond a tolerance)."""
    if task == "regression":
        return _regression(model, features, y_true, policy)
    return _classifier(model, features, y_true, positive, policy, task, classes)


def _classifier(
    model: Flavor,
    features: pd.DataFrame,
    y_true: Any,
    positive: Any,
    policy: RobustnessPolicy,
    task: str,
    classes: list[Any] | None,
) -> tuple[list[Check], dict[str, Any]]:
    import numpy as np

    def labels(frame: pd.DataFrame) -> Any:
        import pandas as pd

        predicted = pd.Series(np.asarray(model.predict(frame)))
        if task == "multiclass-classification":
            index = {_key(c): i for i, c in enumerate(classes or [])}
            codes = {v: index.get(_key(v), -1) for v in predicted.unique()}
            return predicted.map(codes).to_numpy("int64")
        hits = {v: _key(v) == _key(positive) for v in predicted.unique()}
        return predicted.map(hits).to_numpy("int64")

    base = labels(features)
    base_acc = float((base == y_true).mean())
    checks: list[Check] = []
    details: dict[str, Any] = {"baseline_accuracy": base_acc}
    for name, frame in perturbations(features, policy).items():
        try:
            pred = labels(frame)
            proba = model.predict_proba(frame)
        except Exception as exc:  # noqa: BLE001 - any crash is the finding
            check, text = _crash(name, exc)
            checks.append(check)
            details[name] = {"crashed": text}
            continue
        valid = proba is None or bool(
            np.all(np.isfinite(proba)) and np.all((proba >= 0) & (proba <= 1))
        )
        checks.append(
            _valid_outputs(
                name,
                valid,
                "predictions made; probabilities finite and in [0, 1]",
                "probabilities outside [0, 1] or not finite",
            )  # fmt: skip
        )
        drop = base_acc - float((pred == y_true).mean())
        flips = float((pred != base).mean())
        details[name] = {"accuracy_drop": drop, "flip_rate": flips}
        if name == "out-of-range values":
            continue  # values far outside the data move predictions by design; reported only
        checks.append(
            Check(
                "robustness",
                f"{name}: accuracy drop",
                drop,
                policy.max_accuracy_drop,
                "<=",
                compare(drop, "<=", policy.max_accuracy_drop),
            )
        )
        checks.append(
            Check(
                "robustness",
                f"{name}: flip rate",
                flips,
                policy.max_flip_rate,
                "<=",
                compare(flips, "<=", policy.max_flip_rate),
            )
        )
    return checks, details


def _regression(
    model: Flavor, features: pd.DataFrame, y_true: Any, policy: RobustnessPolicy
) -> tuple[list[Check], dict[str, Any]]:
    import numpy as np

    truth = np.asarray(y_true, dtype="float64")
    base = np.asarray(model.predict(features), dtype="float64").ravel()
    base_mae = float(np.mean(np.abs(base - truth)))
    spread = float(np.std(truth)) or 1.0
    tolerance = policy.move_tolerance * spread
    max_increase = policy.max_error_increase
    max_moved = policy.max_flip_rate if policy.max_moved_share is None else policy.max_moved_share
    checks: list[Check] = []
    details: dict[str, Any] = {"baseline_mae": base_mae, "move_tolerance": tolerance}
    for name, frame in perturbations(features, policy).items():
        try:
            pred = np.asarray(model.predict(frame), dtype="float64").ravel()
        except Exception as exc:  # noqa: BLE001 - any crash is the finding
            check, text = _crash(name, exc)
            checks.append(check)
            details[name] = {"crashed": text}
            continue
        valid = bool(np.all(np.isfinite(pred)))
        checks.append(
            _valid_outputs(
                name, valid, "predictions finite", "some predictions are NaN or infinite"
            )
        )
        mae = float(np.mean(np.abs(pred - truth)))
        increase = (mae - base_mae) / base_mae if base_mae > 0 else (0.0 if mae == 0 else None)
        moved = float(np.mean(np.abs(pred - base) > tolerance))
        details[name] = {"mae": mae, "mae_increase": increase, "moved_share": moved}
        if name == "out-of-range values":
            continue  # values far outside the data move predictions by design; reported only
        checks.append(
            Check(
                "robustness",
                f"{name}: MAE increase",
                increase,
                max_increase,
                "<=",
                compare(increase, "<=", max_increase),
                f"MAE {mae:.4g} against {base_mae:.4g} unperturbed (share of it)",
            )
        )
        checks.append(
            Check(
                "robustness",
                f"{name}: predictions moved",
                moved,
                max_moved,
                "<=",
                compare(moved, "<=", max_moved),
                f"share of predictions moved by more than {tolerance:.4g} "
                f"({policy.move_tolerance:g} x the target's std)",
            )
        )
    return checks, details
