"""Naming rules for models and aliases."""

from __future__ import annotations

import re

from modelward.errors import InvalidName

__all__ = ["check_alias", "check_model_name"]

_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,127}$")
RESERVED_ALIASES = frozenset({"latest"})


def check_model_name(name: str) -> str:
    if not _NAME.match(name or ""):
        raise InvalidName(
            f"model name {name!r} is invalid; use 1-128 lowercase letters, digits and -_. "
            "starting with a letter or digit (e.g. heart-disease)",
            field="name",
        )
    return name


def check_alias(alias: str) -> str:
    if not _NAME.match(alias or "") or alias.isdigit() or alias in RESERVED_ALIASES:
        raise InvalidName(
            f"alias {alias!r} is invalid; use lowercase letters, digits and -_. , not a bare "
            "number and not 'latest' (e.g. champion)",
            field="alias",
        )
    return alias
