"""Mini-program login sessions and the per-person request budget, in Redis.

The client holds an opaque random token; Redis holds only its SHA-256, so a leaked key dump (or a
log line) cannot be replayed as a login. WeChat's `session_key` stays in the session hash and is
never returned or logged.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass, field

import redis.asyncio as aioredis

from storage.redis_keys import PREFIX, hash_tag

DEFAULT_SESSION_TTL = 7 * 86400
TOKEN_BYTES = 32


@dataclass(frozen=True)
class MpSession:
    """Who a token belongs to: the channel person and the cross-channel subject."""

    person_id: str  # "mp:<openid>"
    subject_id: str  # "u:<unionid>" or person_id
    openid: str
    unionid: str | None
    session_key: str = field(repr=False)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class MpSessionStore:
    """Sessions keyed by the token's digest; each key is its own Cluster slot."""

    def __init__(self, redis: aioredis.Redis, *, prefix: str = PREFIX,
                 ttl: int = DEFAULT_SESSION_TTL) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl

    def _key(self, token: str) -> str:
        return f"{self.prefix}:mps:{_digest(token)}"

    async def create(self, session: MpSession) -> str:
        """Store `session` under a new random token and return the token."""
        token = secrets.token_urlsafe(TOKEN_BYTES)
        key = self._key(token)
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.hset(key, mapping={
                "person": session.person_id, "subject": session.subject_id,
                "openid": session.openid, "unionid": session.unionid or "",
                "sk": session.session_key})
            pipe.expire(key, self.ttl)
            await pipe.execute()
        return token

    async def get(self, token: str) -> MpSession | None:
        """The live session of `token`, or None (unknown, expired or malformed)."""
        if not token or len(token) > 256:
            return None
        fields = await self.redis.hgetall(self._key(token))  # type: ignore[misc]
        if not fields or b"person" not in fields:
            return None
        unionid = fields.get(b"unionid", b"").decode()
        return MpSession(person_id=fields[b"person"].decode(),
                         subject_id=fields[b"subject"].decode(),
                         openid=fields[b"openid"].decode(), unionid=unionid or None,
                         session_key=fields.get(b"sk", b"").decode())

    async def revoke(self, token: str) -> None:
        await self.redis.delete(self._key(token))


class RateLimiter:
    """A fixed-window request budget per person, shared by all workers."""

    def __init__(self, redis: aioredis.Redis, *, limit: int, window: int = 60,
                 prefix: str = PREFIX) -> None:
        if limit < 1 or window < 1:
            raise ValueError("limit and window must be positive")
        self.redis = redis
        self.limit = limit
        self.window = window
        self.prefix = prefix

    async def allow(self, who: str, now: float) -> tuple[bool, int]:
        """Count one request of `who`; (allowed, seconds until the window resets)."""
        slot = int(now) // self.window
        key = f"{hash_tag('rl', who, prefix=self.prefix)}:{slot}"
        async with self.redis.pipeline(transaction=True) as pipe:
            pipe.incr(key)
            pipe.expire(key, self.window + 1)
            count, _ = await pipe.execute()
        retry_after = self.window - int(now) % self.window
        return int(count) <= self.limit, retry_after
