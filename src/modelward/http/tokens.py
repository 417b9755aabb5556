"""API tokens of the HTTP edge: created once, shown once, stored only as a sha256 hash.

A token is ``mw_`` + 43 URL-safe random characters (256 bits). Scopes: ``predict``,
``feedback``, ``read`` (the dashboard's pages), ``operate`` (the dashboard's pages and its
actions: rollout pause/resume/advance/abort, alert resolve, stage transitions) and
``admin`` (everything, including reading ``/metrics``).
Every route group of a process (the prediction routes, the gateway, the dashboard) checks
the same tokens (:mod:`modelward.http.auth`); hashes are compared in constant time, and
new and revoked tokens are picked up within a second, without a restart.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from modelward.errors import AlreadyExists, ConfigError, NotFound, RaceLost
from modelward.registry.actor import default_actor
from modelward.registry.names import check_model_name
from modelward.registry.records import aware
from modelward.store.tables import TokenRow
from modelward.timeutil import utcnow

if TYPE_CHECKING:
    from modelward.registry.registry import Registry
    from modelward.store.db import Database

__all__ = [
    "SCOPES",
    "TokenInfo",
    "Tokens",
    "active_tokens",
    "create_token",
    "find_token",
    "hash_token",
    "list_tokens",
    "revoke_token",
]

SCOPES = ("predict", "feedback", "read", "operate", "admin")
#: Scopes a scope brings with it (beyond ``admin``, which brings every one).
IMPLIED = {"operate": ("read",)}
PREFIX = "mw_"


@dataclass(frozen=True)
class TokenInfo:
    name: str
    scopes: tuple[str, ...]
    created_at: datetime
    created_by: str
    revoked_at: datetime | None = None

    def allows(self, scope: str) -> bool:
        return (
            scope in self.scopes
            or "admin" in self.scopes
            or any(scope in IMPLIED.get(held, ()) for held in self.scopes)
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "scopes": list(self.scopes),
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "active": self.revoked_at is None,
        }


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_scopes(scopes: Iterable[str]) -> tuple[str, ...]:
    out = tuple(dict.fromkeys(scopes))
    if not out:
        raise ConfigError(
            f"a token needs at least one scope; pass --scope with one of {', '.join(SCOPES)}",
            field="scope",
        )
    for scope in out:
        if scope not in SCOPES:
            raise ConfigError(
                f"unknown scope {scope!r}; scopes are {', '.join(SCOPES)}", field="scope"
            )
    return out


def _info(row: TokenRow) -> TokenInfo:
    return TokenInfo(
        name=row.name,
        scopes=tuple(row.scopes or ()),
        created_at=aware(row.created_at),
        created_by=row.created_by,
        revoked_at=aware(row.revoked_at) if row.revoked_at else None,
    )


def create_token(
    db: Database, name: str, scopes: Iterable[str], *, actor: str | None = None
) -> tuple[TokenInfo, str]:
    """A new token; returns its record and the secret (shown once, never stored)."""
    check_model_name(name)
    checked = _check_scopes(scopes)
    secret = PREFIX + secrets.token_urlsafe(32)
    try:
        with db.session() as session:
            if session.scalar(select(TokenRow.id).where(TokenRow.name == name)) is not None:
                raise AlreadyExists(
                    f"a token named {name!r} exists (names are never reused, even after "
                    "revoking); choose another name",
                    field="name",
                )
            row = TokenRow(
                name=name,
                token_hash=hash_token(secret),
                scopes=list(checked),
                created_at=utcnow(),
                created_by=actor or default_actor(),
            )
            session.add(row)
            session.flush()
            return _info(row), secret
    except RaceLost as exc:
        raise AlreadyExists(f"a token named {name!r} was created concurrently") from exc


def list_tokens(db: Database) -> list[TokenInfo]:
    with db.session(readonly=True) as session:
        return [_info(r) for r in session.scalars(select(TokenRow).order_by(TokenRow.name))]


def revoke_token(db: Database, name: str) -> TokenInfo:
    with db.session() as session:
        row = session.scalar(select(TokenRow).where(TokenRow.name == name))
        if row is None or row.revoked_at is not None:
            state = "is already revoked" if row is not None else "does not exist"
            raise NotFound(f"token {name!r} {state}; see `modelward tokens list`", field="name")
        row.revoked_at = utcnow()
        session.flush()
        return _info(row)


class Tokens:
    """``workspace.tokens``: create, list and revoke API tokens; each change is recorded
    as a ``token`` run (never the secret)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry

    def create(self, name: str, scopes: Iterable[str] | None = None) -> tuple[TokenInfo, str]:
        """A new token (scopes default to predict and feedback): its record and the secret,
        returned only now."""
        info, secret = create_token(self.registry.db, name, scopes or ("predict", "feedback"))
        self._record("create", name, scopes=list(info.scopes))
        return info, secret

    def list(self) -> list[TokenInfo]:
        return list_tokens(self.registry.db)

    def revoke(self, name: str) -> TokenInfo:
        """Revoke a token; running servers refuse it within a second."""
        info = revoke_token(self.registry.db, name)
        self._record("revoke", name)
        return info

    def _record(self, action: str, name: str, **inputs: Any) -> None:
        self.registry.record_run(
            "token",
            model=None,
            version=None,
            inputs={"action": action, "name": name, **inputs},
            results={},
            verdict="info",
        )


def active_tokens(db: Database) -> dict[str, TokenInfo]:
    """hash -> token, for every token not revoked."""
    with db.session(readonly=True) as session:
        rows = session.scalars(select(TokenRow).where(TokenRow.revoked_at.is_(None))).all()
        return {row.token_hash: _info(row) for row in rows}


def find_token(tokens: Mapping[str, TokenInfo], presented: str) -> TokenInfo | None:
    """The token whose hash matches, compared in constant time against every hash."""
    digest = hash_token(presented)
    found = None
    for stored, info in tokens.items():
        if hmac.compare_digest(stored, digest):
            found = info
    return found
