"""Reading and writing ``policy.yml``; every mistake becomes one PolicyError line."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from modelward.errors import PolicyError
from modelward.policy.merge import SectionError
from modelward.policy.model import Policy

__all__ = ["check_models", "dump_policy", "load_policy", "parse_policy"]

#: libyaml's safe loader where PyYAML has it: every command reads policy.yml, and the
#: pure-Python parser takes ten times as long on it (the same data, the same error lines).
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

_HEADER = """\
# modelward policy: the thresholds and weights every check and gate applies.
# The defaults are the runbooks' numbers. Edit, then run any command: the file is
# validated on load and a mistake is reported with the key that is wrong.
# A model's own values go in a section under models:, merged over the rest key by key:
#   models: {my-model: {thresholds: {regression: {r2_min: 0.6}}, bias: {required: false}}}
# `modelward policy show --model my-model` prints what applies and where it came from.
"""


def dump_policy(policy: Policy) -> str:
    return _HEADER + yaml.safe_dump(policy.model_dump(mode="json"), sort_keys=False)


def parse_policy(text: str, *, source: str) -> Policy:
    """The policy in ``text``; ``source`` names where it came from in error messages."""
    try:
        raw = yaml.load(text, Loader=_LOADER)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}" if mark is not None else ""
        raise PolicyError(
            f"{source} is not valid YAML{where}: {getattr(exc, 'problem', exc)}; fix the syntax"
        ) from exc
    if raw is None:
        raw = {}
    if not isinstance(raw, dict):
        raise PolicyError(
            f"{source} must be a mapping of sections (thresholds:, data:, ...), "
            f"got {type(raw).__name__}"
        )
    try:
        return Policy.model_validate(raw)
    except ValidationError as exc:
        raise PolicyError(_describe(exc, raw, source)) from exc


def load_policy(path: Path) -> Policy:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise PolicyError(
            f"{path} is missing; restore it or write the defaults with `modelward policy show "
            f"--defaults > {path}`"
        ) from exc
    return parse_policy(text, source=str(path))


def check_models(policy: Policy, known: Iterable[str], *, source: str) -> None:
    """Refuse a ``models:`` section for a model that is not in ``known`` (the registry's)."""
    names = sorted(known)
    for name in policy.models:
        if name not in names:
            shown = ", ".join(names) if names else "none yet"
            raise PolicyError(
                f"{source}: models.{name}: no model named {name!r} in the registry (known: "
                f"{shown}); fix the name or register the model first"
            )


def _describe(exc: ValidationError, raw: dict[str, Any], source: str) -> str:
    first = exc.errors()[0]
    error = (first.get("ctx") or {}).get("error")
    if isinstance(error, SectionError):  # a models.NAME section
        return f"{source}: {error.line()}"
    key = ".".join(str(part) for part in first["loc"]) or "(top level)"
    if first["type"] == "extra_forbidden":
        return f"{source}: unknown key {key!r}; check its spelling against `modelward policy show`"
    value = first.get("input")
    shown = "" if isinstance(value, dict) else f" = {value!r}"
    message = first["msg"].removeprefix("Value error, ")
    more = f" (and {len(exc.errors()) - 1} more)" if len(exc.errors()) > 1 else ""
    return f"{source}: {key}{shown}: {message}{more}; fix the value"
