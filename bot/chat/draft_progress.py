"""Tells the archive how far each person's draft is (storage.activity), so "not started / in
progress" can be asked in SQL: at once when a draft starts or names its enterprise, otherwise at
most every `interval` seconds per person and process (the answer count may lag that long)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime

from bot.chat.throttle import PerPersonThrottle
from bot.wechat.identity import Who
from flows.state import Context, Draft, answered_count
from storage import activity
from storage.db import Sessions

log = logging.getLogger(__name__)

INTERVAL = 600.0


def _at(epoch: int | float) -> datetime:
    return datetime.fromtimestamp(epoch, tz=UTC)


class DraftProgress:
    def __init__(self, ctx: Context, sessions: Sessions, *, clock: Callable[[], float],
                 interval: float = INTERVAL) -> None:
        self.ctx = ctx
        self.sessions = sessions
        self.clock = clock
        self._throttle = PerPersonThrottle(interval)

    async def note(self, who: Who, draft: Draft | None) -> None:
        """The person's draft after a change (None: no draft, nothing to note)."""
        if draft is None:
            return
        now = self.clock()
        credit_code = draft.profile.get("credit_code")
        if not self._throttle.due(who.person_id, now, (draft.id, credit_code)):
            return
        iset = self.ctx.iset(draft)
        try:
            await activity.record(self.sessions, activity.Activity(
                person_id=who.person_id, subject_id=who.subject_id, draft_id=draft.id,
                credit_code=credit_code, answered=answered_count(iset, draft),
                total=len(iset.codes), started_at=_at(draft.started_at),
                last_active_at=_at(now)))
        except Exception:
            self._throttle.forget(who.person_id)  # try again with the next message
            log.warning("could not record the draft progress of %s", who.person_id,
                        exc_info=True)
