"""The one place secrets are taken out of text before it leaves the process.

Everything that crosses the process boundary with text we did not write ourselves goes
through :func:`redact`: error messages the CLI prints, error bodies the servers answer,
the ``error`` column of the prediction log, and every log line. It masks

- the secret values this process has read (API keys from their environment variables,
  the metadata DB's password): :func:`remember` them where they are read;
- credentials in URLs (``user:password@``) and query parameters whose name holds
  ``password``, ``secret``, ``token`` or ``key`` (``?password=…``, ``&api_key=…``);
- credential-shaped strings: ``Bearer …``, ``x-api-key: …``, OpenAI (``sk-…``),
  Anthropic (``sk-ant-…``), Hugging Face (``hf_…``) and modelward (``mw_…``) keys.

Masked parts read ``***``; what kind of secret it was stays visible (``Bearer ***``,
``sk-***``), so an operator can still tell which credential a provider complained about.
"""

from __future__ import annotations

import re
import threading

__all__ = ["MASK", "redact", "remember"]

MASK = "***"
#: Shorter values are not remembered: masking them would garble ordinary words.
MIN_SECRET = 6

_lock = threading.Lock()
_secrets: tuple[str, ...] = ()

_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    # scheme://user:password@host
    (re.compile(r"(?i)(\b[a-z][a-z0-9+.\-]*://[^\s:/@]*:)[^\s@/]*(@)"), rf"\1{MASK}\2"),
    # ?password=… &api_key=… ;secret=…
    (
        re.compile(
            r"(?i)([?&;][a-z0-9_.\-]*(?:password|passwd|secret|token|key)[a-z0-9_.\-]*=)"
            r"[^&;\s#\"']*"
        ),
        rf"\1{MASK}",
    ),
    # Authorization: Bearer …, "Bearer …"
    (re.compile(r"(?i)\b(bearer|basic)(\s+)[a-z0-9._~+/=\-]+"), rf"\1\2{MASK}"),
    # x-api-key: …, api_key=…, "api-key": "…"
    (
        re.compile(
            r"(?i)\b((?:x-)?api[_\-]?key|authorization)([\"']?\s*[:=]\s*[\"']?)"
            r"(?!bearer\b|basic\b)[^\s\"',;&]+"
        ),
        rf"\1\2{MASK}",
    ),
    (re.compile(r"\bsk-ant-[A-Za-z0-9_\-]{8,}"), f"sk-ant-{MASK}"),
    (re.compile(r"\bsk-(?!ant-)[A-Za-z0-9_\-]{8,}"), f"sk-{MASK}"),
    (re.compile(r"\bhf_[A-Za-z0-9]{8,}"), f"hf_{MASK}"),
    (re.compile(r"\bmw_[A-Za-z0-9_\-]{8,}"), f"mw_{MASK}"),
)


def remember(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on (a key, a password)."""
    global _secrets
    if not value or len(value) < MIN_SECRET:
        return
    with _lock:
        if value not in _secrets:
            # longest first, so a secret containing another is masked whole
            _secrets = tuple(sorted({*_secrets, value}, key=len, reverse=True))


def redact(text: str) -> str:
    """``text`` with every secret masked (see the module's docstring for what counts)."""
    if not text:
        return text
    for secret in _secrets:
        if secret in text:
            text = text.replace(secret, MASK)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
