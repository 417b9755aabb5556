"""``llm.yml``: the providers (kind, base URL, which environment variable holds the key),
the price catalog, the judge model and the gateway's settings.

Keys never live in this file: a provider names an environment variable (``api_key_env``)
and the key is read from the environment when a call is made. Nothing in modelward logs,
stores or prints a key (``ProviderConfig.api_key()`` is the one place it is read; it hands
the value to :func:`modelward.redact.remember`, so text leaving the process never holds it).
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from modelward.errors import ConfigError
from modelward.llm.shared.url import check_url
from modelward.redact import remember

__all__ = [
    "GatewayConfig",
    "LLMConfig",
    "Price",
    "ProviderConfig",
    "dump_config",
    "load_config",
]

ProviderKind = Literal["openai", "anthropic", "ollama", "huggingface"]


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderConfig(_Section):
    """One provider endpoint. ``kind`` picks the wire protocol (adapter)."""

    kind: ProviderKind
    base_url: str
    api_key_env: str | None = None
    timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_s: float = Field(default=0.5, ge=0)
    max_backoff_s: float = Field(default=20.0, ge=0)
    concurrency: int = Field(default=8, ge=1)
    # an idle pooled connection is closed after this long, before the provider's own
    # keep-alive timeout closes it (uvicorn 5 s, nginx 75 s)
    keepalive_expiry_s: float = Field(default=4.0, gt=0)
    # an answer (head and body) is read up to this size, never further: beyond it, a 502
    max_response_mib: float = Field(default=16.0, gt=0)
    required: bool = False
    models: list[str] = []  # models the health check requires
    rate_limit_rpm: int | None = Field(default=None, ge=1)  # for the quota alerts

    @field_validator("base_url")
    @classmethod
    def _url(cls, value: str) -> str:
        if not value.startswith(("http://", "https://")):
            raise ValueError(f"must start with http:// or https://, got {value!r}")
        return value.rstrip("/")

    @field_validator("api_key_env")
    @classmethod
    def _env_name(cls, value: str | None) -> str | None:
        if value is not None and (not value or not value.replace("_", "").isalnum()):
            raise ValueError(
                f"must be the NAME of an environment variable (e.g. OPENAI_API_KEY), got {value!r}"
            )
        return value

    def api_key(self) -> str | None:
        """The key, from the environment; ``None`` when the variable is unset or empty.

        A key an HTTP header cannot carry (non-ASCII, a space, a control character such as
        the newline ``echo`` leaves) is a :class:`ConfigError` naming the variable.
        """
        if not self.api_key_env:
            return None
        key = os.environ.get(self.api_key_env) or None
        if key is None:
            return None
        remember(key)
        bad = next((i for i, c in enumerate(key) if not "!" <= c <= "~"), None)
        if bad is not None:
            what = "a non-ASCII character" if ord(key[bad]) > 127 else "a space or control code"
            raise ConfigError(
                f"the environment variable {self.api_key_env} holds {what} (character "
                f"{bad + 1} of {len(key)}), which an HTTP header cannot carry; set it to the "
                "key exactly as the provider issued it",
                field="api_key_env",
            )
        return key


class Price(_Section):
    """US dollars per million tokens."""

    input: float = Field(ge=0)
    output: float = Field(ge=0)


class KeyBudget(_Section):
    monthly: float = Field(ge=0)


class GatewayConfig(_Section):
    cache_ttl_s: float = Field(default=300.0, ge=0)
    cache_size: int = Field(default=10000, ge=0)
    default_query_type: str = "factual"
    classifier: dict[str, list[str]] = {}  # query type -> keywords
    key_budgets: dict[str, KeyBudget] = {}
    flush_ms: int = Field(default=1000, ge=1)
    # budgets and the response cache shared by every replica (MODELWARD_REDIS_URL wins)
    redis_url: str | None = None
    # the first part of every Redis key (teams sharing one Redis use one each)
    redis_prefix: str = "modelward"

    @field_validator("redis_url")
    @classmethod
    def _redis_url(cls, value: str | None) -> str | None:
        return None if value is None else check_url(value)

    @field_validator("redis_prefix")
    @classmethod
    def _redis_prefix(cls, value: str) -> str:
        if not 0 < len(value) <= 64 or not value.replace("_", "").replace("-", "").isalnum():
            raise ValueError("must be 1 to 64 letters, digits, _ or - (e.g. modelward-team-a)")
        if not value.isascii():
            raise ValueError("must be ASCII letters, digits, _ or -")
        return value


class LLMConfig(_Section):
    version: Literal[1] = 1
    providers: dict[str, ProviderConfig] = {}
    prices: dict[str, Price] = {}  # model id (or provider/model id) -> price
    judge: str | None = None  # a registered endpoint (name or name:version)
    gateway: GatewayConfig = GatewayConfig()

    def provider(self, name: str) -> ProviderConfig:
        try:
            return self.providers[name]
        except KeyError as exc:
            known = ", ".join(sorted(self.providers)) or "none configured"
            raise ConfigError(
                f"no provider named {name!r} in llm.yml (known: {known}); add it under "
                "`providers:`",
                field="provider",
            ) from exc

    def price(self, provider: str, model: str) -> Price | None:
        return self.prices.get(f"{provider}/{model}") or self.prices.get(model)


def _first_error(exc: ValidationError) -> str:
    err = exc.errors()[0]
    where = ".".join(str(p) for p in err["loc"]) or "(top level)"
    message = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        message = "unknown key (a typo?)"
    return f"{where}: {message}"


def load_config(path: str | Path) -> LLMConfig:
    """Read and validate ``llm.yml``; a missing file is the empty config."""
    path = Path(path)
    if not path.exists():
        return LLMConfig()
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except yaml.YAMLError as exc:
        line = getattr(getattr(exc, "problem_mark", None), "line", None)
        at = f" at line {line + 1}" if line is not None else ""
        raise ConfigError(f"{path} is not valid YAML{at}; fix the syntax") from exc
    if raw is None:
        return LLMConfig()
    if not isinstance(raw, dict):
        raise ConfigError(f"{path} must be a mapping with `providers:` and `prices:`")
    try:
        return LLMConfig.model_validate(raw)
    except ValidationError as exc:
        raise ConfigError(f"{path}: {_first_error(exc)}; fix that value") from exc


def dump_config(config: LLMConfig) -> str:
    return yaml.safe_dump(config.model_dump(mode="json", exclude_defaults=True), sort_keys=False)
