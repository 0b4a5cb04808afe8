"""Who is acting (`Who`, on any channel), and who an Official Account message comes from.

WeChat gives the Official Account only the openid; the unionid (the same human in the
mini-program) comes from `cgi-bin/user/info`. Asking WeChat on every message would cost a call per
message, so the answer is remembered: in this process (no round trip for an ordinary answer), and
in Redis for the other workers and after restarts.
"""

from __future__ import annotations

import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from storage.archive import person_key
from storage.identities import SubjectAliases, subject_for

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Who:
    """The person acting: on which channel, and whose drafts (the subject) they work on."""

    person_id: str  # "<channel>:<openid>"
    channel: str  # "oa" | "mp"
    openid: str
    subject_id: str  # "u:<unionid>" or person_id
    unionid: str | None = None

CHANNEL = "oa"
UnionidLookup = Callable[[str], Awaitable[str | None]]
"""openid -> unionid (None when WeChat has none for this account); raises when WeChat fails."""


class OaIdentities:
    """openid -> `Who`, remembered in process (bounded) and in Redis."""

    def __init__(self, aliases: SubjectAliases, unionid_of: UnionidLookup | None, *,
                 cache_size: int = 100_000) -> None:
        self.aliases = aliases
        self.unionid_of = unionid_of
        self.cache_size = cache_size
        self._cache: OrderedDict[str, Who] = OrderedDict()

    async def who(self, openid: str) -> Who:
        who = self._cache.get(openid)
        if who is not None:
            self._cache.move_to_end(openid)
            return who
        person = person_key(CHANNEL, openid)
        if self.unionid_of is None:  # no Official Account credentials: openids only
            return self._remember(Who(person, CHANNEL, openid, person))
        subject = await self.aliases.get(person)
        if subject is None:
            try:
                unionid = await self.unionid_of(openid)
            except Exception:
                # Not remembered: the next message asks again, so a WeChat hiccup does not pin
                # the person to a channel-only draft for long.
                log.warning("could not look up the unionid of an Official Account user; "
                            "using the channel identity for this message", exc_info=True)
                return Who(person, CHANNEL, openid, person)
            subject = subject_for(person, unionid)
            await self.aliases.set(person, subject)
        unionid = subject[2:] if subject.startswith("u:") else None
        return self._remember(Who(person, CHANNEL, openid, subject, unionid))

    def _remember(self, who: Who) -> Who:
        self._cache[who.openid] = who
        if len(self._cache) > self.cache_size:
            self._cache.popitem(last=False)
        return who
