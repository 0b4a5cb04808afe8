"""The province's solutions in the chat, end to end through the app: the result ends with the
solutions that fit, 方案 lists them, 方案 N shows one, 对接 N and the mobile record one lead (a
second 对接 finds it); an owner of another city or industry is offered nothing that does not fit."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import select

from storage import solutions
from storage.archive import person_key
from storage.models import Lead
from tests.app_fixtures import Deploy, Owner, credit_code
from tests.test_pool_file import row
from tests.test_solution_pool import rows

T0 = datetime(2026, 12, 2, 8, 0, tzinfo=UTC)


async def whole(owner: Owner, reply: str) -> str:
    """A long reply with the pages 更多 brings."""
    while "回复「更多」查看后续内容" in reply:
        reply = reply + "\n" + await owner.say("更多")
    return reply


async def test_solutions_after_the_result_and_a_lead(deploy: Deploy, sessions_on: Any) -> None:
    await solutions.import_rows(sessions_on, rows(
        row("云MES", lifts="S06:3、S07:3", free_trial="否"),
        row("设备上云", provider=2, lifts="S08:3", leading="是"),
        row("青岛专供", provider=3, lifts="S09:3", cities="青岛市"),
        row("建筑业专用", provider=4, lifts="S10:3", industries="E")), T0)
    bot = await deploy()
    owner = bot.owner("o-sol")
    await owner.questionnaire(credit_code(41))
    result = await whole(owner, await owner.say("提交"))
    assert "为您匹配的方案（来自省级供给资源库）：" in result
    # 云MES brings two constraint scenes to 三级's level, 设备上云 one: 云MES first.
    assert ("1. 云MES（山东某某软件有限公司1）\n"
            "   可将「生产管控」提升到三级，距三级还差 4 个场景") in result
    assert "2. 设备上云（山东某某软件有限公司2，领军服务商） · 可先免费试用" in result
    assert "青岛专供" not in result and "建筑业专用" not in result  # 济南, manufacturing

    listed = await whole(owner, await owner.say("方案"))
    assert listed.count("\n   可将") == 2
    detail = await owner.say("方案 1")
    assert detail.startswith("1. 云MES（山东某某软件有限公司1）")
    assert "排产、报工、质检上云。" in detail and "https://example.com/mes" in detail
    assert "方案 3" in await owner.say("方案 3")  # not in the list

    offer = await owner.say("对接 1")
    assert offer.startswith("如需山东某某软件有限公司1就「云MES」与您联系，请回复您的手机号")
    assert "请回复您的手机号（11 位）" in await owner.say("1380013")
    done = await owner.say("13800138000")
    assert done.startswith(
        "已为您对接：山东某某软件有限公司1的李工将在 3 个工作日内就「云MES」与您联系")
    await owner.say("对接 1")
    assert "已提交给山东某某软件有限公司1" in await owner.say("13900139000")
    async with sessions_on() as session:
        found = list(await session.scalars(select(Lead)))
    assert [(lead.mobile, lead.person_id, lead.status) for lead in found] == [
        ("13800138000", person_key("oa", "o-sol"), "new")]

    # Someone who has submitted nothing is told to assess first.
    stranger = bot.owner("o-new")
    assert "请先回复「开始测评」完成并提交" in await stranger.say("方案")
