"""供需对接 leads: an enterprise's request that a solution's provider call, kept once per
enterprise and solution while it is open (a second request, also a concurrent one by another
person of the same enterprise, finds the first)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from storage.db import Sessions, insert_for
from storage.models import Enterprise, Lead, PoolSolution, ServiceProvider


@dataclass(frozen=True)
class Opened:
    lead_id: int
    already: bool  # an open lead of the enterprise for this solution was there before
    title: str
    provider: str
    contact_name: str | None  # who at the provider will call


async def open_lead(sessions: Sessions, *, credit_code: str, solution_id: int, person_id: str,
                    channel: str, mobile: str, now: datetime) -> Opened | None:
    """Record that `person_id` of the enterprise `credit_code` asks the provider of
    `solution_id` to call them on `mobile` (their consent, now). None when the solution is
    retired or unknown, or the enterprise has no archive."""
    async with sessions() as session:
        found = (await session.execute(
            select(PoolSolution.title, PoolSolution.retired_at, ServiceProvider.name,
                   ServiceProvider.contact_name)
            .join(ServiceProvider, ServiceProvider.id == PoolSolution.provider_id)
            .where(PoolSolution.id == solution_id))).one_or_none()
        enterprise_id = await session.scalar(
            select(Enterprise.id).where(Enterprise.credit_code == credit_code))
        if found is None or found.retired_at is not None or enterprise_id is None:
            return None
        insert = insert_for(session)
        statement = insert(Lead).values(
            enterprise_id=enterprise_id, solution_id=solution_id, person_id=person_id,
            channel=channel, mobile=mobile, consented_at=now, status="new", created_at=now,
            updated_at=now)
        # The open lead's unique index decides between two requests at once.
        lead_id = await session.scalar(statement.on_conflict_do_nothing(
            index_elements=[Lead.enterprise_id, Lead.solution_id],
            index_where=Lead.status != "closed").returning(Lead.id))
        already = lead_id is None
        if already:
            lead_id = await session.scalar(select(Lead.id).where(
                Lead.enterprise_id == enterprise_id, Lead.solution_id == solution_id,
                Lead.status != "closed"))
        await session.commit()
    assert lead_id is not None
    return Opened(lead_id, already, found.title, found.name, found.contact_name)
