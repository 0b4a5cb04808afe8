"""Who calls the admin API, from their bearer token: a province admin (DXBOT_ADMIN_TOKEN, or a
token from `dxbot token add`) sees and manages everything; a commissioner's token
(`dxbot token add --commissioner ID`) reaches their area's figures, export and nudges only.
Tokens are random; only their SHA-256 digests are stored, and a revoked one stops at once."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass

from flows.commissioners import Scope
from storage import api_tokens
from storage.db import Sessions

TOKEN_PREFIX = "dxt_"


def new_token() -> str:
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class Principal:
    name: str
    scope: Scope | None  # None: the whole province
    commissioner_id: int | None = None

    @property
    def province(self) -> bool:
        return self.scope is None


async def principal_of(given: str, admin_token: str, sessions: Sessions) -> Principal | None:
    """The holder of `given`, or None when it is no valid token."""
    if admin_token and hmac.compare_digest(given.encode(), admin_token.encode()):
        return Principal("admin", None)
    if not given.startswith(TOKEN_PREFIX):
        return None
    holder = await api_tokens.holder(sessions, token_digest(given))
    if holder is None:
        return None
    return Principal(holder.name, holder.scope, holder.commissioner_id)
