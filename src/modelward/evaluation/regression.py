"""Regression metrics, every one for many bootstrap resamples at once.

scikit-learn's definitions: MAE, RMSE (the square root of the mean squared error), R²
(``1 - SS_res / SS_tot``; undefined on a constant target), median absolute error, and
MAPE as a fraction (``mean(|y - ŷ| / |y|)``). MAPE is not reported when a target is 0:
scikit-learn divides by machine epsilon there, which gives a meaningless 10^15.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from modelward.evaluation.resampling import interval_metrics, point_of

if TYPE_CHECKING:
    import numpy as np

__all__ = ["RegressionData", "regression_metrics", "regression_summary"]


@dataclass(frozen=True)
class RegressionData:
    y_true: np.ndarray
    y_pred: np.ndarray

    @classmethod
    def of(cls, y_true: Any, y_pred: Any) -> RegressionData:
        import numpy as np

        return cls(np.asarray(y_true, dtype="float64"), np.asarray(y_pred, dtype="float64"))

    @property
    def n(self) -> int:
        return int(len(self.y_true))

    @property
    def zero_targets(self) -> int:
        return int((self.y_true == 0).sum())

    def abs_errors(self) -> np.ndarray:
        import numpy as np

        return np.abs(self.y_pred - self.y_true)


def regression_metrics(data: RegressionData) -> Any:
    """A :data:`~modelward.evaluation.resampling.MetricFn` over ``data``."""
    import numpy as np

    with_mape = data.zero_targets == 0

    def fn(indices: np.ndarray) -> dict[str, np.ndarray]:
        y = data.y_true[indices]
        err = data.y_pred[indices] - y
        absolute = np.abs(err)
        ss_res = (err**2).sum(axis=1)
        ss_tot = ((y - y.mean(axis=1, keepdims=True)) ** 2).sum(axis=1)
        with np.errstate(divide="ignore", invalid="ignore"):
            # scikit-learn's r2_score (force_finite): 1 where labels and predictions are one
            # constant, 0 where only the labels are
            r2 = np.where(
                ss_tot > 0, 1 - ss_res / np.where(ss_tot > 0, ss_tot, 1), (ss_res == 0) * 1.0
            )
        out = {
            "mae": absolute.mean(axis=1),
            "rmse": np.sqrt((err**2).mean(axis=1)),
            "r2": r2,
            "median_absolute_error": np.median(absolute, axis=1),
        }
        if with_mape:
            out["mape"] = (absolute / np.abs(y)).mean(axis=1)
        return out

    return fn


def regression_summary(data: RegressionData, *, resamples: int, seed: int) -> dict[str, Any]:
    out: dict[str, Any] = {
        "rows": data.n,
        "metrics": interval_metrics(
            regression_metrics(data), data.n, resamples=resamples, seed=seed
        ),
        "residuals": _residual_summary(data),
    }
    if data.zero_targets:
        out["notes"] = [
            f"MAPE not reported: {data.zero_targets} row(s) have a target of 0 "
            "(a percentage error of a zero target is undefined)"
        ]
    return out


def _residual_summary(data: RegressionData) -> dict[str, float]:
    import numpy as np

    residual = data.y_pred - data.y_true
    q = np.quantile(residual, [0.05, 0.25, 0.5, 0.75, 0.95]) if data.n else [np.nan] * 5
    return {
        "mean": float(residual.mean()) if data.n else float("nan"),
        "p05": float(q[0]),
        "p25": float(q[1]),
        "median": float(q[2]),
        "p75": float(q[3]),
        "p95": float(q[4]),
    }


def point_regression_metrics(data: RegressionData) -> dict[str, float | None]:
    return point_of(regression_metrics(data), data.n)
