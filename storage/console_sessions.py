"""The web console's one-time sign-in links and its sessions, in Redis.

Both are random tokens of which Redis keeps only the SHA-256 (a key dump or a log line cannot
sign anyone in). A sign-in link works once (taken with GETDEL: two clicks, one session) and for
`LINK_TTL` seconds; a session lasts `SESSION_TTL` seconds from sign-in and carries its own CSRF
token, which every form of the console sends back.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

import orjson
import redis.asyncio as aioredis

from storage.redis_keys import PREFIX

LINK_TTL = 600
SESSION_TTL = 8 * 3600
TOKEN_BYTES = 32


@dataclass(frozen=True)
class ConsoleUser:
    """Who signed in: a province admin (no commissioner) or a commissioner, whose area is read
    from the archive at every request (a revoked or moved commissioner is so at once)."""

    name: str
    commissioner_id: int | None


@dataclass(frozen=True)
class ConsoleSession:
    user: ConsoleUser
    csrf: str


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _plausible(token: str) -> bool:
    return 0 < len(token) <= 128


class ConsoleStore:
    def __init__(self, redis: aioredis.Redis, *, prefix: str = PREFIX) -> None:
        self.redis = redis
        self.prefix = prefix

    def _key(self, kind: str, token: str) -> str:
        return f"{self.prefix}:console:{kind}:{_digest(token)}"

    async def new_link(self, user: ConsoleUser, *, ttl: int = LINK_TTL) -> str:
        """A one-time sign-in token for `user`."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        await self.redis.set(self._key("link", token), _encode(user), ex=ttl)
        return token

    async def use_link(self, token: str) -> ConsoleUser | None:
        """Whom the link signs in, once; None when unknown, used or expired."""
        if not _plausible(token):
            return None
        raw = await self.redis.getdel(self._key("link", token))
        return None if raw is None else _decode(raw)

    async def new_session(self, user: ConsoleUser, *, ttl: int = SESSION_TTL) -> str:
        token = secrets.token_urlsafe(TOKEN_BYTES)
        data = orjson.dumps({"name": user.name, "commissioner_id": user.commissioner_id,
                             "csrf": secrets.token_urlsafe(TOKEN_BYTES)})
        await self.redis.set(self._key("session", token), data, ex=ttl)
        return token

    async def session(self, token: str) -> ConsoleSession | None:
        if not _plausible(token):
            return None
        raw = await self.redis.get(self._key("session", token))
        if raw is None:
            return None
        data = orjson.loads(raw)
        return ConsoleSession(ConsoleUser(data["name"], data["commissioner_id"]), data["csrf"])

    async def end(self, token: str) -> None:
        if _plausible(token):
            await self.redis.delete(self._key("session", token))


def _encode(user: ConsoleUser) -> bytes:
    return orjson.dumps({"name": user.name, "commissioner_id": user.commissioner_id})


def _decode(raw: bytes) -> ConsoleUser:
    data = orjson.loads(raw)
    return ConsoleUser(data["name"], data["commissioner_id"])
