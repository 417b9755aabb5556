"""Metadata DB URLs (SQLAlchemy's form, ``dialect+driver://user:password@host/db``)."""

from __future__ import annotations

from urllib.parse import parse_qsl, unquote, urlsplit

from modelward.redact import remember

__all__ = ["driver_url", "remember_url_secrets"]

_SECRET_WORDS = ("password", "secret", "token", "key")


def remember_url_secrets(url: str) -> None:
    """Have :func:`~modelward.redact.redact` mask this URL's password wherever it appears
    (a driver's error may quote it), whether it is in ``user:pw@`` or a query parameter."""
    try:
        parts = urlsplit(url)
        password = parts.password
        query = parse_qsl(parts.query, keep_blank_values=True)
    except ValueError:  # an unparseable URL fails later, masked by pattern
        return
    remember(unquote(password) if password else None)
    for name, value in query:
        if any(word in name.lower() for word in _SECRET_WORDS):
            remember(value)


def driver_url(url: str) -> str:
    """The libpq form of a PostgreSQL URL (``postgresql+psycopg://`` → ``postgresql://``)."""
    scheme, _, rest = url.partition("://")
    return f"{scheme.split('+', 1)[0]}://{rest}"
