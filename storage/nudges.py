"""Nudges (催办): a prompt to the people of an unfinished assessment, sent by a commissioner or
automatically once a draft has been idle for days.

At most one nudge per enterprise per `NUDGE_GAP`, whoever sends it: the enterprise's latest
nudge is claimed with one conditional upsert, so of two commissioners nudging at once only one
gets each enterprise. The messages are deliveries (purpose `nudge`) of a notice of kind
`nudge` that records who nudged; the notice workers send them under the same channel rules as
any notice, once per person.

An enterprise's people are those whose draft named its credit code (the archive's
`draft_activity`, expired drafts included: they are who started). An enterprise nobody has
named yet has no one to nudge on WeChat: its roster contact is for a phone call.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, exists, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.commissioners import NUDGE_DAYS, Scope
from flows.notices import Purpose
from storage.activity import DRAFT_LIFETIME
from storage.db import Sessions, insert_for
from storage.deliveries import queue_in
from storage.enterprise_status import in_scope
from storage.models import DraftActivity, Enterprise, EnterpriseNudge, Notice, Submission

NUDGE_GAP = timedelta(days=NUDGE_DAYS)
KIND = "nudge"
PURPOSE: Purpose = "nudge"
CLAIM_BATCH = 1000  # enterprises per statement (4 parameters each)


@dataclass(frozen=True)
class Nudger:
    """Who nudges: a commissioner (their id, name and area), or None for the automatic one."""

    commissioner_id: int | None
    name: str
    area: str


@dataclass(frozen=True)
class NudgeResult:
    notice_id: int | None  # None: nothing was sent
    nudged: int  # enterprises whose people are now being prompted
    people: int  # messages queued
    recent: int  # skipped: nudged within NUDGE_GAP
    no_contact: int  # skipped: nobody on WeChat has named it yet
    submitted: int  # skipped: already submitted (asked for one enterprise by credit code)


def _submitted() -> Any:
    return exists().where(Submission.enterprise_id == Enterprise.id)


async def _notice(session: AsyncSession, nudger: Nudger, now: datetime,
                  audience: dict[str, Any]) -> int:
    """The notice whose deliveries carry the nudge (a record, never a campaign: it is `sent`
    from the start and starts now, so no list of what is ahead shows it)."""
    row = Notice(kind=KIND, title=nudger.name[:60], body=nudger.area[:1000], starts_at=now,
                 audience=audience, status="sent", planned=True, reminders_planned=True,
                 created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    return row.id


async def _claim(session: AsyncSession, enterprise_ids: Sequence[int], notice_id: int,
                 commissioner_id: int | None, now: datetime, gap: timedelta) -> set[int]:
    """The enterprises of `enterprise_ids` not nudged within `gap`, now marked nudged. Ids in
    ascending order, so that concurrent claims lock rows in one order (no deadlock)."""
    insert = insert_for(session)
    ordered = sorted(enterprise_ids)
    claimed: set[int] = set()
    for start in range(0, len(ordered), CLAIM_BATCH):  # within SQLite's bound parameters
        statement = insert(EnterpriseNudge).values([
            {"enterprise_id": e, "nudged_at": now, "notice_id": notice_id,
             "commissioner_id": commissioner_id} for e in ordered[start:start + CLAIM_BATCH]])
        statement = statement.on_conflict_do_update(
            index_elements=[EnterpriseNudge.enterprise_id],
            set_={"nudged_at": statement.excluded.nudged_at,
                  "notice_id": statement.excluded.notice_id,
                  "commissioner_id": statement.excluded.commissioner_id},
            where=EnterpriseNudge.nudged_at <= now - gap)
        rows = await session.execute(statement.returning(EnterpriseNudge.enterprise_id))
        claimed.update(int(e) for e in rows.scalars())
    return claimed


async def nudge_unfinished(sessions: Sessions, scope: Scope, nudger: Nudger, now: datetime, *,
                           credit_code: str | None = None,
                           gap: timedelta = NUDGE_GAP) -> NudgeResult | None:
    """Nudge every enterprise in `scope` that has not submitted, or only the one with
    `credit_code` (None when it is not in `scope`: the caller learns nothing of it)."""
    query = (select(Enterprise.id, _submitted().label("submitted"), DraftActivity.person_id)
             .outerjoin(DraftActivity, DraftActivity.credit_code == Enterprise.credit_code)
             .where(in_scope(scope)))
    if credit_code is not None:
        query = query.where(Enterprise.credit_code == credit_code)
    else:
        query = query.where(~_submitted())
    people: dict[int, list[str]] = {}
    submitted: set[int] = set()
    async with sessions() as session:
        for enterprise_id, done, person_id in await session.execute(query):
            if done:
                submitted.add(enterprise_id)
                continue
            found = people.setdefault(enterprise_id, [])
            if person_id is not None:
                found.append(person_id)
    if credit_code is not None and not people and not submitted:
        return None
    reachable = [e for e, persons in people.items() if persons]
    no_contact = len(people) - len(reachable)
    if not reachable:
        return NudgeResult(None, 0, 0, 0, no_contact, len(submitted))
    # A separate transaction that starts by writing: SQLite then waits for another writer
    # instead of failing a read transaction that turns into a write.
    async with sessions() as session:
        notice_id = await _notice(session, nudger, now, {
            "nudge": "commissioner" if nudger.commissioner_id is not None else "idle",
            "commissioner_id": nudger.commissioner_id,
            "credit_code": credit_code})
        claimed = await _claim(session, reachable, notice_id, nudger.commissioner_id, now, gap)
        recipients = sorted({p for e in claimed for p in people[e]})
        if not claimed:
            await session.rollback()
            return NudgeResult(None, 0, 0, len(reachable), no_contact, len(submitted))
        await queue_in(session, notice_id, recipients, now, purpose=PURPOSE)
        await session.commit()
    return NudgeResult(notice_id, len(claimed), len(recipients), len(reachable) - len(claimed),
                       no_contact, len(submitted))


async def remind_idle(sessions: Sessions, now: datetime, idle: timedelta, *,
                      gap: timedelta = NUDGE_GAP, limit: int = 1000) -> NudgeResult:
    """The automatic reminder: people whose draft has been idle for `idle` (and still lives)
    and who were not reminded in this idle period. A draft whose enterprise was nudged within
    `gap` counts as reminded: that nudge was this period's prompt."""
    due = ((DraftActivity.last_active_at <= now - idle)
           & (DraftActivity.last_active_at > now - DRAFT_LIFETIME)
           & (DraftActivity.idle_reminded_at.is_(None)
              | (DraftActivity.idle_reminded_at < DraftActivity.last_active_at)))
    async with sessions() as session:
        # Claimed first (one statement): two workers never remind the same person.
        waiting = (select(DraftActivity.person_id).where(due)
                   .order_by(DraftActivity.last_active_at).limit(limit))
        rows = (await session.execute(
            update(DraftActivity).where(DraftActivity.person_id.in_(waiting), due)
            .values(idle_reminded_at=now)
            .returning(DraftActivity.person_id, DraftActivity.credit_code))).all()
        if not rows:
            await session.rollback()
            return NudgeResult(None, 0, 0, 0, 0, 0)
        codes = {code for _person, code in rows if code}
        enterprises: dict[str, int] = {code: id_ for code, id_ in (await session.execute(
            select(Enterprise.credit_code, Enterprise.id)
            .where(Enterprise.credit_code.in_(codes)))).all()} if codes else {}
        notice_id = await _notice(session, Nudger(None, "", ""), now, {"nudge": "idle"})
        claimed = await _claim(session, list(set(enterprises.values())), notice_id, None, now,
                               gap)
        recipients = sorted(person for person, code in rows
                            if code not in enterprises or enterprises[code] in claimed)
        recent = len(rows) - len(recipients)
        if not recipients:  # then nothing refers to the notice either
            await session.execute(delete(Notice).where(Notice.id == notice_id))
            await session.commit()  # the people's claims stand: they were nudged recently
            return NudgeResult(None, 0, 0, recent, 0, 0)
        await queue_in(session, notice_id, recipients, now, purpose=PURPOSE)
        await session.commit()
    return NudgeResult(notice_id, len(claimed), len(recipients), recent, 0, 0)
