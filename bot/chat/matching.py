"""The province's pool as matching needs it, for the chat and the mini-program: the live
solutions indexed once (`flows.solutions.Pool`) and rebuilt only when the pool changed, which
costs one small query at most every `check_every` seconds per process."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Mapping
from typing import Any

from flows.indicators import IndicatorSet
from flows.solutions import Enterprise, Match, Pool, match
from storage import solutions
from storage.archive import Profile
from storage.db import Sessions

log = logging.getLogger(__name__)


def enterprise_of(profile: Profile | Mapping[str, Any]) -> Enterprise:
    """What matching needs of a profile (archived, or a submission's)."""
    if isinstance(profile, Profile):
        return Enterprise(profile.industry, profile.city, profile.industry_division)
    return Enterprise(str(profile["industry"]), str(profile["city"]),
                      profile.get("industry_division"))


class Matcher:
    def __init__(self, sessions: Sessions, iset: IndicatorSet, *, clock: Callable[[], float],
                 check_every: float = 5.0) -> None:
        self.sessions = sessions
        self.iset = iset
        self.clock = clock
        self.check_every = check_every
        self._pool = Pool.of(())
        self._version = -1
        self._checked_at = float("-inf")
        self._lock = asyncio.Lock()

    async def pool(self) -> Pool:
        if self.clock() - self._checked_at < self.check_every:
            return self._pool
        async with self._lock:  # one reload at a time; the others wait for it
            if self.clock() - self._checked_at >= self.check_every:
                version = await solutions.pool_version(self.sessions)
                if version != self._version:
                    self._pool = Pool.of(await solutions.live_solutions(self.sessions))
                    self._version = version
                self._checked_at = self.clock()
        return self._pool

    async def best(self, result: Mapping[str, Any], enterprise: Enterprise, *,
                   limit: int) -> tuple[Match, ...]:
        """The `limit` best solutions for a stored result."""
        return match(await self.pool(), self.iset, result, enterprise, limit=limit)

    async def one(self, solution_id: int, result: Mapping[str, Any],
                  enterprise: Enterprise) -> Match | None:
        """Why solution `solution_id` fits this result; None when it is retired, unknown, or
        no longer fits (the enterprise has moved on, or is not what it is for)."""
        found = (await self.pool()).solutions.get(solution_id)
        if found is None:
            return None
        matched = match(Pool.of([found]), self.iset, result, enterprise, limit=1)
        return matched[0] if matched else None

    async def after_submission(self, result: Mapping[str, Any], enterprise: Enterprise, *,
                               limit: int) -> tuple[Match, ...]:
        """`best`, for a result just committed: should the pool fail to load, the result is
        shown without solutions rather than not at all."""
        try:
            return await self.best(result, enterprise, limit=limit)
        except Exception:
            log.exception("could not match the solution pool to a result")
            return ()
