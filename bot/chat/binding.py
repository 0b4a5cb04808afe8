"""绑定 CODE in the chat, for every kind of one-time code: a digital commissioner's and a
provider contact's. One path: the attempts of a person are limited (a code is not guessable
when tries are few), the code's digest is looked up among the commissioners, then among the
providers; a code issued but run out is told apart from a wrong one."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

import redis.asyncio as aioredis

from bot.chat.commissioner_desk import CommissionerDesk
from flows.commissioners import area_text, code_digest
from flows.events import BindRefused, CommissionerBound, ProviderContactBound
from storage import binding_codes, commissioners, provider_contacts
from storage.db import Sessions
from storage.mp_sessions import RateLimiter

BIND_ATTEMPTS_PER_HOUR = 5  # every 绑定 with a code counts, whichever kind it turns out to be


def bind_limiter(redis: aioredis.Redis) -> RateLimiter:
    return RateLimiter(redis, limit=BIND_ATTEMPTS_PER_HOUR, window=3600, prefix="dx:bind")


class Binder:
    def __init__(self, sessions: Sessions, limiter: RateLimiter, *,
                 clock: Callable[[], float], desk: CommissionerDesk | None = None) -> None:
        self.sessions = sessions
        self.limiter = limiter
        self.clock = clock
        self.desk = desk  # told at once when someone becomes a commissioner

    async def bind(self, code: str, person_id: str,
                   ) -> CommissionerBound | ProviderContactBound | BindRefused:
        allowed, _retry = await self.limiter.allow(person_id, self.clock())
        if not allowed:
            return BindRefused("too_many")
        digest = code_digest(code)
        if digest is None:
            return BindRefused("invalid")
        now = datetime.fromtimestamp(self.clock(), tz=UTC)
        commissioner = await commissioners.bind(self.sessions, digest, person_id, now)
        if commissioner is not None:
            if self.desk is not None:
                self.desk.forget_people()
            return CommissionerBound(commissioner.name, area_text(commissioner.scope))
        provider = await provider_contacts.bind(self.sessions, digest, person_id, now)
        if provider is not None:
            return ProviderContactBound(provider.name)
        expired = await binding_codes.expired(self.sessions, digest, now)
        return BindRefused("expired" if expired else "invalid")
