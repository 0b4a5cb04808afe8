"""供需对接 leads on SQLite and PostgreSQL: one open lead per enterprise and solution, also when
its people ask at once; a retired solution takes none; a new lead queues one message to the
provider's WeChat contact, in the lead's transaction, and none when it has no contact."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from flows.notices import LeadNotice
from storage import leads, provider_contacts, solutions
from storage.archive import person_key, record_submission
from storage.db import Sessions
from storage.models import Lead, Notice, NoticeDelivery
from tests.test_archive import make_record
from tests.test_pool_file import code, row
from tests.test_solution_pool import rows

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)
CODE_A = "91370100MA3C5YFX1K"  # make_record's enterprise


async def pool_and_enterprise(sessions: Sessions) -> dict[str, int]:
    await solutions.import_rows(sessions, rows(row("云MES"), row("设备上云", provider=2)), T0)
    await record_submission(sessions, make_record("d1"))
    for n in range(8):  # eight people of the enterprise
        await record_submission(sessions, dataclasses.replace(
            make_record(f"d-{n}", at=T0 + timedelta(minutes=n)),
            person_id=person_key("oa", f"o-{n}")))
    return {s.title: s.id for s in await solutions.live_solutions(sessions)}


async def test_one_open_lead_per_enterprise_and_solution(sessions: Sessions) -> None:
    ids = await pool_and_enterprise(sessions)
    first = await leads.open_lead(sessions, credit_code=CODE_A, solution_id=ids["云MES"],
                                  person_id=person_key("oa", "o-0"), channel="oa",
                                  mobile="13800138000", now=T0)
    assert first is not None and not first.already
    assert (first.title, first.provider, first.contact_name) == (
        "云MES", "山东某某软件有限公司1", "李工")
    again = await leads.open_lead(sessions, credit_code=CODE_A, solution_id=ids["云MES"],
                                  person_id=person_key("oa", "o-1"), channel="oa",
                                  mobile="13900139000", now=T0)
    assert again is not None and again.already and again.lead_id == first.lead_id
    other = await leads.open_lead(sessions, credit_code=CODE_A, solution_id=ids["设备上云"],
                                  person_id=person_key("oa", "o-1"), channel="oa",
                                  mobile="13900139000", now=T0)
    assert other is not None and not other.already and other.lead_id != first.lead_id
    async with sessions() as session:
        kept = (await session.execute(select(Lead).where(Lead.id == first.lead_id))).scalar_one()
    assert (kept.mobile, kept.person_id, kept.status, kept.consented_at) == (
        "13800138000", person_key("oa", "o-0"), "new", T0)


async def test_people_of_one_enterprise_asking_at_once_make_one_lead(sessions: Sessions) -> None:
    ids = await pool_and_enterprise(sessions)
    opened = await asyncio.gather(*(
        leads.open_lead(sessions, credit_code=CODE_A, solution_id=ids["云MES"],
                        person_id=person_key("oa", f"o-{n}"), channel="oa",
                        mobile=f"1380013800{n}", now=T0) for n in range(8)))
    assert all(o is not None for o in opened)
    assert len({o.lead_id for o in opened if o is not None}) == 1
    assert sum(1 for o in opened if o is not None and not o.already) == 1
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Lead)) == 1


async def test_no_lead_for_a_retired_or_unknown_solution(sessions: Sessions) -> None:
    ids = await pool_and_enterprise(sessions)
    await solutions.retire(sessions, ids["云MES"], T0)
    for solution_id in (ids["云MES"], 9999):
        assert await leads.open_lead(sessions, credit_code=CODE_A, solution_id=solution_id,
                                     person_id=person_key("oa", "o-0"), channel="oa",
                                     mobile="13800138000", now=T0) is None
    assert await leads.open_lead(sessions, credit_code="91370200163562681G",
                                 solution_id=ids["设备上云"], person_id=person_key("oa", "o-0"),
                                 channel="oa", mobile="13800138000", now=T0) is None


async def bound_contact(sessions: Sessions, credit_code: str, person_id: str) -> None:
    """The provider's WeChat contact, bound with a code as the chat does."""
    found = await provider_contacts.by_credit_code(sessions, credit_code)
    assert found is not None
    digest = "a" * 64
    await provider_contacts.new_code(sessions, found.provider_id, digest, T0 + timedelta(days=1))
    assert await provider_contacts.bind(sessions, digest, person_id, T0) is not None


async def told(sessions: Sessions) -> list[tuple[str, str, str, dict[str, Any]]]:
    """(delivery purpose, recipient, status, what the notice carries) of every lead notice."""
    async with sessions() as session:
        rows = await session.execute(
            select(NoticeDelivery.purpose, NoticeDelivery.person_id, NoticeDelivery.status,
                   Notice.audience, Notice.kind, Notice.status)
            .join(Notice, Notice.id == NoticeDelivery.notice_id).order_by(Notice.id))
        found = []
        for purpose, person, status, audience, kind, notice_status in rows:
            assert (kind, notice_status) == ("lead", "sent")  # a record, never a campaign
            found.append((purpose, person, status, audience["lead"]))
        return found


async def test_a_new_lead_of_a_provider_with_a_contact_queues_one_message(
        sessions: Sessions) -> None:
    ids = await pool_and_enterprise(sessions)
    await bound_contact(sessions, code(1), "oa:o-contact")
    first = await leads.open_lead(sessions, credit_code=CODE_A, solution_id=ids["云MES"],
                                  person_id=person_key("oa", "o-0"), channel="oa",
                                  mobile="13800138000", now=T0)
    assert first is not None and not first.already
    [(purpose, person, status, lead)] = await told(sessions)
    assert (purpose, person, status) == ("lead", "oa:o-contact", "queued")
    assert LeadNotice.from_data(lead) == LeadNotice(
        lead_id=first.lead_id, provider_id=lead["provider_id"], enterprise="济南明湖机械有限公司",
        city="济南市", county="历下区", industry="C", industry_division="C34", solution="云MES",
        mobile="13800138000")
    assert "o-0" not in str(lead)  # nothing of the person but the mobile they gave
    # The same request again, by anyone of the enterprise: the open lead stands, nothing new.
    again = await leads.open_lead(sessions, credit_code=CODE_A, solution_id=ids["云MES"],
                                  person_id=person_key("oa", "o-1"), channel="oa",
                                  mobile="13900139000", now=T0)
    assert again is not None and again.already
    assert len(await told(sessions)) == 1
    async with sessions() as session:
        assert await session.scalar(select(Lead.notified_at)) is None  # queued, not told yet
    await leads.notified(sessions, first.lead_id, T0 + timedelta(minutes=1))
    await leads.notified(sessions, first.lead_id, T0 + timedelta(minutes=2))  # the first stays
    async with sessions() as session:
        assert await session.scalar(select(Lead.notified_at)) == T0 + timedelta(minutes=1)


async def test_a_lead_of_a_provider_without_a_contact_just_waits(sessions: Sessions) -> None:
    ids = await pool_and_enterprise(sessions)
    await bound_contact(sessions, code(1), "oa:o-contact")  # provider 1's, not 2's
    opened = await leads.open_lead(sessions, credit_code=CODE_A, solution_id=ids["设备上云"],
                                   person_id=person_key("oa", "o-0"), channel="oa",
                                   mobile="13800138000", now=T0)
    assert opened is not None and not opened.already
    assert await told(sessions) == []
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Notice)) == 0
        assert await session.scalar(select(Lead.notified_at)) is None


async def test_people_asking_at_once_tell_the_contact_once(sessions: Sessions) -> None:
    ids = await pool_and_enterprise(sessions)
    await bound_contact(sessions, code(1), "oa:o-contact")
    await asyncio.gather(*(
        leads.open_lead(sessions, credit_code=CODE_A, solution_id=ids["云MES"],
                        person_id=person_key("oa", f"o-{n}"), channel="oa",
                        mobile=f"1380013800{n}", now=T0) for n in range(8)))
    assert [(p, person) for p, person, _s, _l in await told(sessions)] == [
        ("lead", "oa:o-contact")]
