"""Notices as the people they concern see them, for the chat and the mini-program alike: the
trainings and events ahead with the person's sign-up, signing up and withdrawing."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime

from flows.events import SignUpDone, WithdrawDone
from flows.notices import Audience, NoticeItem, signup_open
from storage import notices, registrations
from storage.db import Sessions


class NoticeBoard:
    def __init__(self, sessions: Sessions, *, clock: Callable[[], float]) -> None:
        self.sessions = sessions
        self.clock = clock

    def now(self) -> datetime:
        return datetime.fromtimestamp(self.clock(), tz=UTC)

    async def upcoming(self, person_id: str
                       ) -> list[tuple[notices.StoredNotice, NoticeItem]]:
        """Not yet started, not cancelled, and concerning `person_id`; soonest first."""
        found = await notices.upcoming_for(self.sessions, person_id, self.now(),
                                           Audience.from_data)
        ids = [n.id for n in found]
        mine = await registrations.mine(self.sessions, ids, person_id)
        taken = await registrations.registered_counts(self.sessions, ids)
        return [(n, self._item(n, mine.get(n.id), taken.get(n.id, 0))) for n in found]

    def _item(self, notice: notices.StoredNotice, mine: registrations.Mine | None,
              taken: int) -> NoticeItem:
        signup = None if mine is None or mine.status == "cancelled" else mine.status
        return NoticeItem(
            id=notice.id, kind=notice.kind, title=notice.title,  # type: ignore[arg-type]
            starts_at=int(notice.starts_at.timestamp()), place=notice.place or notice.link,
            signup_open=signup_open(cancelled=notice.status == "cancelled",
                                    starts_at=notice.starts_at,
                                    signup_deadline=notice.signup_deadline, now=self.now()),
            signup=signup,  # type: ignore[arg-type]  # the statuses are the same words
            position=None if mine is None else mine.position,
            full=notice.capacity is not None and taken >= notice.capacity)

    async def _item_of(self, notice_id: int, person_id: str) -> NoticeItem | None:
        notice = await notices.get_notice(self.sessions, notice_id)
        if notice is None:
            return None
        mine = await registrations.mine(self.sessions, [notice_id], person_id)
        taken = await registrations.registered_counts(self.sessions, [notice_id])
        return self._item(notice, mine.get(notice_id), taken.get(notice_id, 0))

    async def sign_up(self, notice_id: int, person_id: str) -> SignUpDone:
        done = await registrations.sign_up(self.sessions, notice_id, person_id, self.now())
        if done.outcome == "not_found":
            return SignUpDone(None, "not_found")
        return SignUpDone(await self._item_of(notice_id, person_id), done.outcome,
                          done.position, already=done.already)

    async def withdraw(self, notice_id: int, person_id: str) -> WithdrawDone:
        """Withdraw a sign-up; the first on the waiting list moves up and is told (the worker
        sends the message recorded with the promotion)."""
        withdrawn, _promoted = await registrations.cancel(self.sessions, notice_id, person_id,
                                                          self.now())
        item = await self._item_of(notice_id, person_id) if withdrawn else None
        return WithdrawDone(notice_id, item, withdrawn)
