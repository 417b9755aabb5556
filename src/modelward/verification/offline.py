"""The offline check: a version's artifact loads and predicts, without a server.

What ``modelward promote`` runs after the staging deploy when no ``--url`` names a live
server; :func:`~.live.live_verifier` is the same slot filled by ``modelward verify``.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from modelward.errors import ModelwardError

if TYPE_CHECKING:
    from modelward.workspace import Workspace

__all__ = ["Verifier", "offline_verify"]

#: ``(workspace, name, version, env) -> (passed, detail)``: how the pipeline checks the
#: version it just deployed to staging.
Verifier = Callable[["Workspace", str, int, str], tuple[bool, str]]


def offline_verify(ws: Workspace, name: str, version: int, env: str) -> tuple[bool, str]:
    """The artifact loads (checksum, trusted types) and predicts on profile-built rows."""
    import pandas as pd

    info = ws.registry.get_version(name, version)
    if info.kind != "artifact":
        return True, "endpoint model: checked by its provider health check"
    profile = ws.registry.reference_profile(name, version) or {}
    stats = profile.get("columns", {}) if isinstance(profile, dict) else {}
    row: dict[str, Any] = {}
    for column in info.input_schema.get("columns", []):
        feature, kind = column["name"], column.get("kind")
        seen = stats.get(feature, {}) if isinstance(stats, dict) else {}
        if kind in ("integer", "float"):
            quantiles = seen.get("quantiles") or []
            middle = quantiles[len(quantiles) // 2] if quantiles else None
            if middle is None:
                middle = (column.get("min", 0) + column.get("max", 0)) / 2
            row[feature] = int(round(middle)) if kind == "integer" else float(middle)
        else:
            categories = column.get("categories") or [""]
            row[feature] = categories[0]
    try:
        model = ws.registry.load_model(name, version)
        frame = pd.DataFrame([row] * 5)
        predictions = model.predict(frame)
    except ModelwardError as exc:
        return False, exc.message
    except Exception as exc:  # noqa: BLE001 - any failure of the model is a failed verify
        return False, f"predict failed: {type(exc).__name__}: {exc}"
    return len(predictions) == 5, f"loaded and predicted {len(predictions)} rows offline"
