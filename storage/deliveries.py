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


async def claim(sessions: Sessions, notice_id: int, person_id: str, now: datetime) -> bool:
    """queued -> sending; False when someone else has it or it is done."""
    async with sessions() as session:
        result = await session.execute(
            update(NoticeDelivery)
            .where(NoticeDelivery.notice_id == notice_id, NoticeDelivery.person_id == person_id,
                   NoticeDelivery.status == "queued")
            .values(status="sending", attempts=NoticeDelivery.attempts + 1, updated_at=now))
        await session.commit()
        return result.rowcount == 1  # type: ignore[attr-defined]


async def finish(sessions: Sessions, notice_id: int, person_id: str, status: str, now: datetime,
                 *, channel: str | None = None, errcode: int | None = None,
                 reason: str | None = None) -> None:
    """sending -> `status` (a terminal status, or queued again for a retry)."""
    async with sessions() as session:
        await session.execute(
            update(NoticeDelivery)
            .where(NoticeDelivery.notice_id == notice_id, NoticeDelivery.person_id == person_id,
                   NoticeDelivery.status == "sending")
            .values(status=status, channel=channel, errcode=errcode, reason=reason,
                    updated_at=now))
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


async def facts(sessions: Sessions, person_id: str, template_id: str | None) -> PersonFacts | None:
    async with sessions() as session:
        person = await session.get(Person, person_id)
        if person is None:
            return None
        consents = 0
        if template_id:
            consents = (await session.execute(
                select(SubscribeConsent.remaining).where(
                    SubscribeConsent.person_id == person_id,
                    SubscribeConsent.template_id == template_id))).scalar_one_or_none() or 0
        return PersonFacts(person_id=person.id, channel=person.channel, openid=person.openid,
                           subscribed=person.subscribed, opted_out=person.notices_opt_out,
                           last_message_at=person.last_message_at, consents=consents)


async def attempts(sessions: Sessions, notice_id: int, person_id: str) -> int:
    async with sessions() as session:
        value = (await session.execute(
            select(NoticeDelivery.attempts).where(NoticeDelivery.notice_id == notice_id,
                                                  NoticeDelivery.person_id == person_id))
                 ).scalar_one_or_none()
        return int(value or 0)
