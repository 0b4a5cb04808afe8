"""Nudges (催办) and the reminders of idle drafts, on SQLite and PostgreSQL with the fake WeChat:
only unfinished enterprises of the nudger's area, their people once, at most one nudge per
enterprise per three days whoever sends it (two commissioners at once included), and the idle
reminder once per idle period."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta

import pytest
import redis.asyncio as aioredis
from sqlalchemy import func, insert, select

from flows.commissioners import Scope
from flows.profile import builtin_reference
from flows.roster import check_roster
from storage import activity, deliveries, notices, nudges, registrations
from storage.archive import Profile, record_submission
from storage.db import Sessions
from storage.models import DraftActivity, Enterprise, EnterpriseNudge, NoticeDelivery
from storage.roster import import_rows
from tests.test_archive import make_record
from tests.test_notice_worker import Setup, wechat_setup
from tests.test_roster import HEADER, code, row

JINAN = Scope(("济南市",))
QINGDAO = Scope(("青岛市",))
WANG = nudges.Nudger(1, "王专员", "济南市")
LI = nudges.Nudger(2, "李专员", "济南市")


@pytest.fixture
async def setup(sessions: Sessions, redis_client: aioredis.Redis) -> AsyncIterator[Setup]:
    async with wechat_setup(sessions, redis_client) as found:
        yield found


async def draft(setup: Setup, person: str, credit: str | None, at: datetime) -> None:
    await activity.record(setup.sessions, activity.Activity(
        person_id=person, subject_id=person, draft_id=f"d-{person}-{at.timestamp()}",
        credit_code=credit, answered=12, total=31, started_at=at, last_active_at=at))


async def roster(setup: Setup, *rows: list[str]) -> None:
    await import_rows(setup.sessions, check_roster([HEADER, *rows], builtin_reference()).rows,
                      datetime.now(UTC))


def texts(setup: Setup) -> list[tuple[str, str]]:
    """(openid, what the message said) of every accepted send."""
    found = []
    for call in setup.sends():
        body = call["body"]
        said = (body.get("text", {}).get("content") or
                " ".join(str(v.get("value")) for v in body.get("data", {}).values()))
        found.append((body["touser"], said))
    return found


async def test_nudges_reach_the_unfinished_of_the_area_once(setup: Setup) -> None:
    now = datetime.now(UTC)
    await roster(setup, row(1), row(2), row(3), row(4, city="青岛市", county="黄岛区"))
    await record_submission(setup.sessions, make_record(profile=Profile(
        name="山东某某制造有限公司1", credit_code=code(1), city="济南市", county="历下区",
        industry="C")))
    owner = await setup.person("oa", "o-owner2")
    qingdao = await setup.person("oa", "o-owner4")
    await draft(setup, owner, code(2), now - timedelta(days=1))
    await draft(setup, qingdao, code(4), now - timedelta(days=1))
    await draft(setup, "oa:o-early", code(1), now - timedelta(days=2))  # enterprise submitted

    first = now - timedelta(days=3, seconds=1)
    done = await nudges.nudge_unfinished(setup.sessions, JINAN, WANG, first)
    assert done is not None
    assert (done.nudged, done.people, done.recent, done.no_contact) == (1, 1, 0, 1)
    await setup.drain(setup.worker())
    sent = texts(setup)
    assert [openid for openid, _said in sent] == ["o-owner2"]  # not 青岛's, not the submitted
    assert "数字化水平评估" in sent[0][1]

    # Within three days: skipped, whoever asks; nothing more is sent.
    again = await nudges.nudge_unfinished(setup.sessions, JINAN, LI, first + timedelta(days=2))
    assert again is not None and (again.nudged, again.recent, again.notice_id) == (0, 1, None)
    # One enterprise by credit code: outside the area it is not found; submitted is said.
    assert await nudges.nudge_unfinished(setup.sessions, JINAN, WANG, now,
                                         credit_code=code(4)) is None
    assert await nudges.nudge_unfinished(setup.sessions, QINGDAO, WANG, now,
                                         credit_code=code(2)) is None
    one = await nudges.nudge_unfinished(setup.sessions, JINAN, WANG, now, credit_code=code(1))
    assert one is not None and (one.submitted, one.nudged) == (1, 0)
    # After three days it may go again: a new message, through the same delivery.
    later = await nudges.nudge_unfinished(setup.sessions, JINAN, LI, now, credit_code=code(2))
    assert later is not None and (later.nudged, later.people) == (1, 1)
    await setup.drain(setup.worker())
    assert [openid for openid, _said in texts(setup)] == ["o-owner2", "o-owner2"]
    async with setup.sessions() as session:
        statuses = list(await session.scalars(select(NoticeDelivery.status).where(
            NoticeDelivery.purpose == "nudge")))
    assert statuses == ["sent", "sent"]


async def test_two_commissioners_at_once_nudge_each_enterprise_once(setup: Setup) -> None:
    now = datetime.now(UTC)
    await roster(setup, *(row(i) for i in range(1, 31)))
    for i in range(1, 31):
        await draft(setup, f"oa:o{i}", code(i), now - timedelta(hours=i))
    results = await asyncio.gather(*(
        nudges.nudge_unfinished(setup.sessions, JINAN, nudger, now,
                                credit_code=code(i) if single else None)
        for nudger in (WANG, LI) for single in (False, True) for i in (5, 6)))
    assert all(r is not None for r in results)
    assert sum(r.nudged for r in results if r is not None) == 30
    async with setup.sessions() as session:
        queued = (await session.execute(select(func.count()).select_from(NoticeDelivery).where(
            NoticeDelivery.purpose == "nudge"))).scalar_one()
        marks = (await session.execute(select(func.count()).select_from(EnterpriseNudge))
                 ).scalar_one()
    assert (queued, marks) == (30, 30)


async def test_idle_drafts_are_reminded_once_per_idle_period(setup: Setup) -> None:
    now = datetime.now(UTC)
    await roster(setup, row(1))
    idle = await setup.person("oa", "o-idle")
    fresh = await setup.person("oa", "o-fresh")
    gone = await setup.person("oa", "o-gone")
    covered = await setup.person("oa", "o-covered")
    await draft(setup, idle, None, now - timedelta(days=8))
    await draft(setup, fresh, None, now - timedelta(days=2))
    await draft(setup, gone, None, now - timedelta(days=40))  # Redis dropped that draft
    await draft(setup, covered, code(1), now - timedelta(days=8))
    # A commissioner nudged 1's people yesterday: that was the covered owner's prompt.
    await nudges.nudge_unfinished(setup.sessions, JINAN, WANG, now - timedelta(days=1))
    await setup.drain(setup.worker(idle_days=0))
    assert [o for o, _said in texts(setup)] == ["o-covered"]

    worker = setup.worker(idle_days=7)
    assert await worker.remind_idle() == 1
    assert await worker.remind_idle() == 0  # checked again only after a while
    # Other workers at the same time find nothing more.
    assert sum(await asyncio.gather(*(setup.worker(idle_days=7).remind_idle()
                                      for _ in range(3)))) == 0
    await setup.drain(worker)
    sent = texts(setup)
    assert [o for o, _said in sent] == ["o-covered", "o-idle"]
    assert "数字化水平评估" in sent[1][1]

    # Back at it, then idle again: a new period, a new reminder.
    back = now + timedelta(hours=1)
    await draft(setup, idle, None, back)
    soon = back + timedelta(days=1)
    assert (await nudges.remind_idle(setup.sessions, soon, timedelta(days=7))).people == 0
    later = back + timedelta(days=7)  # the fresh one's draft is idle by then too
    assert (await nudges.remind_idle(setup.sessions, later, timedelta(days=7))).people == 2
    assert (await nudges.remind_idle(setup.sessions, later, timedelta(days=7))).people == 0
    assert await deliveries.counts(setup.sessions, 1, purpose="nudge") == {"sent": 1}


async def test_a_nudge_cannot_be_signed_up_for_nor_listed(setup: Setup) -> None:
    now = datetime.now(UTC)
    await roster(setup, row(1))
    owner = await setup.person("oa", "o-owner")
    await draft(setup, owner, code(1), now)
    done = await nudges.nudge_unfinished(setup.sessions, JINAN, WANG, now)
    assert done is not None and done.notice_id is not None
    assert await notices.list_notices(setup.sessions) == []
    signed = await registrations.sign_up(setup.sessions, done.notice_id, owner, now)
    assert signed.outcome == "not_found"


@pytest.mark.slow  # 9,000 enterprises and drafts
async def test_a_city_wide_nudge_of_thousands_goes_in_one_transaction(setup: Setup) -> None:
    now = datetime.now(UTC)
    count = 9000  # more rows than one statement can bind on SQLite
    async with setup.sessions() as session:
        await session.execute(insert(Enterprise), [
            {"id": i + 1, "credit_code": code(i), "name": f"企业{i}", "city": "济南市",
             "county": "历下区", "industry": "C", "in_roster": True, "created_at": now,
             "updated_at": now} for i in range(count)])
        await session.execute(insert(DraftActivity), [
            {"person_id": f"oa:p{i}", "subject_id": f"oa:p{i}", "draft_id": f"d{i}",
             "credit_code": code(i), "answered": 3, "total": 31, "started_at": now,
             "last_active_at": now} for i in range(count)])
        await session.commit()
    done = await nudges.nudge_unfinished(setup.sessions, JINAN, WANG, now)
    assert done is not None and (done.nudged, done.people) == (count, count)
    again = await nudges.nudge_unfinished(setup.sessions, JINAN, LI, now)
    assert again is not None and (again.nudged, again.recent) == (0, count)


async def test_the_nudge_says_who_nudges_in_a_customer_service_message(setup: Setup) -> None:
    now = datetime.now(UTC)
    await roster(setup, row(1))
    owner = await setup.person("oa", "o-recent", recent=True)  # wrote within 48 hours
    await draft(setup, owner, code(1), now)
    await nudges.nudge_unfinished(setup.sessions, JINAN, WANG, now)
    await setup.drain(setup.worker(oa_template=None, idle_days=0))
    [(openid, said)] = texts(setup)
    assert openid == "o-recent"
    assert said.startswith("济南市数字专员王专员提醒您：贵企业的数字化水平自评估尚未完成。")
    assert "回复「继续」" in said and "保留 30 天" in said
