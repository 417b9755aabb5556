"""The Redis URL the gateway shares its state through: ``gateway.redis_url`` in llm.yml,
or ``MODELWARD_REDIS_URL`` (which wins, as ``MODELWARD_DB_URL`` does for the metadata DB,
so a replica's password can stay out of the shared llm.yml).

Accepted: ``redis://[[user]:password@]host[:port][/db]`` and ``rediss://…`` (TLS). Query
parameters are refused: the gateway sets its own timeouts, and a URL must not loosen them.
The password is handed to :func:`~modelward.redact.remember` when the URL is read, so no
log line, error or ``/readyz`` body can carry it; :func:`shown` is the URL to print.
"""

from __future__ import annotations

import os
from urllib.parse import SplitResult, urlsplit

from modelward.errors import ConfigError
from modelward.redact import MASK
from modelward.store.urls import remember_url_secrets

__all__ = ["ENV", "FORM", "check_url", "resolve_url", "shown"]

ENV = "MODELWARD_REDIS_URL"
FORM = "redis://host:port/db or rediss://host:port/db (TLS), a password as :PASSWORD@ before host"
#: Longer values are not URLs anyone meant (and would fill an error line).
MAX_LENGTH = 2048
MAX_DB = 1_000_000


def check_url(value: str) -> str:
    """``value`` when it is a Redis URL the gateway can use; else :class:`ValueError`
    naming the part that is wrong (never quoting the password)."""
    remember_url_secrets(value)
    if len(value) > MAX_LENGTH:
        raise ValueError(f"is {len(value)} characters long; a Redis URL looks like {FORM}")
    if any(not " " < c <= "~" for c in value):
        raise ValueError(f"holds a space, a control code or a non-ASCII character; use {FORM}")
    scheme = value.partition("://")[0] if "://" in value else ""
    if scheme.lower() not in ("redis", "rediss"):
        shown_scheme = repr(scheme[:16]) if scheme else "none"
        raise ValueError(f"scheme must be redis:// or rediss:// (got {shown_scheme}); use {FORM}")
    try:
        parts = urlsplit(value)
        port = parts.port
    except ValueError as exc:
        raise ValueError(f"has a port that is not a number from 1 to 65535; use {FORM}") from exc
    _check_parts(parts, port)
    if "?" in value or "#" in value:
        raise ValueError(
            "has query parameters or a fragment, which the gateway does not take (a ? or # "
            f"in a password is written %3F or %23); use {FORM}"
        )
    return value


def _check_parts(parts: SplitResult, port: int | None) -> None:
    if not parts.hostname:
        raise ValueError(f"names no host; use {FORM}")
    if port == 0:
        raise ValueError(f"has port 0; use the Redis server's port (6379 by default): {FORM}")
    db = parts.path.lstrip("/")
    if db and (not db.isdigit() or int(db) >= MAX_DB or "/" in db):
        raise ValueError(
            f"names database {db[:16]!r}, not a number (0 to 15 by default); use {FORM}"
        )


def resolve_url(configured: str | None) -> str | None:
    """The Redis URL in force: ``MODELWARD_REDIS_URL`` when set, else llm.yml's
    ``gateway.redis_url`` (already checked when llm.yml was read); None: per-process state."""
    env = os.environ.get(ENV)
    if env is None or env == "":
        return configured
    try:
        return check_url(env)
    except ValueError as exc:
        raise ConfigError(
            f"the environment variable {ENV} {exc}; fix it or unset it", field=ENV
        ) from exc


def shown(url: str) -> str:
    """``url`` as it may be printed: the password masked, the user kept."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    user = parts.username or ""
    host = parts.netloc.rpartition("@")[2]
    return parts._replace(netloc=f"{user}:{MASK}@{host}").geturl()
