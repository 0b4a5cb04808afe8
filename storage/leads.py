"""供需对接 leads: an enterprise's request that a solution's provider call, kept once per
enterprise and solution while it is open (a second request, also a concurrent one by another
person of the same enterprise, finds the first). A new lead is told to the provider's WeChat
contact, when it has one, through the notice delivery (purpose `lead`)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Row, Select, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from flows.notices import LeadNotice, Purpose
from storage.db import Sessions, insert_for
from storage.deliveries import queue_in
from storage.models import Enterprise, Lead, Notice, PoolSolution, ServiceProvider

NOTICE_KIND = "lead"  # the notice that records what the provider's contact was told
PURPOSE: Purpose = "lead"


@dataclass(frozen=True)
class Opened:
    lead_id: int
    already: bool  # an open lead of the enterprise for this solution was there before
    title: str
    provider: str
    contact_name: str | None  # who at the provider will call


async def _tell_contact(session: AsyncSession, lead_id: int, solution: Row[Any],
                        enterprise: Row[Any], mobile: str, now: datetime) -> None:
    """Queue the message that tells the provider's contact of the new lead, in the lead's
    transaction: the lead and its message are recorded together or not at all, and the
    delivery's key lets it go out once. The notice is a record, never a campaign (`sent`
    from the start and starting now, so no list of what is ahead shows it)."""
    told = LeadNotice(lead_id=lead_id, provider_id=solution.provider_id,
                      enterprise=enterprise.name, city=enterprise.city,
                      county=enterprise.county, industry=enterprise.industry,
                      industry_division=enterprise.industry_division,
                      solution=solution.title, mobile=mobile)
    row = Notice(kind=NOTICE_KIND, title=solution.title[:60], body=enterprise.name[:1000],
                 starts_at=now, audience={"lead": told.as_data()}, status="sent",
                 planned=True, reminders_planned=True, created_at=now, updated_at=now)
    session.add(row)
    await session.flush()
    await queue_in(session, row.id, [solution.contact_person_id], now, purpose=PURPOSE)


async def notified(sessions: Sessions, lead_id: int, at: datetime) -> None:
    """The provider's contact got the lead's message (WeChat accepted it). Recorded when sent
    rather than when queued: a message skipped or failed (the contact unfollowed, the window
    closed without a template) leaves the lead untold, so the desk sees whom to phone."""
    async with sessions() as session:
        await session.execute(update(Lead).where(Lead.id == lead_id,
                                                 Lead.notified_at.is_(None))
                              .values(notified_at=at))
        await session.commit()


async def open_lead(sessions: Sessions, *, credit_code: str, solution_id: int, person_id: str,
                    channel: str, mobile: str, now: datetime) -> Opened | None:
    """Record that `person_id` of the enterprise `credit_code` asks the provider of
    `solution_id` to call them on `mobile` (their consent, now). None when the solution is
    retired or unknown, or the enterprise has no archive. A new lead of a provider with a
    WeChat contact queues the message that tells them; otherwise the lead waits in the desk's
    list."""
    async with sessions() as session:
        found = (await session.execute(
            select(PoolSolution.title, PoolSolution.retired_at, ServiceProvider.name,
                   ServiceProvider.contact_name, ServiceProvider.id.label("provider_id"),
                   ServiceProvider.contact_person_id)
            .join(ServiceProvider, ServiceProvider.id == PoolSolution.provider_id)
            .where(PoolSolution.id == solution_id))).one_or_none()
        enterprise = (await session.execute(
            select(Enterprise.id, Enterprise.name, Enterprise.city, Enterprise.county,
                   Enterprise.industry, Enterprise.industry_division)
            .where(Enterprise.credit_code == credit_code))).one_or_none()
        if found is None or found.retired_at is not None or enterprise is None:
            return None
        enterprise_id = enterprise.id
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
        elif found.contact_person_id is not None:
            assert lead_id is not None
            await _tell_contact(session, lead_id, found, enterprise, mobile, now)
        await session.commit()
    assert lead_id is not None
    return Opened(lead_id, already, found.title, found.name, found.contact_name)


@dataclass(frozen=True)
class EnterpriseLead:
    """One of an enterprise's leads, as its own people see it."""

    id: int
    solution_id: int
    title: str
    provider: str
    contact_name: str | None
    status: str
    closed_reason: str | None
    created_at: datetime
    updated_at: datetime


def _enterprise_leads() -> Select[Any]:
    return (select(Lead.id, Lead.solution_id, PoolSolution.title, ServiceProvider.name,
                   ServiceProvider.contact_name, Lead.status, Lead.closed_reason,
                   Lead.created_at, Lead.updated_at)
            .join(Enterprise, Enterprise.id == Lead.enterprise_id)
            .join(PoolSolution, PoolSolution.id == Lead.solution_id)
            .join(ServiceProvider, ServiceProvider.id == PoolSolution.provider_id))


async def leads_of(sessions: Sessions, credit_code: str, *, limit: int) -> list[EnterpriseLead]:
    """The enterprise's leads, newest first (whoever of its people asked)."""
    async with sessions() as session:
        rows = (await session.execute(
            _enterprise_leads().where(Enterprise.credit_code == credit_code)
            .order_by(Lead.created_at.desc(), Lead.id.desc()).limit(limit))).all()
    return [EnterpriseLead(*row) for row in rows]


async def enterprise_lead(sessions: Sessions, lead_id: int) -> EnterpriseLead | None:
    """One lead as the enterprise's people see it (`open_lead` just gave its id)."""
    async with sessions() as session:
        row = (await session.execute(_enterprise_leads().where(Lead.id == lead_id))
               ).one_or_none()
    return None if row is None else EnterpriseLead(*row)
