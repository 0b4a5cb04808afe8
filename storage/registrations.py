"""Sign-ups for a notice's training or event, with a capacity and a waiting list.

Every change starts by updating the notice's row, which takes its write lock on both databases
(a row lock on PostgreSQL, the database's write lock on SQLite) before anything is counted: two
people signing up for the last seat at once cannot both get it. Only people the notice concerns
(its audience) can sign up; to anyone else it does not exist. A promotion from the waiting list
records the promoted person's message in the same transaction, so it is never lost.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.notices import KINDS, Audience, signup_open
from storage import deliveries
from storage.db import Sessions, insert_for
from storage.models import Notice, Person, Registration
from storage.notices import audience_query

Outcome = Literal["registered", "waitlisted", "closed", "not_found"]


@dataclass(frozen=True)
class SignUp:
    outcome: Outcome
    position: int | None = None  # place on the waiting list, 1 = next to be promoted
    already: bool = False  # the person had signed up before


async def _lock_notice(session: AsyncSession, notice_id: int) -> Any:
    result = await session.execute(
        update(Notice).where(Notice.id == notice_id).values(updated_at=Notice.updated_at)
        .returning(Notice.status, Notice.capacity, Notice.signup_deadline, Notice.starts_at,
                   Notice.audience, Notice.kind))
    return result.one_or_none()


async def _concerns(session: AsyncSession, audience: dict[str, Any], person_id: str,
                    now: datetime) -> bool:
    query = audience_query(Audience.from_data(audience), now).where(Person.id == person_id)
    return (await session.execute(query.limit(1))).first() is not None


async def _waiting_position(session: AsyncSession, notice_id: int, at: datetime) -> int:
    ahead = await session.execute(select(func.count()).select_from(Registration).where(
        Registration.notice_id == notice_id, Registration.status == "waitlisted",
        Registration.signed_up_at < at))
    return int(ahead.scalar_one()) + 1


async def sign_up(sessions: Sessions, notice_id: int, person_id: str, now: datetime) -> SignUp:
    async with sessions() as session:
        notice = await _lock_notice(session, notice_id)
        if (notice is None or notice.status == "draft" or notice.kind not in KINDS  # a nudge
                or not await _concerns(session, notice.audience, person_id, now)):
            await session.rollback()
            return SignUp("not_found")
        if not signup_open(cancelled=notice.status == "cancelled", starts_at=notice.starts_at,
                           signup_deadline=notice.signup_deadline, now=now):
            await session.rollback()
            return SignUp("closed")
        current = await _registration(session, notice_id, person_id)
        if current is not None and current.status in ("registered", "waitlisted"):
            position = (await _waiting_position(session, notice_id, current.signed_up_at)
                        if current.status == "waitlisted" else None)
            await session.rollback()
            return SignUp(current.status, position, already=True)
        registered = (await session.execute(select(func.count()).select_from(Registration)
                                            .where(Registration.notice_id == notice_id,
                                                   Registration.status == "registered"))
                      ).scalar_one()
        status = ("registered" if notice.capacity is None or registered < notice.capacity
                  else "waitlisted")
        insert = insert_for(session)
        await session.execute(insert(Registration).values(
            notice_id=notice_id, person_id=person_id, status=status, signed_up_at=now,
            updated_at=now).on_conflict_do_update(
            index_elements=[Registration.notice_id, Registration.person_id],
            set_={"status": status, "signed_up_at": now, "updated_at": now}))
        position = (await _waiting_position(session, notice_id, now)
                    if status == "waitlisted" else None)
        await session.commit()
        return SignUp(status, position)  # type: ignore[arg-type]


async def cancel(sessions: Sessions, notice_id: int, person_id: str,
                 now: datetime) -> tuple[bool, str | None]:
    """Withdraw a sign-up: (whether there was one, the person promoted from the waiting list)."""
    async with sessions() as session:
        if await _lock_notice(session, notice_id) is None:
            return False, None
        current = await _registration(session, notice_id, person_id)
        if current is None or current.status == "cancelled":
            await session.rollback()
            return False, None
        await _set_status(session, notice_id, person_id, "cancelled", now)
        promoted = None
        if current.status == "registered":
            promoted = (await session.execute(
                select(Registration.person_id).where(Registration.notice_id == notice_id,
                                                     Registration.status == "waitlisted")
                .order_by(Registration.signed_up_at, Registration.person_id).limit(1))
                        ).scalar_one_or_none()
            if promoted is not None:
                await _set_status(session, notice_id, promoted, "registered", now)
                await deliveries.queue_in(session, notice_id, [promoted], now,
                                          purpose="promoted")
        await session.commit()
        return True, promoted


async def _registration(session: AsyncSession, notice_id: int, person_id: str) -> Any:
    return (await session.execute(
        select(Registration.status, Registration.signed_up_at)
        .where(Registration.notice_id == notice_id, Registration.person_id == person_id))
            ).one_or_none()


async def _set_status(session: AsyncSession, notice_id: int, person_id: str, status: str,
                      now: datetime) -> None:
    await session.execute(
        update(Registration)
        .where(Registration.notice_id == notice_id, Registration.person_id == person_id)
        .values(status=status, updated_at=now))


async def registrations(sessions: Sessions, notice_id: int) -> dict[str, list[str]]:
    """Person ids by status, in sign-up order."""
    async with sessions() as session:
        rows = await session.execute(
            select(Registration.status, Registration.person_id)
            .where(Registration.notice_id == notice_id)
            .order_by(Registration.signed_up_at, Registration.person_id))
        found: dict[str, list[str]] = {}
        for status, person_id in rows:
            found.setdefault(status, []).append(person_id)
        return found


async def statuses_of(sessions: Sessions, notice_id: int,
                      person_ids: Iterable[str]) -> dict[str, str]:
    """Each person's sign-up status for one notice (absent: never signed up)."""
    wanted = list(person_ids)
    if not wanted:
        return {}
    async with sessions() as session:
        rows = await session.execute(
            select(Registration.person_id, Registration.status)
            .where(Registration.notice_id == notice_id, Registration.person_id.in_(wanted)))
        return {person_id: status for person_id, status in rows}


@dataclass(frozen=True)
class Mine:
    """A person's sign-up for one notice."""

    status: str  # registered | waitlisted | cancelled
    position: int | None  # on the waiting list


async def mine(sessions: Sessions, notice_ids: Iterable[int],
               person_id: str) -> dict[int, Mine]:
    """The person's sign-ups for these notices, with their places on the waiting lists."""
    wanted = list(notice_ids)
    if not wanted:
        return {}
    async with sessions() as session:
        rows = (await session.execute(
            select(Registration.notice_id, Registration.status, Registration.signed_up_at)
            .where(Registration.notice_id.in_(wanted), Registration.person_id == person_id))
                ).all()
        found = {}
        for notice_id, status, at in rows:
            position = (await _waiting_position(session, notice_id, at)
                        if status == "waitlisted" else None)
            found[notice_id] = Mine(status, position)
        return found


async def counts(sessions: Sessions, notice_id: int) -> dict[str, int]:
    """Sign-ups of one notice by status."""
    async with sessions() as session:
        rows = await session.execute(
            select(Registration.status, func.count())
            .where(Registration.notice_id == notice_id).group_by(Registration.status))
        return {status: int(n) for status, n in rows}


async def registered_counts(sessions: Sessions, notice_ids: Iterable[int]) -> dict[int, int]:
    """How many are registered (not waiting) for each notice."""
    wanted = list(notice_ids)
    if not wanted:
        return {}
    async with sessions() as session:
        rows = await session.execute(
            select(Registration.notice_id, func.count())
            .where(Registration.notice_id.in_(wanted), Registration.status == "registered")
            .group_by(Registration.notice_id))
        return {notice_id: int(n) for notice_id, n in rows}
