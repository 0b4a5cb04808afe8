"""A provider's WeChat contact end to end inside `dxbot serve`, with the fake WeChat server: the
province issues a code over the admin API, the contact sends `绑定 CODE` in the Official
Account (a used, expired or wrong code refused with a clear answer and nothing changed, tries
limited as for commissioners); an owner's 对接 reaches the contact once through the embedded
notice worker, and a provider without a contact gets nothing."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import redis.asyncio as aioredis
from sqlalchemy import select, update

from storage import provider_contacts, solutions
from storage.db import Sessions, migrate, session_factory
from storage.models import Lead, ServiceProvider
from tests.db_fixtures import EmptyDatabase
from tests.test_notice_e2e import OA, Service, service
from tests.test_pool_file import code, row
from tests.test_solution_pool import rows

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


@asynccontextmanager
async def sessions_of(database: EmptyDatabase) -> AsyncIterator[Sessions]:
    engine = database.engine()
    try:
        yield session_factory(engine)
    finally:
        await engine.dispose()


async def pool(database: EmptyDatabase) -> None:
    """云MES of provider 1 and 设备上云 of provider 2, for any industry, where the owners are;
    before the app starts, so that its matching has them from the first result."""
    engine = database.engine()
    try:
        await migrate(engine)
        await solutions.import_rows(session_factory(engine), rows(
            row("云MES", industries="", lifts="S06:3、S07:3"),
            row("设备上云", provider=2, industries="", lifts="S08:3")), T0)
    finally:
        await engine.dispose()


async def provider_ids(s: Service) -> dict[str, int]:
    """Provider ids by credit code, as the admin API shows them."""
    listed = await s.admin("GET", "/solutions")
    return {item["provider"]["credit_code"]: item["provider"]["id"]
            for item in listed["solutions"]}


async def follows(s: Service, *openids: str) -> None:
    for openid in openids:
        s.wechat.add_user(OA, openid)
        await s.sim.send_event(openid, "subscribe")


async def contact(database: EmptyDatabase, provider_id: int) -> str | None:
    async with sessions_of(database) as sessions:
        found = await provider_contacts.get(sessions, provider_id)
    assert found is not None
    return found.person_id


async def test_a_providers_contact_binds_in_the_chat(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    await pool(empty_database)
    async with service(empty_database, redis_socket, tmp_path) as s:
        ids = await provider_ids(s)
        one, two = ids[code(1)], ids[code(2)]
        issued: dict[str, Any] = await s.admin("POST", f"/providers/{one}/binding-code")
        await follows(s, "o-contact", "o-other", "o-late", "o-guess")

        bound = await s.say("o-contact", f"绑定 {issued['code'].lower()}")
        assert bound.startswith("绑定成功：您现在是山东某某软件有限公司1的微信联系人。")
        assert "新对接需求将发送到这里" in bound
        assert await contact(empty_database, one) == "oa:o-contact"
        shown = await s.admin("GET", f"/solutions?provider={code(1)}")
        assert shown["solutions"][0]["provider"]["wechat_contact_bound"] is True

        # Used once: someone else's try is refused and the contact stays.
        used = await s.say("o-other", f"绑定 {issued['code']}")
        assert used.startswith("绑定码无效")
        assert await contact(empty_database, one) == "oa:o-contact"

        # Expired: told so, and nobody is bound.
        late = await s.admin("POST", f"/providers/{two}/binding-code", {"valid_hours": 1})
        async with sessions_of(empty_database) as sessions, sessions() as session:
            await session.execute(update(ServiceProvider).where(ServiceProvider.id == two)
                                  .values(code_expires_at=datetime.now(UTC)
                                          - timedelta(minutes=1)))
            await session.commit()
        expired = await s.say("o-late", f"绑定 {late['code']}")
        assert expired.startswith("绑定码已过期") and "绑定成功" not in expired
        assert await contact(empty_database, two) is None

        # Wrong codes: five tries an hour, then even a right code waits.
        fresh = await s.admin("POST", f"/providers/{two}/binding-code")
        for _ in range(5):
            assert (await s.say("o-guess", "绑定 AAAAAAAAAA")).startswith("绑定码无效")
        assert "尝试次数过多" in await s.say("o-guess", f"绑定 {fresh['code']}")
        assert await contact(empty_database, two) is None

        # A second provider's code moves the contact: one provider each.
        moved = await s.say("o-contact", f"绑定 {fresh['code']}")
        assert moved.startswith("绑定成功：您现在是山东某某软件有限公司2的微信联系人。")
        assert (await contact(empty_database, one), await contact(empty_database, two)) == (
            None, "oa:o-contact")


def custom_sends(s: Service) -> list[tuple[str, str]]:
    return [(c["body"]["touser"], c["body"]["text"]["content"])
            for c in s.wechat.calls_to("cgi-bin/message/custom/send")
            if c["errcode"] == 0 and c["body"]["msgtype"] == "text"]  # not a result's chart


async def sent_to(s: Service, openid: str, count: int) -> list[str]:
    """What `openid` has been sent, once `count` messages arrived (the worker runs apart)."""
    for _ in range(100):
        found = [text for to, text in custom_sends(s) if to == openid]
        if len(found) >= count:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"{openid} got {custom_sends(s)}")


def number_of(listed: str, title: str) -> str:
    found = re.search(rf"^(\d+)\. {title}（", listed, re.M)
    assert found, listed
    return found.group(1)


async def notified(database: EmptyDatabase) -> dict[str, datetime | None]:
    """Each lead's notified_at by its mobile."""
    async with sessions_of(database) as sessions, sessions() as session:
        return {mobile: at for mobile, at in await session.execute(
            select(Lead.mobile, Lead.notified_at))}


async def test_an_owners_request_reaches_the_providers_contact_once(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    await pool(empty_database)
    async with service(empty_database, redis_socket, tmp_path) as s:
        ids = await provider_ids(s)
        issued = await s.admin("POST", f"/providers/{ids[code(1)]}/binding-code")
        await follows(s, "o-contact")
        assert (await s.say("o-contact", f"绑定 {issued['code']}")).startswith("绑定成功")

        await s.submit("o-owner", 7, "1", name="济南鲁信机械有限公司", county="历下区")
        listed = await s.say("o-owner", "方案")
        mes, cloud = number_of(listed, "云MES"), number_of(listed, "设备上云")
        await s.say("o-owner", f"对接 {mes}")
        assert (await s.say("o-owner", "13800138000")).startswith("已为您对接")
        [told] = await sent_to(s, "o-contact", 1)
        assert told.startswith("新的对接需求：济南鲁信机械有限公司（济南市历下区，批发和零售业）"
                               "希望就「云MES」与贵单位对接。")
        assert "联系手机：13800138000" in told and "请在 3 个工作日内致电" in told
        assert "o-owner" not in told  # never the person's WeChat
        assert (await notified(empty_database))["13800138000"] is not None

        # The same request again: the open lead stands, the contact is not told twice.
        await s.say("o-owner", f"对接 {mes}")
        assert "已提交给山东某某软件有限公司1" in await s.say("o-owner", "13900139000")
        # Provider 2 has no WeChat contact: its lead waits in the list and the export.
        await s.say("o-owner", f"对接 {cloud}")
        assert (await s.say("o-owner", "13700137000")).startswith("已为您对接")
        await asyncio.sleep(1.5)  # a few rounds of the worker
        assert [to for to, _text in custom_sends(s)] == ["o-contact"]
        assert s.template_sends() == []
        told_at = await notified(empty_database)
        assert set(told_at) == {"13800138000", "13700137000"}  # the second 对接 made none
        assert told_at["13800138000"] is not None and told_at["13700137000"] is None
