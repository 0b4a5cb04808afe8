"""供需对接 leads on SQLite and PostgreSQL: one open lead per enterprise and solution, also when
its people ask at once; a retired solution takes none."""

from __future__ import annotations

import asyncio
import dataclasses
from datetime import UTC, datetime, timedelta

from sqlalchemy import func, select

from storage import leads, solutions
from storage.archive import person_key, record_submission
from storage.db import Sessions
from storage.models import Lead
from tests.test_archive import make_record
from tests.test_pool_file import row
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
