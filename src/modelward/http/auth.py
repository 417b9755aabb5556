"""Who is calling: bearer tokens and their scopes, for every route group of a process.

A route that names a scope (``Route(scope="predict")``) is checked before its handler
runs, while the token source says auth is on. The source decides that rule: the server
requires tokens beyond loopback always, and on loopback once one exists
(``ServingState.auth_on``); the standalone gateway never requires them, but still names
the caller by its token for budgets and the log (:meth:`Auth.client`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Protocol

from modelward.errors import AuthError, PermissionDenied
from modelward.http.tokens import TokenInfo, find_token

if TYPE_CHECKING:
    from modelward.http.request import Request

__all__ = ["Auth", "TokenSource"]


class TokenSource(Protocol):
    """The active tokens (sha256 -> token), kept fresh by the process, and whether a
    scoped route needs one now."""

    @property
    def tokens(self) -> Mapping[str, TokenInfo]: ...

    @property
    def auth_on(self) -> bool: ...


class Auth:
    def __init__(self, source: TokenSource) -> None:
        self.source = source

    def require(self, request: Request, scope: str) -> TokenInfo | None:
        """The caller's token when auth is on (None when it is off); AuthError (401) for a
        missing or unknown token, PermissionDenied (403) for one without ``scope``."""
        source = self.source
        if not source.auth_on:
            return None
        presented = request.bearer()
        if presented is None:
            raise AuthError(
                "this server needs an API token: send 'Authorization: Bearer <token>' "
                "(create one with `modelward tokens create NAME`)"
            )
        token = find_token(source.tokens, presented)
        if token is None:
            raise AuthError("the API token is unknown or revoked; ask for a new one")
        if not token.allows(scope):
            raise PermissionDenied(
                f"token {token.name!r} lacks the {scope!r} scope (it has "
                f"{', '.join(token.scopes) or 'none'}); create a token with --scope {scope}"
            )
        return token

    def client(self, request: Request) -> str:
        """The caller's token name (``-`` when anonymous or unknown), never the secret."""
        token = request.token
        if token is None:
            presented = request.bearer()
            token = find_token(self.source.tokens, presented) if presented else None
        return token.name if token is not None else "-"
