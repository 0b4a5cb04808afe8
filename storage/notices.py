"""Notices in the database: create, schedule, cancel, and the audience a notice's filters select,
counted for the preview and streamed in batches for the fan-out (memory flat in its size).

A person belongs to the enterprise they last submitted for (`persons.enterprise_id`), or before
that to the one their draft in progress names; the geographic, industry and level filters apply
to that enterprise and its latest submission.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import ColumnElement, Select, func, literal, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from flows.notices import KINDS, Audience, NoticeSpec, Purpose
from flows.statuses import STATUSES
from storage.activity import DRAFT_LIFETIME
from storage.db import Sessions, insert_for
from storage.enterprise_status import latest_submission
from storage.models import (
    DraftActivity,
    Enterprise,
    Notice,
    NoticeDelivery,
    Person,
    Registration,
    Submission,
)
from storage.types import UTCDateTime

# Allowed status changes; anything else is refused.
TRANSITIONS = {
    "draft": {"scheduled", "cancelled"},
    "scheduled": {"scheduled", "sending", "cancelled"},
    "sending": {"sent", "cancelled"},
}


class NoticeStateError(ValueError):
    """The notice cannot go from its status to the one asked for."""


@dataclass(frozen=True)
class StoredNotice:
    id: int
    kind: str
    title: str
    body: str
    starts_at: datetime
    ends_at: datetime | None
    place: str | None
    link: str | None
    signup_deadline: datetime | None
    capacity: int | None
    audience: dict[str, Any]
    status: str
    send_at: datetime | None
    created_at: datetime
    paused_until: datetime | None = None

    def paused(self, now: datetime) -> bool:
        return self.paused_until is not None and self.paused_until > now


@dataclass(frozen=True)
class AudienceMember:
    person_id: str
    channel: str
    openid: str
    subscribed: bool
    opted_out: bool
    last_message_at: datetime | None


def _stored(row: Notice) -> StoredNotice:
    return StoredNotice(
        id=row.id, kind=row.kind, title=row.title, body=row.body, starts_at=row.starts_at,
        ends_at=row.ends_at, place=row.place, link=row.link,
        signup_deadline=row.signup_deadline, capacity=row.capacity, audience=row.audience,
        status=row.status, send_at=row.send_at, created_at=row.created_at,
        paused_until=row.paused_until)


async def create_notice(sessions: Sessions, spec: NoticeSpec, now: datetime) -> StoredNotice:
    async with sessions() as session:
        row = Notice(kind=spec.kind, title=spec.title, body=spec.body, starts_at=spec.starts_at,
                     ends_at=spec.ends_at, place=spec.place, link=spec.link,
                     signup_deadline=spec.signup_deadline, capacity=spec.capacity,
                     audience=spec.audience.as_data(), status="draft", created_at=now,
                     updated_at=now)
        session.add(row)
        await session.commit()
        return _stored(row)


async def get_notice(sessions: Sessions, notice_id: int) -> StoredNotice | None:
    async with sessions() as session:
        row = await session.get(Notice, notice_id)
        return None if row is None else _stored(row)


async def list_notices(sessions: Sessions, *, limit: int = 100) -> list[StoredNotice]:
    async with sessions() as session:
        rows = await session.scalars(select(Notice).where(Notice.kind.in_(KINDS))  # no nudges
                                     .order_by(Notice.id.desc()).limit(limit))
        return [_stored(row) for row in rows]


async def change_status(sessions: Sessions, notice_id: int, status: str, now: datetime, *,
                        send_at: datetime | None = None) -> StoredNotice:
    """Move a notice to `status` (compare-and-set on the current status, so two admins or two
    workers cannot both start a campaign)."""
    async with sessions() as session:
        row = await session.get(Notice, notice_id)
        if row is None:
            raise LookupError(f"no notice {notice_id}")
        current = row.status
        if status not in TRANSITIONS.get(current, set()):
            raise NoticeStateError(f"notice {notice_id} is {current}; it cannot become {status}")
        values: dict[str, Any] = {"status": status, "updated_at": now}
        if send_at is not None:
            values["send_at"] = send_at
        result = await session.execute(
            update(Notice).where(Notice.id == notice_id, Notice.status == current)
            .values(**values))
        if result.rowcount != 1:  # type: ignore[attr-defined]
            await session.rollback()
            raise NoticeStateError(f"notice {notice_id} changed meanwhile")
        if status == "cancelled":
            # Whoever signed up is told, in the same transaction as the cancellation.
            await _queue_for_registrants(session, notice_id, "cancelled", now,
                                         ("registered", "waitlisted"))
        await session.commit()
        await session.refresh(row)
        return _stored(row)


async def _queue_for_registrants(session: AsyncSession, notice_id: int, purpose: Purpose,
                                 now: datetime, statuses: tuple[str, ...]) -> None:
    """One personal message to each registrant in `statuses` (insert-select: one statement
    whatever their number; a message already queued stays as it is)."""
    chosen = select(Registration.notice_id, literal(purpose), Registration.person_id,
                    literal("queued"), literal(0), literal(now, UTCDateTime())).where(
        Registration.notice_id == notice_id, Registration.status.in_(statuses))
    insert = insert_for(session)
    await session.execute(insert(NoticeDelivery).from_select(
        ["notice_id", "purpose", "person_id", "status", "attempts", "updated_at"], chosen)
        .on_conflict_do_nothing(index_elements=[NoticeDelivery.notice_id,
                                                NoticeDelivery.purpose,
                                                NoticeDelivery.person_id]))


async def pause(sessions: Sessions, notice_id: int, until: datetime, errcode: int) -> None:
    """WeChat refused for quota (45009): send nothing of this notice before `until`."""
    async with sessions() as session:
        await session.execute(update(Notice).where(
            Notice.id == notice_id,
            (Notice.paused_until.is_(None)) | (Notice.paused_until < until))
            .values(paused_until=until, pause_errcode=errcode))
        await session.commit()


async def resume_due(sessions: Sessions, now: datetime) -> list[int]:
    """Paused notices whose pause is over, each taken by exactly one caller (compare-and-set
    on the pause), who then queues their deliveries again."""
    async with sessions() as session:
        rows = (await session.execute(select(Notice.id, Notice.paused_until).where(
            Notice.paused_until.is_not(None), Notice.paused_until <= now))).all()
        resumed = []
        for notice_id, until in rows:
            result = await session.execute(update(Notice).where(
                Notice.id == notice_id, Notice.paused_until == until)
                .values(paused_until=None, pause_errcode=None))
            if result.rowcount == 1:  # type: ignore[attr-defined]
                resumed.append(notice_id)
        await session.commit()
        return resumed


async def plan_reminders(sessions: Sessions, now: datetime, before: timedelta) -> list[int]:
    """Queue the reminder of every notice starting within `before` to its registrants, once
    per notice (the flag and the messages in one transaction). Returns the notices planned."""
    async with sessions() as session:
        due = list(await session.scalars(select(Notice.id).where(
            Notice.reminders_planned.is_(False), Notice.status.in_(("scheduled", "sending",
                                                                    "sent")),
            Notice.starts_at > now, Notice.starts_at <= now + before)))
        planned = []
        for notice_id in due:
            result = await session.execute(update(Notice).where(
                Notice.id == notice_id, Notice.reminders_planned.is_(False))
                .values(reminders_planned=True))
            if result.rowcount == 1:  # type: ignore[attr-defined]
                await _queue_for_registrants(session, notice_id, "reminder", now,
                                             ("registered",))
                planned.append(notice_id)
        await session.commit()
        return planned


async def set_opt_out(sessions: Sessions, person_id: str, opted_out: bool) -> bool:
    """退订通知 / 订阅通知; False when the person is unknown."""
    async with sessions() as session:
        result = await session.execute(
            update(Person).where(Person.id == person_id).values(notices_opt_out=opted_out))
        await session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


def audience_query(audience: Audience, now: datetime) -> Select[Any]:
    """The channel persons a notice's filters select (not yet the channel rules).

    A person's enterprise is the one they last submitted for; before their first submission,
    the enterprise of the credit code their draft in progress names (when it is in the
    archive or the roster). Status: `submitted` once they submitted; `in_progress` with a
    draft touched within its lifetime before `now`; `not_started` otherwise.
    """
    query = select(Person.id, Person.channel, Person.openid, Person.subscribed,
                   Person.notices_opt_out, Person.last_message_at)
    needs_enterprise = bool(audience.cities or audience.counties or audience.industries
                            or audience.credit_codes or audience.level_min is not None
                            or audience.level_max is not None)
    statuses = set(audience.statuses)
    filtered = bool(statuses) and statuses != set(STATUSES)
    if filtered or needs_enterprise:
        cutoff = now - DRAFT_LIFETIME
        query = query.outerjoin(DraftActivity, (DraftActivity.person_id == Person.id)
                                & (DraftActivity.last_active_at > cutoff))
        in_progress = Person.enterprise_id.is_(None) & DraftActivity.person_id.is_not(None)
        wanted: list[ColumnElement[bool]] = []
        if "submitted" in statuses:
            wanted.append(Person.enterprise_id.is_not(None))
        if "in_progress" in statuses:
            wanted.append(in_progress)
        if "not_started" in statuses:
            wanted.append(Person.enterprise_id.is_(None) & DraftActivity.person_id.is_(None))
        if filtered:
            query = query.where(or_(*wanted))
    if needs_enterprise:
        named = aliased(Enterprise)  # the enterprise a draft names, by its credit code
        query = query.join(Enterprise, Enterprise.id == func.coalesce(
            Person.enterprise_id,
            select(named.id).where(named.credit_code == DraftActivity.credit_code)
            .scalar_subquery()))
    if audience.cities:
        query = query.where(Enterprise.city.in_(audience.cities))
    if audience.counties:
        query = query.where(Enterprise.county.in_(audience.counties))
    if audience.industries:
        query = query.where(Enterprise.industry.in_(audience.industries))
    if audience.credit_codes:
        query = query.where(Enterprise.credit_code.in_(audience.credit_codes))
    if audience.level_min is not None:
        query = query.where(latest_submission(Submission.level) >= audience.level_min)
    if audience.level_max is not None:
        query = query.where(latest_submission(Submission.level) <= audience.level_max)
    return query


async def count_audience(sessions: Sessions, audience: Audience,
                         now: datetime | None = None) -> int:
    async with sessions() as session:
        inner = audience_query(audience, now or datetime.now(UTC)).subquery()
        return int((await session.execute(select(func.count()).select_from(inner))).scalar_one())


async def stream_audience(sessions: Sessions, audience: Audience, *, batch: int = 1000,
                          after: str = "", now: datetime | None = None,
                          ) -> AsyncIterator[list[AudienceMember]]:
    """The audience in batches, keyset-paginated by person id (from just past `after`): one
    batch in memory at a time."""
    base = audience_query(audience, now or datetime.now(UTC))
    while True:
        async with sessions() as session:
            rows = (await session.execute(
                base.where(Person.id > after).order_by(Person.id).limit(batch))).all()
        if not rows:
            return
        yield [AudienceMember(person_id=r.id, channel=r.channel, openid=r.openid,
                              subscribed=r.subscribed, opted_out=r.notices_opt_out,
                              last_message_at=r.last_message_at) for r in rows]
        after = rows[-1].id


async def due_notices(sessions: Sessions, now: datetime) -> list[StoredNotice]:
    """Scheduled notices whose time has come, and campaigns already sending (to resume)."""
    async with sessions() as session:
        rows = await session.scalars(select(Notice).where(
            ((Notice.status == "scheduled") & (Notice.send_at <= now))
            | (Notice.status == "sending")).order_by(Notice.id))
        return [_stored(row) for row in rows]


async def plan_progress(sessions: Sessions, notice_id: int) -> tuple[str, bool]:
    async with sessions() as session:
        row = (await session.execute(select(Notice.planned_until, Notice.planned)
                                     .where(Notice.id == notice_id))).one()
        return row.planned_until or "", row.planned


async def save_plan_progress(sessions: Sessions, notice_id: int, planned_until: str, *,
                             done: bool) -> None:
    async with sessions() as session:
        await session.execute(update(Notice).where(Notice.id == notice_id).values(
            planned_until=planned_until, planned=done))
        await session.commit()


async def upcoming_for(sessions: Sessions, person_id: str, now: datetime,
                       audience_of: Any) -> list[StoredNotice]:
    """Notices not cancelled and not started yet whose audience includes `person_id`
    (`audience_of` turns a stored notice's filters back into an `Audience`)."""
    async with sessions() as session:
        rows = list(await session.scalars(select(Notice).where(
            Notice.status.in_(("scheduled", "sending", "sent")), Notice.starts_at > now)
            .order_by(Notice.starts_at, Notice.id).limit(50)))
        found = []
        for row in rows:
            query = audience_query(audience_of(row.audience), now).where(
                Person.id == person_id)
            if (await session.execute(query.limit(1))).first() is not None:
                found.append(_stored(row))
        return found
