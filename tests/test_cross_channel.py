"""One person, one draft: the chat and the mini-program on the same draft, linked by the unionid
WeChat gives (user/info for the Official Account, jscode2session for the mini-program). Real app,
real Redis and databases, the fake WeChat server over HTTP."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import redis.asyncio as aioredis
from aiohttp.test_utils import TestServer

from bot.app import build_app
from bot.config import Settings
from bot.devtools.fake_wechat import FakeWeChat, Fault
from bot.devtools.simulator import WeChatSimulator
from flows.profile import credit_code_check_char
from tests.db_fixtures import EmptyDatabase
from tests.redis_fixtures import TEST_REDIS_URL_VAR

TOKEN = "cross-token"
OA, OA_SECRET = "wx1111111111111111", "oa-secret"
MINI, MINI_SECRET = "wx2222222222222222", "mini-secret"
CODE17 = "91370300MA3C77777"
CREDIT_CODE = CODE17 + credit_code_check_char(CODE17)
PROFILE_LINES = [CREDIT_CODE, "淄博齐鲁陶瓷有限公司", "3", "张店区", "C", "30", "210"]


class Stack:
    """The bot and the fake WeChat, plus the two channels of one person."""

    def __init__(self, wechat: FakeWeChat, bot: TestServer, http: aiohttp.ClientSession) -> None:
        self.wechat = wechat
        self.bot = bot
        self.http = http
        self.sim = WeChatSimulator(str(bot.make_url("/wechat")), token=TOKEN, appid=OA,
                                   session=http)
        self.token: str | None = None

    async def chat(self, text: str, openid: str = "o-ann") -> str:
        reply = await self.sim.send_text(openid, text)
        assert reply is not None
        return reply

    async def login(self, openid: str = "m-ann", unionid: str | None = "u-ann") -> dict[str, Any]:
        status, body = await self.api("POST", "/login",
                                      {"code": self.wechat.new_code(MINI, openid, unionid)})
        assert status == 200, body
        self.token = body["token"]
        return body

    async def api(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        async with self.http.request(method, self.bot.make_url("/api/mp" + path),
                                     json=body, headers=headers) as response:
            return response.status, json.loads(await response.read())


@pytest.fixture
async def stack(empty_database: EmptyDatabase, redis_client: aioredis.Redis,
                redis_socket: str | None, tmp_path: Path) -> AsyncIterator[Stack]:
    wechat = FakeWeChat()
    wechat.add_app(OA, OA_SECRET)
    wechat.add_app(MINI, MINI_SECRET)
    wechat.add_user(OA, "o-ann", unionid="u-ann")
    wechat.add_user(OA, "o-solo")  # an account not linked to an open platform: no unionid
    fake = TestServer(wechat.app(), host="127.0.0.1")
    await fake.start_server(access_log=None)
    settings = Settings(
        data_dir=tmp_path / "data", database_url=empty_database.url,
        redis_url=os.environ.get(TEST_REDIS_URL_VAR) or f"unix://{redis_socket}",
        wechat_token=TOKEN, wechat_appid=OA, wechat_secret=OA_SECRET,
        miniapp_appid=MINI, miniapp_secret=MINI_SECRET,
        wechat_api_base=str(fake.make_url("")).rstrip("/"))
    bot = TestServer(build_app(settings, connect_args=dict(empty_database.connect_args)),
                     host="127.0.0.1")
    await bot.start_server()
    async with aiohttp.ClientSession() as http:
        yield Stack(wechat, bot, http)
    await bot.close()
    await fake.close()


async def test_start_in_the_chat_continue_in_the_mini_program_and_back(stack: Stack) -> None:
    await stack.chat("开始测评")
    for line in PROFILE_LINES:
        await stack.chat(line)
    await stack.chat("B C")  # B1
    assert (await stack.login())["linked"] is True

    status, found = await stack.api("GET", "/draft")
    assert status == 200
    draft = found["draft"]
    assert draft["profile"]["credit_code"] == CREDIT_CODE and draft["answers"] == {
        "B1": ["B", "C"]}
    assert draft["step"] == "B2"

    status, answered = await stack.api("PUT", "/draft/answers/B2",
                                       {"version": found["version"], "answer": "D"})
    assert status == 200 and answered["draft"]["step"] == "B3"
    back = await stack.chat("继续")
    assert "第 3/31 题" in back and "B3" in back

    # WeChat was asked for the chat user's unionid once, not per message.
    assert len(stack.wechat.calls_to("cgi-bin/user/info")) == 1


async def test_start_in_the_mini_program_finish_in_the_chat(stack: Stack) -> None:
    await stack.login()
    status, started = await stack.api("POST", "/draft", {"version": 0})
    assert status == 201
    profile = {"credit_code": CREDIT_CODE, "name": "淄博齐鲁陶瓷有限公司", "city": "淄博市",
               "county": "张店区", "industry": "C", "industry_division": "30", "employees": 210}
    status, body = await stack.api("PATCH", "/draft/profile",
                                   {"version": started["version"], "profile": profile})
    assert status == 200 and body["draft"]["step"] == "B1"

    reply = await stack.chat("继续")
    assert "第 1/31 题" in reply
    for _ in range(15):
        await stack.chat("B")
    for _ in range(16):
        await stack.chat("2")
    result = await stack.chat("提交")
    assert "初步等级" in result
    status, results = await stack.api("GET", "/results")
    assert status == 200 and len(results["results"]) == 1
    assert results["results"][0]["credit_code"] == CREDIT_CODE
    assert (await stack.api("GET", "/draft"))[1]["draft"] is None


async def test_an_edit_from_the_other_channel_makes_the_version_stale(stack: Stack) -> None:
    await stack.login()
    _, started = await stack.api("POST", "/draft", {"version": 0})
    await stack.chat(CREDIT_CODE)  # the chat answers the first profile step meanwhile
    status, conflict = await stack.api("PATCH", "/draft/profile", {
        "version": started["version"], "profile": {"credit_code": CREDIT_CODE}})
    assert status == 409 and conflict["error"]["code"] == "stale_version"
    assert conflict["draft"]["profile"] == {"credit_code": CREDIT_CODE}
    assert conflict["version"] > started["version"]


async def test_without_a_unionid_the_channels_keep_their_own_drafts(stack: Stack) -> None:
    await stack.chat("开始测评", openid="o-solo")
    assert (await stack.login(openid="m-solo", unionid=None))["linked"] is False
    assert (await stack.api("GET", "/draft"))[1]["draft"] is None


async def test_login_failures(stack: Stack) -> None:
    status, body = await stack.api("POST", "/login", {"code": "never-issued"})
    assert status == 401 and body["error"]["code"] == "invalid_code"
    code = stack.wechat.new_code(MINI, "m-ann", "u-ann")
    stack.wechat.add_fault(Fault("sns/jscode2session", errcode=-1))
    status, body = await stack.api("POST", "/login", {"code": code})
    assert status == 503 and body["error"]["code"] == "wechat_unavailable"
    status, body = await stack.api("POST", "/login", {"code": code})  # not used up by the -1
    assert status == 200 and body["token"]
    status, body = await stack.api("POST", "/login", {"code": code})  # now it is
    assert status == 401
    status, body = await stack.api("POST", "/login", {})
    assert status == 422 and body["error"]["field"] == "code"
    assert "session_key" not in json.dumps(body)


async def test_the_chat_works_while_wechat_cannot_be_asked(stack: Stack) -> None:
    stack.wechat.add_fault(Fault("cgi-bin/user/info", errcode=-1))
    reply = await stack.chat("开始测评", openid="o-ann")
    assert "统一社会信用代码" in reply  # answered on the channel identity meanwhile
