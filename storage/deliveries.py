"""Per-recipient delivery records of notices: the source of truth for "sent once".

A delivery is one message of a notice to one person for one purpose: the campaign's `notice`,
a message about the person's own sign-up (`reminder`, `promoted`, `cancelled`), a prompt to
finish their assessment (`nudge`, of a notice of that kind: storage.nudges) or a new lead told
to the provider's WeChat contact (`lead`, of a notice of that kind: storage.leads). It moves
queued -> sending -> sent | failed | skipped. Only a compare-and-set from queued to sending lets
a worker send, so a queue entry delivered twice (after a restart or a re-plan) never sends
twice. A delivery left in `sending` by a worker that died is `unknown`: WeChat gives no
idempotency key, so whether it arrived cannot be known.

Campaign deliveries reach the workers through the Redis queue; personal ones are few and are
picked straight from here (`personal_due`), so whoever records one needs no queue.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, select, text, tuple_, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.notices import PURPOSES, Purpose
from storage.db import Sessions, insert_for
from storage.models import Notice, NoticeDelivery, Person, SubscribeConsent

PERSONAL = PURPOSES[1:]  # picked from their records, not queued on the stream


@dataclass(frozen=True)
class PersonFacts:
    """What the channel rules need to know about one recipient."""

    person_id: str
    channel: str
    openid: str
    subscribed: bool
    opted_out: bool
    last_message_at: datetime | None
    consents: int


async def queue(sessions: Sessions, notice_id: int, person_ids: Iterable[str],
                now: datetime, *, purpose: Purpose = "notice") -> None:
    """Record deliveries as queued; existing ones (a re-planned batch) are left as they are."""
    async with sessions() as session:
        await queue_in(session, notice_id, person_ids, now, purpose=purpose)
        await session.commit()


async def queue_in(session: AsyncSession, notice_id: int, person_ids: Iterable[str],
                   now: datetime, *, purpose: Purpose) -> None:
    """`queue` inside the caller's transaction (a sign-up change and its message together)."""
    rows = [{"notice_id": notice_id, "purpose": purpose, "person_id": p, "status": "queued",
             "attempts": 0, "updated_at": now} for p in person_ids]
    if rows:
        # One cached statement with many parameter sets (the drivers batch them), rather than
        # a statement with a VALUES row per person compiled anew for every batch.
        insert = insert_for(session)
        await session.execute(insert(NoticeDelivery).on_conflict_do_nothing(
            index_elements=[NoticeDelivery.notice_id, NoticeDelivery.purpose,
                            NoticeDelivery.person_id]), rows)


async def refresh_statistics(sessions: Sessions) -> None:
    """After a campaign is queued: PostgreSQL's planner learns the table's new size at once
    (autovacuum would take up to a minute, and until then it filters a campaign's every
    delivery for each claim instead of looking the 64 up by key). SQLite needs nothing: the
    claim's conditions leave it only the key."""
    async with sessions() as session:
        if session.get_bind().dialect.name == "postgresql":
            await session.execute(text("ANALYZE notice_deliveries"))
            await session.commit()


Key = tuple[int, Purpose, str]  # notice id, purpose, person id


async def stale_sending(sessions: Sessions, before: datetime, limit: int = 1000) -> list[Key]:
    """Deliveries stuck in `sending` since before `before`: their worker is gone."""
    async with sessions() as session:
        rows = await session.execute(
            select(NoticeDelivery.notice_id, NoticeDelivery.purpose, NoticeDelivery.person_id)
            .where(NoticeDelivery.status == "sending", NoticeDelivery.updated_at < before)
            .limit(limit))
        return [(n, k, p) for n, k, p in rows]


async def lost_entries(sessions: Sessions, before: datetime, now: datetime, *,
                       limit: int = 1000) -> list[tuple[int, str]]:
    """Campaign deliveries queued and untouched since `before`, for a caller who saw the queue
    empty: their entries are gone (Redis lost its stream). Each one returned is touched, so it
    comes back at most once per period."""
    waiting = (select(NoticeDelivery.notice_id, NoticeDelivery.purpose, NoticeDelivery.person_id)
               .where(NoticeDelivery.status == "queued", NoticeDelivery.updated_at < before,
                      NoticeDelivery.purpose == "notice")
               .order_by(NoticeDelivery.updated_at).limit(limit))
    async with sessions() as session:
        rows = await session.execute(
            update(NoticeDelivery)
            .where(tuple_(NoticeDelivery.notice_id, NoticeDelivery.purpose,
                          NoticeDelivery.person_id).in_(waiting))
            .values(updated_at=now)
            .returning(NoticeDelivery.notice_id, NoticeDelivery.person_id))
        found = [(n, p) for n, p in rows]
        await session.commit()
        return found


async def personal_due(sessions: Sessions, now: datetime, *, limit: int) -> list[Key]:
    """Queued personal messages (sign-up news, nudges, leads) of notices not paused,
    oldest first. Claiming them is still a compare-and-set: several workers may see the same."""
    async with sessions() as session:
        rows = await session.execute(
            select(NoticeDelivery.notice_id, NoticeDelivery.purpose, NoticeDelivery.person_id)
            .join(Notice, Notice.id == NoticeDelivery.notice_id)
            .where(NoticeDelivery.status == "queued", NoticeDelivery.purpose.in_(PERSONAL),
                   NoticeDelivery.updated_at <= now,
                   Notice.paused_until.is_(None) | (Notice.paused_until <= now))
            .order_by(NoticeDelivery.updated_at).limit(limit))
        return [(n, k, p) for n, k, p in rows]


async def queued_of(sessions: Sessions, notice_id: int, *,
                    batch: int = 1000) -> AsyncIterator[list[str]]:
    """A campaign's queued recipients in batches (to queue them again after a pause)."""
    after = ""
    while True:
        async with sessions() as session:
            rows = list(await session.scalars(
                select(NoticeDelivery.person_id)
                .where(NoticeDelivery.notice_id == notice_id, NoticeDelivery.purpose == "notice",
                       NoticeDelivery.status == "queued", NoticeDelivery.person_id > after)
                .order_by(NoticeDelivery.person_id).limit(batch)))
        if not rows:
            return
        yield rows
        after = rows[-1]


def _is(notice_id: int, purpose: Purpose, person_id: str) -> tuple[Any, ...]:
    return (NoticeDelivery.notice_id == notice_id, NoticeDelivery.purpose == purpose,
            NoticeDelivery.person_id == person_id)


async def resolve_stale(sessions: Sessions, notice_id: int, person_id: str, *, resend: bool,
                        now: datetime, purpose: Purpose = "notice") -> bool:
    """A send in flight when its worker died: send again (queued) or record it as unknown."""
    async with sessions() as session:
        result = await session.execute(
            update(NoticeDelivery)
            .where(*_is(notice_id, purpose, person_id), NoticeDelivery.status == "sending")
            .values(status="queued" if resend else "unknown", reason="worker_lost",
                    updated_at=now))
        await session.commit()
        return result.rowcount == 1  # type: ignore[attr-defined]


async def counts(sessions: Sessions, notice_id: int, *,
                 purpose: Purpose = "notice") -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(NoticeDelivery.status, func.count())
            .where(NoticeDelivery.notice_id == notice_id, NoticeDelivery.purpose == purpose)
            .group_by(NoticeDelivery.status))
        return {status: int(n) for status, n in rows}


async def pending(sessions: Sessions, notice_id: int) -> bool:
    """Whether any campaign delivery of the notice is still queued or sending (an index
    lookup, whatever the campaign's size)."""
    async with sessions() as session:
        found = await session.execute(
            select(NoticeDelivery.person_id)
            .where(NoticeDelivery.notice_id == notice_id,
                   NoticeDelivery.status.in_(("queued", "sending")),
                   NoticeDelivery.purpose == "notice").limit(1))
        return found.first() is not None


async def counts_by_purpose(sessions: Sessions, notice_id: int) -> dict[str, dict[str, int]]:
    """Statuses counted per purpose, for the admin's view of a notice."""
    async with sessions() as session:
        rows = await session.execute(
            select(NoticeDelivery.purpose, NoticeDelivery.status, func.count())
            .where(NoticeDelivery.notice_id == notice_id)
            .group_by(NoticeDelivery.purpose, NoticeDelivery.status))
        found: dict[str, dict[str, int]] = {}
        for purpose, status, n in rows:
            found.setdefault(purpose, {})[status] = int(n)
        return found


@dataclass(frozen=True)
class Claim:
    """A delivery this worker may now send: which try this is, and the person's facts (None:
    not a known person)."""

    attempts: int
    facts: PersonFacts | None


def claim_statement(notice_id: int, purpose: Purpose, person_ids: list[str],
                    now: datetime) -> Any:
    return (update(NoticeDelivery)
            .where(NoticeDelivery.notice_id == notice_id, NoticeDelivery.purpose == purpose,
                   NoticeDelivery.person_id.in_(person_ids),
                   # Not `status == "queued"`: SQLite would then search the status index and
                   # walk every queued delivery of the campaign; through the key it is one
                   # lookup per person, however large the campaign.
                   func.coalesce(NoticeDelivery.status, "") == "queued")
            .values(status="sending", attempts=NoticeDelivery.attempts + 1, updated_at=now)
            .returning(NoticeDelivery.person_id, NoticeDelivery.attempts))


async def claim_many(sessions: Sessions, notice_id: int, person_ids: Iterable[str],
                     now: datetime, *, purpose: Purpose = "notice",
                     template_id: str | None = None) -> dict[str, Claim]:
    """queued -> sending for many at once (one statement), with what the channel rules need to
    know of each person this call got, in the same transaction."""
    wanted = list(dict.fromkeys(person_ids))
    if not wanted:
        return {}
    async with sessions() as session:
        rows = await session.execute(claim_statement(notice_id, purpose, wanted, now))
        attempts = {person_id: int(n) for person_id, n in rows}
        facts = await _facts(session, list(attempts), template_id) if attempts else {}
        await session.commit()
        return {person_id: Claim(n, facts.get(person_id)) for person_id, n in attempts.items()}


async def _facts(session: AsyncSession, person_ids: list[str],
                 template_id: str | None) -> dict[str, PersonFacts]:
    consent = (select(SubscribeConsent.remaining)
               .where(SubscribeConsent.person_id == Person.id,
                      SubscribeConsent.template_id == (template_id or ""))
               .scalar_subquery())
    rows = await session.execute(
        select(Person.id, Person.channel, Person.openid, Person.subscribed,
               Person.notices_opt_out, Person.last_message_at, consent)
        .where(Person.id.in_(person_ids)))
    return {r[0]: PersonFacts(person_id=r[0], channel=r[1], openid=r[2], subscribed=r[3],
                              opted_out=r[4], last_message_at=r[5], consents=r[6] or 0)
            for r in rows}


@dataclass(frozen=True)
class Outcome:
    person_id: str
    status: str  # a terminal status, or queued for another try
    channel: str | None = None
    errcode: int | None = None
    reason: str | None = None


async def finish_many(sessions: Sessions, notice_id: int, outcomes: Iterable[Outcome],
                      now: datetime, *, purpose: Purpose = "notice") -> None:
    """sending -> each outcome's status, in one transaction (one statement per kind)."""
    groups: dict[tuple[str, str | None, int | None, str | None], list[str]] = {}
    for o in outcomes:
        groups.setdefault((o.status, o.channel, o.errcode, o.reason), []).append(o.person_id)
    if not groups:
        return
    async with sessions() as session:
        for (status, channel, errcode, reason), persons in groups.items():
            await session.execute(
                update(NoticeDelivery)
                .where(NoticeDelivery.notice_id == notice_id, NoticeDelivery.purpose == purpose,
                       NoticeDelivery.person_id.in_(persons),
                       NoticeDelivery.status == "sending")
                .values(status=status, channel=channel, errcode=errcode, reason=reason,
                        updated_at=now))
        await session.commit()
