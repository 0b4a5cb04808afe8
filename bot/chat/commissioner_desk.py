"""What the chat does for digital commissioners: their area at a glance and its lists (their
WeChat is bound with a one-time code by `bot.chat.binding`). The area always comes from the
database by the person who asks, never from what they send."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from flows.beijing_time import china_day
from flows.commissioners import (
    ROSTER_SHOWN,
    AreaProgress,
    NudgeReport,
    RosterEntry,
    RosterPage,
    area_text,
)
from flows.events import NotCommissioner
from flows.statuses import Status
from storage import commissioners, enterprise_status, nudges
from storage.commissioners import StoredCommissioner
from storage.db import Sessions

REFRESH_SECONDS = 60.0  # how soon a binding made elsewhere is known to this process


def _day(at: datetime | None) -> str:
    return "" if at is None else china_day(at)


class CommissionerDesk:
    def __init__(self, sessions: Sessions, *, clock: Callable[[], float],
                 reads: Sessions | None = None) -> None:
        self.sessions = sessions
        self.reads = sessions if reads is None else reads  # an area's counts and lists
        self.clock = clock
        self._people: frozenset[str] = frozenset()
        self._loaded_at = float("-inf")

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    async def is_commissioner(self, person_id: str) -> bool:
        """From a set of the bound people, reloaded once a minute: no query per message."""
        if time.monotonic() - self._loaded_at >= REFRESH_SECONDS:
            self._people = frozenset(await commissioners.bound_people(self.sessions))
            self._loaded_at = time.monotonic()
        return person_id in self._people

    def forget_people(self) -> None:
        """Someone was bound in this process: the next message reloads the bound people."""
        self._loaded_at = float("-inf")

    async def progress(self, person_id: str) -> AreaProgress | NotCommissioner:
        found = await commissioners.of_person(self.sessions, person_id)
        if found is None:
            return NotCommissioner()
        counted = await enterprise_status.progress(self.reads, found.scope, self.now())
        return AreaProgress(area_text(found.scope), counted.total, counted.by_status,
                            counted.levels)

    async def roster(self, person_id: str, status: Status,
                     offset: int = 0) -> RosterPage | NotCommissioner:
        found = await commissioners.of_person(self.sessions, person_id)
        if found is None:
            return NotCommissioner()
        page, total = await enterprise_status.listing(
            self.reads, found.scope, status, self.now(),
            offset=max(0, offset), limit=ROSTER_SHOWN)
        entries = []
        for e in page:
            if e.status == "in_progress":
                detail = f"{e.answered}/{e.total} · {_day(e.last_active_at)}"
            elif e.status == "submitted":
                detail = f"{e.level_name} · {_day(e.submitted_at)}"
            else:  # whom to call: nobody has started on WeChat yet
                detail = " ".join(filter(None, (e.contact_name, e.contact_mobile)))
            entries.append(RosterEntry(e.name, e.credit_code, e.county, detail))
        return RosterPage(status, tuple(entries), total, max(0, offset))

    async def nudge(self, person_id: str, credit_code: str | None) -> NudgeReport | NotCommissioner:
        """催办 within the asker's area only; a credit code outside it is "not in your area",
        whether or not it exists."""
        found = await commissioners.of_person(self.sessions, person_id)
        if found is None:
            return NotCommissioner()
        return await nudge_area(self.sessions, found, credit_code, self.now())


async def nudge_area(sessions: Sessions, found: StoredCommissioner, credit_code: str | None,
                     now: datetime) -> NudgeReport:
    """催办 by `found` (from the chat or their API token), within their area only."""
    nudger = nudges.Nudger(found.id, found.name, area_text(found.scope))
    done = await nudges.nudge_unfinished(sessions, found.scope, nudger, now,
                                         credit_code=credit_code)
    if done is None:
        return NudgeReport(0, 0, 0, 0, found=False, credit_code=credit_code)
    return NudgeReport(done.nudged, done.people, done.recent, done.no_contact, done.submitted,
                       credit_code=credit_code)

