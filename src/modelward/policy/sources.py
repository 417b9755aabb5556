"""Where each value of a model's effective policy came from: the shipped default, the
workspace's policy.yml, or the model's ``models.NAME`` section."""

from __future__ import annotations

from typing import Any

from modelward.policy.merge import flatten
from modelward.policy.model import Policy

__all__ = ["DEFAULT", "WORKSPACE", "explain", "sources"]

DEFAULT = "default"
WORKSPACE = "workspace"


def sources(policy: Policy, name: str) -> dict[str, str]:
    """Where each value of model ``name``'s effective policy comes from, by key path
    (``thresholds.regression.r2_min``): ``default`` (the shipped value), ``workspace``
    (the top level of policy.yml) or ``models.NAME`` (the model's section)."""
    values = flatten(policy.for_model(name).model_dump(mode="json", exclude={"models"}))
    defaults = flatten(Policy().model_dump(mode="json", exclude={"models"}))
    workspace = flatten(policy.model_dump(mode="json", exclude={"models"}))
    section = flatten(policy.models.get(name) or {})
    out: dict[str, str] = {}
    for path in values:
        if any(path == p or path.startswith(f"{p}.") for p in section):
            out[path] = f"models.{name}"
        elif path not in defaults or workspace.get(path) != defaults[path]:
            out[path] = WORKSPACE
        else:
            out[path] = DEFAULT
    return out


def explain(policy: Policy, name: str) -> dict[str, dict[str, Any]]:
    """Model ``name``'s effective policy, flat: key path -> ``{"value", "source"}``."""
    values = flatten(policy.for_model(name).model_dump(mode="json", exclude={"models"}))
    return {
        path: {"value": values[path], "source": source}
        for path, source in sources(policy, name).items()
    }
