"""A new lead told to the provider's WeChat contact by the notice workers, against the fake
WeChat server on SQLite and PostgreSQL: the whole lead as a customer-service message while the
contact's 48 hours are open, the template after; once; the lead's notified_at set when WeChat
took it; nobody told who is no longer the contact, and a lead not told stays untold."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import datetime

import pytest
import redis.asyncio as aioredis
from sqlalchemy import select

from storage import deliveries, leads, notices, provider_contacts
from storage.archive import person_key
from storage.db import Sessions
from storage.models import Lead, Notice
from tests.test_leads import CODE_A, T0, bound_contact, pool_and_enterprise
from tests.test_notice_worker import Setup, wechat_setup
from tests.test_pool_file import code


@pytest.fixture
async def setup(sessions: Sessions, redis_client: aioredis.Redis) -> AsyncIterator[Setup]:
    async with wechat_setup(sessions, redis_client) as found:
        yield found


async def a_lead(setup: Setup, *, contact: str | None = "oa:o-contact") -> int:
    """云MES's provider (with `contact` bound, or none) gets a lead of 济南明湖机械有限公司."""
    ids = await pool_and_enterprise(setup.sessions)
    if contact is not None:
        await bound_contact(setup.sessions, code(1), contact)
    opened = await leads.open_lead(setup.sessions, credit_code=CODE_A, solution_id=ids["云MES"],
                                   person_id=person_key("oa", "o-0"), channel="oa",
                                   mobile="13800138000", now=T0)
    assert opened is not None and not opened.already
    return opened.lead_id


async def notified_at(setup: Setup, lead_id: int) -> datetime | None:
    async with setup.sessions() as session:
        return await session.scalar(select(Lead.notified_at).where(Lead.id == lead_id))


async def lead_delivery(setup: Setup) -> dict[str, int]:
    async with setup.sessions() as session:
        notice_id = await session.scalar(select(Notice.id).where(Notice.kind == "lead"))
    assert notice_id is not None
    return await deliveries.counts(setup.sessions, notice_id, purpose="lead")


async def test_the_whole_lead_while_the_contact_may_get_a_customer_service_message(
        setup: Setup) -> None:
    await setup.person("oa", "o-contact", recent=True)
    lead_id = await a_lead(setup)
    await setup.drain(setup.worker(idle_days=0))  # a template is configured: not used
    [send] = setup.sends()
    assert send["endpoint"] == "cgi-bin/message/custom/send"
    assert send["body"]["touser"] == "o-contact"
    assert send["body"]["text"]["content"] == (
        "新的对接需求：济南明湖机械有限公司（济南市历下区，通用设备制造业）希望就「云MES」与贵单位对接。\n"
        "联系手机：13800138000（对方已同意贵单位就此方案来电联系）\n请在 3 个工作日内致电。")
    assert await notified_at(setup, lead_id) is not None
    assert await lead_delivery(setup) == {"sent": 1}
    await setup.drain(setup.worker(idle_days=0))
    assert len(setup.sends()) == 1  # once


async def test_after_the_48_hours_the_template_carries_the_lead(setup: Setup) -> None:
    await setup.person("oa", "o-contact")  # follows, has not written lately
    await notices.set_opt_out(setup.sessions, "oa:o-contact", True)  # 退订通知: work still comes
    lead_id = await a_lead(setup)
    await setup.drain(setup.worker(idle_days=0))
    [send] = setup.sends()
    assert send["endpoint"] == "cgi-bin/message/template/send"
    assert send["body"]["touser"] == "o-contact"
    data = {key: item["value"] for key, item in send["body"]["data"].items()}
    assert data["thing1"] == "对接需求：云MES" and data["thing3"].startswith("13800138000 济南明湖")
    assert await notified_at(setup, lead_id) is not None


async def test_nobody_is_told_who_is_no_longer_the_contact(setup: Setup) -> None:
    await setup.person("oa", "o-contact", recent=True)
    lead_id = await a_lead(setup)
    found = await provider_contacts.by_credit_code(setup.sessions, code(1))
    assert found is not None
    await provider_contacts.unbind(setup.sessions, found.provider_id)  # before the worker ran
    await setup.drain(setup.worker(idle_days=0))
    assert setup.sends() == []
    assert await lead_delivery(setup) == {"skipped": 1}
    assert await notified_at(setup, lead_id) is None  # it waits in the desk's list


async def test_a_contact_who_unfollowed_is_not_told_and_the_lead_stays_untold(
        setup: Setup) -> None:
    await setup.person("oa", "o-contact", subscribed=False)
    lead_id = await a_lead(setup)
    await setup.drain(setup.worker(idle_days=0))
    assert setup.sends() == []
    assert await lead_delivery(setup) == {"skipped": 1}
    assert await notified_at(setup, lead_id) is None


async def test_a_provider_without_a_contact_is_sent_nothing(setup: Setup) -> None:
    lead_id = await a_lead(setup, contact=None)
    await setup.drain(setup.worker(idle_days=0))
    assert setup.sends() == []
    assert await notified_at(setup, lead_id) is None
