"""Which inputs a model accepts as missing, learned by trying it.

The training data says only where values happened to be missing; a pipeline that imputes
accepts a missing value in inputs that never had one. So at ``register`` each input is
tried: on a sample of the rows, that input is set to missing (NaN; ``""`` for text in an
ONNX graph) and the model asked to predict. No error and finite outputs (values, and the
probabilities of a classifier) means the input may be null in a request.
"""

from __future__ import annotations

import warnings
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pandas as pd

__all__ = ["SAMPLE_ROWS", "nullable_inputs"]

#: Rows tried per input.
SAMPLE_ROWS = 50


def _finite(model: Any, frame: pd.DataFrame) -> bool:
    """Whether the model predicts every row of ``frame`` with finite outputs."""
    import numpy as np
    import pandas as pd

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            outputs = [np.asarray(model.predict(frame))]
            proba = model.predict_proba(frame) if hasattr(model, "predict_proba") else None
    except Exception:  # noqa: BLE001 - any failure means "does not accept this"
        return False
    if proba is not None:
        outputs.append(np.asarray(proba))
    for out in outputs:
        if out.dtype.kind in "fc":
            if not np.isfinite(out).all():
                return False
        elif pd.isna(pd.Series(out.ravel())).any():
            return False
    return True


def nullable_inputs(model: Any, features: pd.DataFrame, *, seed: int = 0) -> list[str] | None:
    """The columns of ``features`` that ``model`` (a loaded flavor) accepts as missing,
    or None when it cannot predict the sample as it is (nothing can be learned then)."""
    import numpy as np

    if features.empty or not len(features.columns):
        return None
    rows = features.sample(min(SAMPLE_ROWS, len(features)), random_state=seed)
    rows = rows.reset_index(drop=True)
    if not _finite(model, rows):
        return None
    accepted = []
    for name in features.columns:
        trial = rows.copy()
        if trial[name].dtype.kind in "biu":  # an integer column holds NaN as float
            trial[name] = trial[name].astype("float64")
        trial[name] = np.nan
        if trial[name].dtype != rows[name].dtype and rows[name].dtype.kind not in "biuf":
            trial[name] = trial[name].astype(rows[name].dtype)
        if _finite(model, trial):
            accepted.append(str(name))
    return accepted
