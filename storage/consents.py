"""Mini-program subscribe-message consents: WeChat allows one send of a template per acceptance
(一次性订阅), so every acceptance adds one and every send takes one away, atomically.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from sqlalchemy import select, update

from storage.db import Sessions, insert_for
from storage.models import SubscribeConsent


async def add_consents(sessions: Sessions, person_id: str, template_ids: Iterable[str],
                       at: datetime) -> dict[str, int]:
    """One more allowed send of each template (duplicates count once); the new balances."""
    wanted = sorted(set(template_ids))
    async with sessions() as session:
        insert = insert_for(session)
        for template_id in wanted:
            statement = insert(SubscribeConsent).values(
                person_id=person_id, template_id=template_id, remaining=1, updated_at=at)
            await session.execute(statement.on_conflict_do_update(
                index_elements=[SubscribeConsent.person_id, SubscribeConsent.template_id],
                set_={"remaining": SubscribeConsent.remaining + 1, "updated_at": at}))
        await session.commit()
    balances = await consent_balances(sessions, person_id)
    return {template_id: balances[template_id] for template_id in wanted}


async def consume_consent(sessions: Sessions, person_id: str, template_id: str,
                          at: datetime) -> bool:
    """Take one allowed send; False when none is left (the send must not happen)."""
    async with sessions() as session:
        result = await session.execute(
            update(SubscribeConsent)
            .where(SubscribeConsent.person_id == person_id,
                   SubscribeConsent.template_id == template_id,
                   SubscribeConsent.remaining > 0)
            .values(remaining=SubscribeConsent.remaining - 1, updated_at=at))
        await session.commit()
        return bool(result.rowcount)  # type: ignore[attr-defined]


async def revoke_consent(sessions: Sessions, person_id: str, template_id: str,
                         at: datetime) -> None:
    """WeChat said the person refused the template (43101): nothing is left to send."""
    async with sessions() as session:
        await session.execute(
            update(SubscribeConsent)
            .where(SubscribeConsent.person_id == person_id,
                   SubscribeConsent.template_id == template_id)
            .values(remaining=0, updated_at=at))
        await session.commit()


async def consent_balances(sessions: Sessions, person_id: str) -> dict[str, int]:
    """Template id -> sends still allowed, for one person."""
    async with sessions() as session:
        rows = await session.execute(
            select(SubscribeConsent.template_id, SubscribeConsent.remaining)
            .where(SubscribeConsent.person_id == person_id))
        return {template_id: remaining for template_id, remaining in rows}
