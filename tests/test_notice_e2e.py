"""Notices end to end inside `dxbot serve`: owners follow the account and submit, the admin
creates and schedules a notice for the city, the embedded worker sends it as a template message
through the fake WeChat server, once; owners list it, sign up and withdraw in the chat, and the
first on the waiting list is told they moved up."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.config import Settings
from bot.devtools.fake_wechat import FakeWeChat
from bot.devtools.simulator import WeChatSimulator
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.profile import credit_code_check_char
from tests.db_fixtures import EmptyDatabase
from tests.redis_fixtures import TEST_REDIS_URL_VAR

TOKEN, OA, OA_SECRET = "e2e-notice", "wx3333333333333333", "oa-secret"
ADMIN = "admin-token-for-the-notice-test"
TEMPLATE = "tmpl-training"
ISET = builtin_sets()[DEFAULT_SET_ID]


@dataclass
class Service:
    wechat: FakeWeChat
    sim: WeChatSimulator
    http: aiohttp.ClientSession
    bot: TestServer

    async def admin(self, method: str, path: str, body: Any = None) -> Any:
        async with self.http.request(method, self.bot.make_url("/api/admin" + path), json=body,
                                     headers={"Authorization": f"Bearer {ADMIN}"}) as r:
            assert r.status < 300, await r.text()
            return json.loads(await r.read())

    async def owners(self, *cities: tuple[str, str]) -> None:
        """Each (openid, city number) follows the account and submits an assessment."""
        for serial, (openid, city) in enumerate(cities):
            await self.submit(openid, serial, city)

    async def submit(self, openid: str, serial: int, city: str, *, scene_level: str = "2",
                     name: str = "某某机械有限公司", county: str = "某区") -> str:
        """`openid` follows the account and submits for the enterprise with credit code number
        `serial` in `city` (its number), every scene at `scene_level`; the credit code."""
        self.wechat.add_user(OA, openid)
        first17 = f"91370100MA{serial:07d}"
        code = first17 + credit_code_check_char(first17)
        await self.sim.send_event(openid, "subscribe")
        for line in ["开始测评", code, name, city, county, "F", "50", *["B"] * 15,
                     *[scene_level] * 16, "提交"]:
            await self.sim.send_text(openid, line)
        return code

    async def say(self, openid: str, text: str) -> str:
        reply = await self.sim.send_text(openid, text)
        assert reply is not None
        return reply

    async def sent_notice(self, body: dict[str, Any]) -> dict[str, Any]:
        created = await self.admin("POST", "/notices", body)
        await self.admin("POST", f"/notices/{created['id']}/schedule", {})
        for _ in range(100):
            shown = await self.admin("GET", f"/notices/{created['id']}")
            if shown["status"] == "sent":
                break
            await asyncio.sleep(0.1)
        assert shown["status"] == "sent", shown
        return {**created, **shown}

    def template_sends(self) -> list[tuple[str, str]]:
        return [(c["body"]["touser"], c["body"]["data"]["thing1"]["value"])
                for c in self.wechat.calls_to("cgi-bin/message/template/send")
                if c["errcode"] == 0]


@asynccontextmanager
async def service(empty_database: EmptyDatabase, redis_socket: str | None,
                  tmp_path: Path) -> AsyncIterator[Service]:
    wechat = FakeWeChat()
    wechat.add_app(OA, OA_SECRET)
    wechat.add_template(OA, TEMPLATE)
    fake = TestServer(wechat.app(), host="127.0.0.1")
    await fake.start_server(access_log=None)
    settings = Settings(
        data_dir=tmp_path / "data", database_url=empty_database.url,
        redis_url=os.environ.get(TEST_REDIS_URL_VAR) or f"unix://{redis_socket}",
        wechat_token=TOKEN, wechat_appid=OA, wechat_secret=OA_SECRET, admin_token=ADMIN,
        wechat_api_base=str(fake.make_url("")).rstrip("/"), notice_oa_template=TEMPLATE)
    bot = TestServer(build_app(settings, connect_args=dict(empty_database.connect_args)),
                     host="127.0.0.1")
    await bot.start_server()
    try:
        async with aiohttp.ClientSession() as http:
            sim = WeChatSimulator(str(bot.make_url("/wechat")), token=TOKEN, appid=OA,
                                  session=http)
            yield Service(wechat, sim, http, bot)
    finally:
        await bot.close()
        await fake.close()


TRAINING = {"kind": "training", "title": "数字化普及培训", "body": "面向企业负责人。",
            "starts_at": "2027-01-10T09:00:00+08:00", "place": "济南",
            "audience": {"cities": ["济南市"]}}


async def test_a_scheduled_notice_reaches_the_owner_once(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        await s.owners(("o-jinan", "1"), ("o-qingdao", "2"))
        shown = await s.sent_notice(TRAINING)
        assert shown["audience_size"] == 1 and shown["deliveries"] == {"sent": 1}
        assert s.template_sends() == [("o-jinan", "数字化普及培训")]
        [send] = s.wechat.calls_to("cgi-bin/message/template/send")
        assert send["body"]["data"]["time2"] == {"value": "2027-01-10 09:00"}


async def test_owners_sign_up_in_the_chat_and_the_waiting_list_moves_up(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        await s.owners(("o-a", "1"), ("o-b", "1"), ("o-q", "2"))
        n = (await s.sent_notice({**TRAINING, "capacity": 1}))["id"]
        listed = await s.say("o-a", "通知")
        assert f"{n}. 【数字化普及培训】 2027-01-10 09:00 济南" in listed and "可报名" in listed
        assert "目前没有面向您的培训和活动" in await s.say("o-q", "通知")

        assert "报名成功：【数字化普及培训】（2027-01-10 09:00）" in await s.say("o-a", f"报名 {n}")
        assert "您已报名【数字化普及培训】" in await s.say("o-a", f"报名{n}")
        assert "候补名单第 1 位" in await s.say("o-b", f"报名 {n}")
        assert "没有这个编号的通知" in await s.say("o-q", f"报名 {n}")  # not for 青岛
        assert "没有这个编号的通知" in await s.say("o-a", "报名 99999")
        assert "候补名单第 1 位" in await s.say("o-b", "通知")

        assert "已取消您对【数字化普及培训】的报名" in await s.say("o-a", f"取消报名 {n}")
        assert f"您没有报名第 {n} 号通知" in await s.say("o-a", f"取消报名 {n}")
        for _ in range(100):  # the embedded worker tells o-b they moved up
            if ("o-b", "报名成功：数字化普及培训") in s.template_sends():
                break
            await asyncio.sleep(0.1)
        assert s.template_sends().count(("o-b", "报名成功：数字化普及培训")) == 1
        assert "您已报名" in await s.say("o-b", "通知")
        listed = await s.say("o-a", "通知")
        assert "名额已满" in listed  # o-a withdrew; the one seat is o-b's
        shown = await s.admin("GET", f"/notices/{n}")
        assert shown["deliveries"] == {"sent": 2}
        assert shown["personal_messages"] == {"promoted": {"sent": 1}}
        assert shown["signups"] == {"cancelled": 1, "registered": 1}


async def test_the_audience_knows_who_has_not_started_and_who_is_in_progress(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    async with service(empty_database, redis_socket, tmp_path) as s:
        await s.owners(("o-done", "1"))
        first17 = "91370100MA0000000"  # the enterprise o-done submitted for
        for openid in ("o-drafting", "o-new"):
            s.wechat.add_user(OA, openid)
            await s.sim.send_event(openid, "subscribe")
        await s.say("o-drafting", "开始测评")
        assert "确认" in await s.say("o-drafting", first17 + credit_code_check_char(first17))

        async def size(**audience: Any) -> int:
            found = await s.admin("POST", "/notices/preview", {**TRAINING, "audience": audience})
            return int(found["audience_size"])

        assert await size(statuses=["in_progress"]) == 1
        assert await size(statuses=["not_started"]) == 1
        assert await size(statuses=["submitted"]) == 1
        # The draft names an enterprise of 济南 in the archive: it counts there already.
        assert await size(statuses=["in_progress"], cities=["济南市"]) == 1
        assert await size(statuses=["in_progress"], cities=["青岛市"]) == 0
        await s.say("o-drafting", "确认")
        for line in [*["B"] * 15, *["2"] * 16, "提交"]:
            await s.say("o-drafting", line)
        assert await size(statuses=["in_progress"]) == 0
        assert await size(statuses=["submitted"]) == 2
