"""Endpoint models in the registry: provider + model id + parameters + prompt template.

An endpoint version is an ordinary registry version (``kind="endpoint"``, flavor ``llm``),
so stages, gates, aliases and history apply unchanged.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from modelward.errors import ConfigError, NotFound
from modelward.llm.types import Endpoint
from modelward.registry.names import check_model_name

if TYPE_CHECKING:
    from modelward.llm.config import LLMConfig
    from modelward.registry.records import VersionInfo
    from modelward.workspace import Workspace

__all__ = ["PARAMS", "check_params", "endpoint_of", "parse_ref", "register_endpoint", "resolve"]

#: Parameter name -> (type, low, high). Anything else is refused with the list.
PARAMS: dict[str, tuple[type, float | None, float | None]] = {
    "temperature": (float, 0.0, 2.0),
    "top_p": (float, 0.0, 1.0),
    "top_k": (int, 1, None),
    "max_tokens": (int, 1, None),
    "seed": (int, None, None),
    "presence_penalty": (float, -2.0, 2.0),
    "frequency_penalty": (float, -2.0, 2.0),
    "stop": (str, None, None),
}
FLAVOR = "llm"


def check_params(raw: dict[str, Any]) -> dict[str, Any]:
    """Typed, range-checked parameters; one-line errors naming the parameter."""
    out: dict[str, Any] = {}
    for name, value in raw.items():
        if name not in PARAMS:
            raise ConfigError(
                f"unknown parameter {name!r}; use one of {', '.join(sorted(PARAMS))}",
                field="param",
            )
        kind, low, high = PARAMS[name]
        try:
            typed = kind(value) if kind is not int else int(str(value))
        except (TypeError, ValueError) as exc:
            raise ConfigError(
                f"parameter {name}={value!r} must be {'an integer' if kind is int else 'a number'}",
                field="param",
            ) from exc
        if isinstance(typed, int | float) and (
            (low is not None and typed < low) or (high is not None and typed > high)
        ):
            bounds = f"between {low:g} and {high:g}" if high is not None else f">= {low:g}"
            raise ConfigError(f"parameter {name}={value} must be {bounds}", field="param")
        out[name] = typed
    return out


def register_endpoint(
    ws: Workspace,
    config: LLMConfig,
    name: str,
    *,
    provider: str,
    model: str,
    params: dict[str, Any] | None = None,
    prompt: str | Path | None = None,
    template: str | None = None,
    description: str = "",
    tags: dict[str, Any] | None = None,
) -> VersionInfo:
    """Register an endpoint model as a new version (creating the model if needed)."""
    check_model_name(name)
    config.provider(provider)
    if not model or not model.strip():
        raise ConfigError("--model needs the provider's model id, e.g. gpt-4o-mini", field="model")
    checked = check_params(params or {})
    if prompt is not None:
        template = _read_prompt(Path(prompt))
    try:
        existing = ws.registry.get_model(name)
    except NotFound:
        existing = None
    if existing is not None and existing.task != "text-generation":
        raise ConfigError(
            f"model {name!r} is a {existing.task} model; register the endpoint under another name",
            field="name",
        )
    if existing is None:
        ws.registry.create_model(name, task="text-generation", description=description)
    spec = {"provider": provider, "model": model.strip(), "prompt_template": template}
    return ws.registry.add_version(
        name,
        kind="endpoint",
        flavor=FLAVOR,
        spec=spec,
        params=checked,
        tags=tags,
        description=description,
        source={"provider": provider},
    )


def _read_prompt(path: Path) -> str:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise ConfigError(
            f"prompt file {path} does not exist; check the path", field="prompt"
        ) from exc
    except (UnicodeDecodeError, IsADirectoryError) as exc:
        raise ConfigError(f"prompt file {path} is not UTF-8 text", field="prompt") from exc
    if "{input}" not in text:
        raise ConfigError(
            f"prompt file {path} has no {{input}} placeholder; add {{input}} where the "
            "question goes",
            field="prompt",
        )
    return text


def parse_ref(ref: str) -> tuple[str, str]:
    name, _, version = ref.strip().partition(":")
    return name, version or "latest"


def endpoint_of(info: VersionInfo) -> Endpoint:
    if info.kind != "endpoint" or info.flavor != FLAVOR:
        raise ConfigError(
            f"{info.ref} is not an LLM endpoint; register one with `modelward llm register`",
            field="models",
        )
    spec = info.spec
    return Endpoint(
        provider=str(spec["provider"]),
        model=str(spec["model"]),
        params=dict(info.params),
        prompt_template=spec.get("prompt_template"),
        name=info.model,
        version=info.version,
    )


def resolve(ws: Workspace, ref: str) -> Endpoint:
    """``name`` (latest), ``name:3`` or ``name:champion`` -> the endpoint it names."""
    name, version = parse_ref(ref)
    return endpoint_of(ws.registry.get_version(name, version))
