"""Which subject a channel person's drafts belong to, shared by all workers.

A subject is ``u:<unionid>`` when WeChat tells us the person's unionid (the same human in the
Official Account and the mini-program), otherwise the channel person id itself (``oa:<openid>``).
"""

from __future__ import annotations

import redis.asyncio as aioredis

from storage.redis_keys import PREFIX, hash_tag

ALIAS_TTL = 30 * 86400


def subject_for(person_id: str, unionid: str | None) -> str:
    return f"u:{unionid}" if unionid else person_id


class SubjectAliases:
    """person id -> subject, kept in Redis next to the person's conversation keys."""

    def __init__(self, redis: aioredis.Redis, *, prefix: str = PREFIX,
                 ttl: int = ALIAS_TTL) -> None:
        self.redis = redis
        self.prefix = prefix
        self.ttl = ttl

    def _key(self, person_id: str) -> str:
        return f"{hash_tag('p', person_id, prefix=self.prefix)}:subject"

    async def get(self, person_id: str) -> str | None:
        raw = await self.redis.get(self._key(person_id))
        return None if raw is None else raw.decode()

    async def set(self, person_id: str, subject: str) -> None:
        await self.redis.set(self._key(person_id), subject.encode(), ex=self.ttl)
