"""Per-recipient delivery records of notices: the source of truth for "sent once".

A delivery moves queued -> sending -> sent | failed | skipped. Only a compare-and-set from
queued to sending lets a worker send, so a queue entry delivered twice (after a restart or a
re-plan) never sends twice. A delivery left in `sending` by a worker that died is `unknown`:
WeChat gives no idempotency key, so whether it arrived cannot be known.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import func, select, update

from storage.archive import Sessions, insert_for
from storage.models import NoticeDelivery, Person, SubscribeConsent

TERMINAL = frozenset({"sent", "failed", "skipped", "unknown"})


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
                now: datetime) -> None:
    """Record deliveries as queued; existing ones (a re-planned batch) are left as they are."""
    rows = [{"notice_id": notice_id, "person_id": p, "status": "queued", "attempts": 0,
             "updated_at": now} for p in person_ids]
    if not rows:
        return
    async with sessions() as session:
        insert = insert_for(session)
        await session.execute(insert(NoticeDelivery).values(rows).on_conflict_do_nothing(
            index_elements=[NoticeDelivery.notice_id, NoticeDelivery.person_id]))
        await session.commit()


async def stale_sending(sessions: Sessions, before: datetime,
                        limit: int = 1000) -> list[tuple[int, str]]:
    """Deliveries stuck in `sending` since before `before`: their worker is gone."""
    async with sessions() as session:
        rows = await session.execute(
            select(NoticeDelivery.notice_id, NoticeDelivery.person_id)
            .where(NoticeDelivery.status == "sending", NoticeDelivery.updated_at < before)
            .limit(limit))
        return [(n, p) for n, p in rows]


async def resolve_stale(sessions: Sessions, notice_id: int, person_id: str, *, resend: bool,
                        now: datetime) -> bool:
    """A send in flight when its worker died: send again (queued) or record it as unknown."""
    async with sessions() as session:
        result = await session.execute(
            update(NoticeDelivery)
            .where(NoticeDelivery.notice_id == notice_id, NoticeDelivery.person_id == person_id,
                   NoticeDelivery.status == "sending")
            .values(status="queued" if resend else "unknown", reason="worker_lost",
                    updated_at=now))
        await session.commit()
        return result.rowcount == 1  # type: ignore[attr-defined]


async def counts(sessions: Sessions, notice_id: int) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(NoticeDelivery.status, func.count())
            .where(NoticeDelivery.notice_id == notice_id).group_by(NoticeDelivery.status))
        return {status: int(n) for status, n in rows}


async def attempts(sessions: Sessions, notice_id: int, person_id: str) -> int:
    async with sessions() as session:
        value = (await session.execute(
            select(NoticeDelivery.attempts).where(NoticeDelivery.notice_id == notice_id,
                                                  NoticeDelivery.person_id == person_id))
                 ).scalar_one_or_none()
        return int(value or 0)


async def claim_many(sessions: Sessions, notice_id: int, person_ids: Iterable[str],
                     now: datetime) -> set[str]:
    """queued -> sending for many at once (one statement); the persons this call got."""
    wanted = list(dict.fromkeys(person_ids))
    if not wanted:
        return set()
    async with sessions() as session:
        rows = await session.execute(
            update(NoticeDelivery)
            .where(NoticeDelivery.notice_id == notice_id,
                   NoticeDelivery.person_id.in_(wanted), NoticeDelivery.status == "queued")
            .values(status="sending", attempts=NoticeDelivery.attempts + 1, updated_at=now)
            .returning(NoticeDelivery.person_id))
        claimed = {person_id for (person_id,) in rows}
        await session.commit()
        return claimed


async def facts_many(sessions: Sessions, person_ids: Iterable[str],
                     template_id: str | None) -> dict[str, PersonFacts]:
    wanted = list(person_ids)
    if not wanted:
        return {}
    consent = (select(SubscribeConsent.remaining)
               .where(SubscribeConsent.person_id == Person.id,
                      SubscribeConsent.template_id == (template_id or ""))
               .scalar_subquery())
    async with sessions() as session:
        rows = await session.execute(
            select(Person.id, Person.channel, Person.openid, Person.subscribed,
                   Person.notices_opt_out, Person.last_message_at, consent)
            .where(Person.id.in_(wanted)))
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
                      now: datetime) -> None:
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
                .where(NoticeDelivery.notice_id == notice_id,
                       NoticeDelivery.person_id.in_(persons),
                       NoticeDelivery.status == "sending")
                .values(status=status, channel=channel, errcode=errcode, reason=reason,
                        updated_at=now))
        await session.commit()
