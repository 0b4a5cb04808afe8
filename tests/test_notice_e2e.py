"""A notice end to end inside `dxbot serve`: an owner follows the account and submits, the admin
creates and schedules a notice for the city, the embedded worker sends it as a template message
through the fake WeChat server, once."""

from __future__ import annotations

import asyncio
import json
import os
from pathlib import Path
from typing import Any

import aiohttp
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.config import Settings
from bot.fake_wechat import FakeWeChat
from bot.wechat_simulator import WeChatSimulator
from flows.indicators import DEFAULT_SET_ID, builtin_sets
from flows.profile import credit_code_check_char
from tests.db_fixtures import EmptyDatabase
from tests.redis_fixtures import TEST_REDIS_URL_VAR

TOKEN, OA, OA_SECRET = "e2e-notice", "wx3333333333333333", "oa-secret"
ADMIN = "admin-token-for-the-notice-test"
TEMPLATE = "tmpl-training"
ISET = builtin_sets()[DEFAULT_SET_ID]


async def test_a_scheduled_notice_reaches_the_owner_once(
    empty_database: EmptyDatabase, redis_client: aioredis.Redis, redis_socket: str | None,
    tmp_path: Path,
) -> None:
    wechat = FakeWeChat()
    wechat.add_app(OA, OA_SECRET)
    wechat.add_template(OA, TEMPLATE)
    for openid in ("o-jinan", "o-qingdao"):
        wechat.add_user(OA, openid)
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
            for serial, (openid, city) in enumerate((("o-jinan", "1"), ("o-qingdao", "2"))):
                first17 = f"91370100MA{serial:07d}"
                lines = ["开始测评", first17 + credit_code_check_char(first17), "某某机械有限公司",
                         city, "某区", "F", "50", *["B"] * 15, *["2"] * 16, "提交"]
                await sim.send_event(openid, "subscribe")
                for line in lines:
                    await sim.send_text(openid, line)

            async def admin(method: str, path: str, body: Any = None) -> Any:
                async with http.request(method, bot.make_url("/api/admin" + path), json=body,
                                        headers={"Authorization": f"Bearer {ADMIN}"}) as r:
                    assert r.status < 300, await r.text()
                    return json.loads(await r.read())

            created = await admin("POST", "/notices", {
                "kind": "training", "title": "数字化普及培训", "body": "面向企业负责人。",
                "starts_at": "2026-12-10T09:00:00+08:00", "place": "济南",
                "audience": {"cities": ["济南市"]}})
            assert created["audience_size"] == 1
            await admin("POST", f"/notices/{created['id']}/schedule", {})
            for _ in range(100):
                shown = await admin("GET", f"/notices/{created['id']}")
                if shown["status"] == "sent":
                    break
                await asyncio.sleep(0.1)
            assert shown["status"] == "sent" and shown["deliveries"] == {"sent": 1}
    finally:
        await bot.close()
        await fake.close()
    sends = [c for c in wechat.calls_to("cgi-bin/message/template/send") if c["errcode"] == 0]
    assert [c["body"]["touser"] for c in sends] == ["o-jinan"]
    assert sends[0]["body"]["data"]["thing1"] == {"value": "数字化普及培训"}
