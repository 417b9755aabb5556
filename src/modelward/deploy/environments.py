"""The environments a model can be deployed to (each is also a lifecycle stage)."""

from __future__ import annotations

from modelward.errors import ConfigError

__all__ = ["ENVIRONMENTS", "check_environment"]

ENVIRONMENTS = ("staging", "production")


def check_environment(env: str) -> str:
    if env not in ENVIRONMENTS:
        raise ConfigError(
            f"unknown environment {env!r}; use one of {', '.join(ENVIRONMENTS)}",
            field="environment",
        )
    return env
